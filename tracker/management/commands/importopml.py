from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tracker import services
from tracker.ingestion.discover import OPMLError, parse_opml


class Command(BaseCommand):
    help = "Subscribe a story to every feed of an OPML file. Creates the story if missing."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--story", required=True, metavar="SLUG")

    def handle(self, *args, file: Path, story: str, **options) -> None:
        try:
            outlines = parse_opml(file.read_bytes())
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}") from None
        except OPMLError as error:
            raise CommandError(f"{file}: {error}") from None
        target = services.story_for_slug(story)
        created = 0
        for outline in outlines:
            _, is_new = services.add_feed(
                outline.url, target, title=outline.title, site_url=outline.site_url
            )
            created += is_new
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(outlines)} feed(s) in {file.name}: {created} new, "
                f"{len(outlines) - created} already known; all serve {story}."
            )
        )
