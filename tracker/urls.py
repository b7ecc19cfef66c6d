from django.urls import path

from tracker import views

app_name = "tracker"

urlpatterns = [
    path("", views.StoryListView.as_view(), name="story_list"),
    path("stories/<slug:slug>/", views.StoryTimelineView.as_view(), name="story"),
    path(
        "stories/<slug:story_slug>/events/<slug:slug>/",
        views.EventDetailView.as_view(),
        name="event",
    ),
]
