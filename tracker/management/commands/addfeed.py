from django.core.management.base import BaseCommand, CommandError

from tracker import services
from tracker.ingestion import pipeline


class Command(BaseCommand):
    help = (
        "Subscribe a story to a feed. Given a site's home page instead of a feed, "
        "finds the feed the page announces. Creates the story if missing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("url")
        parser.add_argument("--story", required=True, metavar="SLUG")
        parser.add_argument("--title", default="")

    def handle(self, *args, url: str, story: str, title: str, **options) -> None:
        try:
            found = pipeline.find_feed(url)
        except pipeline.IngestionError as error:
            raise CommandError(f"{url}: {error}") from None
        feed, created = services.add_feed(
            found.url,
            services.story_for_slug(story),
            title=title or found.title,
            site_url=found.site_url,
        )
        verb = "Added" if created else "Subscribed existing"
        via = f" (found on {url})" if found.url != url else ""
        self.stdout.write(self.style.SUCCESS(f"{verb} feed {feed.pk}: {feed.url}{via} -> {story}"))
