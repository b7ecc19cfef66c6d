from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tracker.storyio import StoryFormatError, import_story, load_document


class Command(BaseCommand):
    help = "Import a story from a JSON file written by exportstory (all or nothing)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--replace", action="store_true", help="Replace a story with the same slug."
        )

    def handle(self, *args, file: Path, replace: bool, **options) -> None:
        try:
            story = import_story(load_document(file), base_dir=file.parent, replace=replace)
        except StoryFormatError as error:
            raise CommandError(f"{file}: {error}") from None
        self.stdout.write(
            self.style.SUCCESS(f"Imported {story.slug!r}: {story.events.count()} events.")
        )
