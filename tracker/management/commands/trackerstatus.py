import json

from django.core.management.base import BaseCommand
from django.db.models import Count, Q

from tracker.models import Article, Feed, ReviewState, Story


def feed_counts(feeds) -> dict[str, int]:
    return feeds.aggregate(
        active=Count("pk", filter=Q(is_active=True)),
        failing=Count("pk", filter=Q(is_active=True, consecutive_failures__gt=0)),
        flagged=Count("pk", filter=Q(is_active=True, flagged_at__isnull=False)),
        inactive=Count("pk", filter=Q(is_active=False)),
    )


def status() -> dict:
    states = {
        (row["story_id"], row["review_state"]): row["n"]
        for row in Article.objects.values("story_id", "review_state").annotate(n=Count("pk"))
    }
    stories = []
    for story in Story.objects.order_by("slug"):
        stories.append(
            {
                "slug": story.slug,
                "title": story.title,
                "feeds": feed_counts(Feed.objects.filter(stories=story)),
                "articles": {
                    state: states.get((story.pk, state), 0) for state in ReviewState.values
                },
            }
        )
    return {"feeds": feed_counts(Feed.objects.all()), "stories": stories}


class Command(BaseCommand):
    help = "Feeds (active, failing, flagged, inactive) and articles by state, per story."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, as_json: bool, **options) -> None:
        report = status()
        if as_json:
            self.stdout.write(json.dumps(report, indent=2))
            return
        totals = report["feeds"]
        self.stdout.write(
            "All feeds: {active} active, {failing} failing, {flagged} flagged, "
            "{inactive} inactive".format(**totals)
        )
        for story in report["stories"]:
            self.stdout.write("")
            self.stdout.write(self.style.MIGRATE_HEADING(f"{story['title']} ({story['slug']})"))
            self.stdout.write(
                "  feeds:    {active} active, {failing} failing, {flagged} flagged, "
                "{inactive} inactive".format(**story["feeds"])
            )
            self.stdout.write(
                "  articles: " + ", ".join(f"{n} {state}" for state, n in story["articles"].items())
            )
