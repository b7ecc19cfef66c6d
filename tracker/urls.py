from django.contrib.sitemaps.views import sitemap
from django.urls import include, path
from django.views.decorators.http import require_safe

from tracker import api, cache, feeds, views
from tracker.sitemaps import sitemaps

app_name = "tracker"

urlpatterns = [
    path("", views.StoryListView.as_view(), name="story_list"),
    path("stories/<slug:slug>/", views.StoryTimelineView.as_view(), name="story"),
    path("stories/<slug:slug>/changes/", views.StoryChangesView.as_view(), name="story_changes"),
    path(
        "stories/<slug:slug>/feed/",
        require_safe(cache.cached_page()(feeds.StoryFeed())),
        name="story_feed",
    ),
    path("stories/<slug:slug>/timeline.json", views.timelinejs_export, name="story_timelinejs"),
    path(
        "stories/<slug:story_slug>/events/<slug:slug>/",
        views.EventDetailView.as_view(),
        name="event",
    ),
    path("api/v1/", include(api)),
    path(
        "sitemap.xml",
        require_safe(cache.cached_page(cache.SITE)(sitemap)),
        {"sitemaps": sitemaps},
        name="sitemap",
    ),
    path("robots.txt", views.robots_txt, name="robots"),
]
