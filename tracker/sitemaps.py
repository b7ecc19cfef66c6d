"""The sitemap: public stories and their published events, nothing else."""

from django.contrib.sitemaps import Sitemap

from tracker.models import Event, EventStatus
from tracker.public import public_stories


class StorySitemap(Sitemap):
    changefreq = "daily"
    priority = 0.8

    def items(self):
        return public_stories().order_by("pk")

    def lastmod(self, story):
        return story.last_updated_at


class EventSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.5
    # The protocol's limit per sitemap file; Django paginates beyond it.
    limit = 50000

    def items(self):
        return (
            Event.objects.filter(status=EventStatus.PUBLISHED, story__is_public=True)
            .select_related("story")
            .only("slug", "updated_at", "story__slug")
            .order_by("pk")
        )

    def lastmod(self, event):
        return event.updated_at


sitemaps = {"stories": StorySitemap, "events": EventSitemap}
