import sys

from django.core.management.base import BaseCommand

from tracker.ingestion.discover import OutlineFeed, write_opml
from tracker.models import Story


class Command(BaseCommand):
    help = "Write the feeds as OPML, one folder per story (or only --story SLUG)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--story", metavar="SLUG")
        parser.add_argument("--output", "-o")

    def handle(self, *args, story: str | None, output: str | None, **options) -> None:
        stories = Story.objects.prefetch_related("feeds").order_by("slug")
        if story:
            stories = stories.filter(slug=story)
        groups = {
            s.slug: [OutlineFeed(f.url, f.title, f.site_url) for f in s.feeds.all()]
            for s in stories
        }
        data = write_opml("Timeline tracker feeds", groups)
        if output:
            with open(output, "wb") as handle:
                handle.write(data)
        else:
            sys.stdout.buffer.write(data)
