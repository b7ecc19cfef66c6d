import json
import sys

from django.core.management.base import BaseCommand, CommandError

from tracker.models import Story
from tracker.storyio import export_story


class Command(BaseCommand):
    help = "Write a story (events, sources, citations, claims, entities, feeds) as JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--output", "-o", help="File to write; standard output if omitted.")

    def handle(self, *args, slug: str, output: str | None, **options) -> None:
        try:
            story = Story.objects.get(slug=slug)
        except Story.DoesNotExist:
            raise CommandError(f"No story with slug {slug!r}.") from None
        text = json.dumps(export_story(story), indent=2, ensure_ascii=False) + "\n"
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        else:
            sys.stdout.write(text)
