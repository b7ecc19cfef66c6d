"""Feeds and their health, for operators."""

from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from tracker import services
from tracker.models import Feed, PollLog


class PollLogInline(admin.TabularInline):
    model = PollLog
    extra = 0
    max_num = 0
    can_delete = False
    fields = [
        "started_at",
        "status_code",
        "was_not_modified",
        "entries_seen",
        "new_articles",
        "bytes_received",
        "duration_ms",
        "error_kind",
        "error",
    ]
    readonly_fields = fields
    ordering = ["-started_at", "-pk"]
    verbose_name = "recent poll"


class FeedHealthFilter(admin.SimpleListFilter):
    title = "health"
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return [
            ("ok", "Healthy"),
            ("failing", "Failing"),
            ("flagged", "Flagged for an operator"),
            ("inactive", "Inactive"),
        ]

    def queryset(self, request, queryset):
        match self.value():
            case "ok":
                return queryset.filter(is_active=True, consecutive_failures=0)
            case "failing":
                return queryset.failing()
            case "flagged":
                return queryset.flagged()
            case "inactive":
                return queryset.filter(is_active=False)
        return queryset


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    # Addresses typed without a scheme are taken as https (Django 6 does this too).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "__str__",
        "health",
        "last_success_at",
        "last_error_kind",
        "consecutive_failures",
        "next_poll_at",
        "interval_display",
        "article_count",
    ]
    list_filter = [FeedHealthFilter, "last_error_kind", "stories", "always_fetch_full"]
    search_fields = ["url", "title", "site_url"]
    filter_horizontal = ["stories"]
    actions = ["poll_now"]
    inlines = [PollLogInline]
    readonly_fields = [
        "etag",
        "last_modified",
        "interval_seconds",
        "server_min_interval_seconds",
        "last_polled_at",
        "last_success_at",
        "last_full_fetch_at",
        "last_new_entry_at",
        "consecutive_failures",
        "last_error_kind",
        "last_error",
        "last_error_at",
        "flagged_at",
        "deactivated_reason",
    ]
    fieldsets = [
        (
            None,
            {"fields": ["url", "title", "site_url", "stories", "is_active", "always_fetch_full"]},
        ),
        (
            "Schedule",
            {
                "fields": [
                    "next_poll_at",
                    "interval_seconds",
                    "server_min_interval_seconds",
                    "last_polled_at",
                    "last_success_at",
                    "last_full_fetch_at",
                    "last_new_entry_at",
                    "etag",
                    "last_modified",
                ]
            },
        ),
        (
            "Errors",
            {
                "fields": [
                    "consecutive_failures",
                    "last_error_kind",
                    "last_error",
                    "last_error_at",
                    "flagged_at",
                    "deactivated_reason",
                ]
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Feed]:
        return super().get_queryset(request).annotate(_articles=Count("articles"))

    @admin.display(description="articles", ordering="_articles")
    def article_count(self, feed: Feed) -> int:
        return feed._articles

    @admin.display(description="interval", ordering="interval_seconds")
    def interval_display(self, feed: Feed) -> str:
        minutes = feed.interval_seconds // 60
        return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"

    @admin.display(description="health")
    def health(self, feed: Feed) -> str:
        if not feed.is_active:
            return "inactive"
        if feed.flagged_at:
            return f"flagged ({feed.consecutive_failures} failures)"
        if feed.consecutive_failures:
            return "failing"
        return "ok" if feed.last_success_at else "not polled yet"

    @admin.action(description="Poll now", permissions=["change"])
    def poll_now(self, request: HttpRequest, queryset: QuerySet[Feed]) -> None:
        sent = services.poll_now(queryset)
        self.message_user(
            request, f"Sent {sent} feed(s) to the workers; refresh in a moment.", messages.SUCCESS
        )
