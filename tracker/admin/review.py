"""Ingested articles and the review queue."""

from django.contrib import admin

from tracker.models import Article


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "outlet",
        "published_at",
        "story",
        "review_state",
        "extraction_status",
        "relevance_score",
    ]
    list_filter = ["story", "review_state", "extraction_status", "feed"]
    list_select_related = ["story", "feed"]
    search_fields = ["title", "url", "outlet"]
    date_hierarchy = "published_at"
    raw_id_fields = ["duplicate_of", "previously_rejected", "suggested_event", "feed"]
    readonly_fields = ["normalized_url", "title_key", "fingerprint", "created_at"]
