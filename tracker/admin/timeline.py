"""Stories and their timelines: events, citations, claims, sources, entities."""

from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from tracker import services
from tracker.models import (
    Citation,
    Claim,
    ClaimValue,
    Entity,
    Event,
    EventStatus,
    Source,
    Story,
)


@admin.register(Story)
class StoryAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "is_public", "event_count", "feed_count", "updated_at"]
    list_filter = ["is_public"]
    search_fields = ["title", "summary"]
    prepopulated_fields = {"slug": ["title"]}
    fieldsets = [
        (None, {"fields": ["title", "slug", "summary", "is_public"]}),
        (
            "Matching news",
            {
                "fields": ["include_terms", "exclude_terms", "relevance_threshold"],
                "description": "Feeds' articles are matched against these terms.",
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Story]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _events=Count("events", distinct=True),
                _feeds=Count("feeds", distinct=True),
            )
        )

    @admin.display(description="events", ordering="_events")
    def event_count(self, story: Story) -> int:
        return story._events

    @admin.display(description="feeds", ordering="_feeds")
    def feed_count(self, story: Story) -> int:
        return story._feeds


class CitationInline(admin.StackedInline):
    model = Citation
    extra = 0
    autocomplete_fields = ["source"]
    fields = ["source", "quote", "attributed_to", "note"]


class ClaimInline(admin.TabularInline):
    model = Claim
    extra = 0
    fields = ["label", "note", "value_summary"]
    readonly_fields = ["value_summary"]
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Claim]:
        return super().get_queryset(request).prefetch_related("values")

    @admin.display(description="values")
    def value_summary(self, claim: Claim) -> str:
        values = [
            f"{v.value}{' (preferred)' if v.is_preferred else ''}" for v in claim.values.all()
        ]
        return " / ".join(values) or "no values yet: open the claim to add them"


@admin.register(Event)
class EventAdmin(SimpleHistoryAdmin):
    list_display = [
        "title",
        "story",
        "date_display",
        "category",
        "certainty",
        "status",
        "importance",
        "citation_count",
    ]
    list_filter = ["story", "category", "certainty", "status", "precision"]
    list_select_related = ["story"]
    search_fields = ["title", "summary", "body"]
    date_hierarchy = "occurred_on"
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["entities"]
    inlines = [CitationInline, ClaimInline]
    actions = ["publish", "unpublish"]
    save_on_top = True
    fieldsets = [
        (None, {"fields": ["story", "title", "slug", "summary", "body"]}),
        ("Classification", {"fields": ["category", "importance", "status", "entities"]}),
        (
            "When",
            {
                "fields": [
                    ("occurred_on", "precision", "is_approximate", "sequence"),
                    ("ends_on", "end_precision"),
                    "reported_on",
                ],
                "description": "The date is stored as the first day of its period: "
                "any day in June 2025 with precision 'Month' shows as 'June 2025'.",
            },
        ),
        ("Certainty", {"fields": ["certainty", "certainty_note"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Event]:
        return super().get_queryset(request).annotate(_citations=Count("citations"))

    @admin.display(description="date", ordering="occurred_on")
    def date_display(self, event: Event) -> str:
        return event.date_display

    @admin.display(description="sources", ordering="_citations")
    def citation_count(self, event: Event) -> int:
        return event._citations

    @admin.action(description="Publish selected events", permissions=["publish"])
    def publish(self, request: HttpRequest, queryset: QuerySet[Event]) -> None:
        count = services.set_event_status(queryset, EventStatus.PUBLISHED)
        self.message_user(request, f"Published {count} event(s).", messages.SUCCESS)

    @admin.action(description="Unpublish selected events (back to draft)", permissions=["publish"])
    def unpublish(self, request: HttpRequest, queryset: QuerySet[Event]) -> None:
        count = services.set_event_status(queryset, EventStatus.DRAFT)
        self.message_user(request, f"Moved {count} event(s) back to draft.", messages.SUCCESS)

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tracker.publish_event")

    def get_readonly_fields(self, request: HttpRequest, obj: Event | None = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        if not self.has_publish_permission(request):
            readonly.append("status")
        return readonly


class ClaimValueInline(admin.StackedInline):
    model = ClaimValue
    extra = 1
    fields = ["value", "is_preferred", "reason", "quote", "citations"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        # Only the citations of this claim's event can back one of its values.
        if db_field.name == "citations":
            claim_id = request.resolver_match.kwargs.get("object_id")
            queryset = Citation.objects.select_related("source")
            kwargs["queryset"] = (
                queryset.filter(event__claims__pk=claim_id) if claim_id else queryset.none()
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(Claim)
class ClaimAdmin(SimpleHistoryAdmin):
    list_display = ["label", "event", "value_count"]
    list_select_related = ["event"]
    search_fields = ["label", "event__title"]
    autocomplete_fields = ["event"]
    inlines = [ClaimValueInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Claim]:
        return super().get_queryset(request).annotate(_values=Count("values"))

    @admin.display(description="values", ordering="_values")
    def value_count(self, claim: Claim) -> int:
        return claim._values


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    # Addresses typed without a scheme are taken as https (Django 6 does this too).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["title", "publisher", "published_text", "has_url", "citation_count"]
    search_fields = ["title", "publisher", "author", "url", "document"]
    list_filter = [("url", admin.EmptyFieldListFilter)]
    readonly_fields = ["normalized_url", "created_at"]
    fields = [
        "title",
        "url",
        "normalized_url",
        "publisher",
        "author",
        ("published_text", "published_on"),
        "retrieved_at",
        "document",
        "notes",
        "text",
        "created_at",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Source]:
        return super().get_queryset(request).annotate(_citations=Count("citations"))

    @admin.display(description="URL", boolean=True)
    def has_url(self, source: Source) -> bool:
        return bool(source.url)

    @admin.display(description="cited by", ordering="_citations")
    def citation_count(self, source: Source) -> int:
        return source._citations


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "event_count"]
    list_filter = ["kind"]
    search_fields = ["name", "aliases", "description"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Entity]:
        return (
            super()
            .get_queryset(request)
            .annotate(_events=Count("events", filter=Q(events__status=EventStatus.PUBLISHED)))
        )

    @admin.display(description="published events", ordering="_events")
    def event_count(self, entity: Entity) -> int:
        return entity._events


@admin.register(Citation)
class CitationAdmin(SimpleHistoryAdmin):
    """Citations are edited inline on their event; this list is for finding them
    across events and for their history (who changed a quote, and when)."""

    list_display = ["event", "source", "attributed_to", "created_at"]
    list_select_related = ["event", "source"]
    list_filter = ["event__story"]
    search_fields = ["quote", "attributed_to", "event__title", "source__title"]
    autocomplete_fields = ["event", "source"]
