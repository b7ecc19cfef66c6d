"""The tracker's data: stories and their sourced timelines, and the feeds and
articles that ingestion brings in for review."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from tracker.dates import PRECISION_RANK, Precision, format_span, period_start
from tracker.ingestion.dedupe import canonical_url


def split_terms(text: str) -> list[str]:
    """Terms are entered one per line (or comma-separated); blanks are ignored."""
    terms: list[str] = []
    for line in text.replace(",", "\n").splitlines():
        term = line.strip()
        if term and term.lower() not in (t.lower() for t in terms):
            terms.append(term)
    return terms


# --- Stories and their timelines ---------------------------------------------


class StoryQuerySet(models.QuerySet["Story"]):
    def public(self) -> StoryQuerySet:
        return self.filter(is_public=True)

    def with_counts(self) -> StoryQuerySet:
        return self.annotate(
            published_event_count=Count(
                "events", filter=Q(events__status="published"), distinct=True
            ),
        )


class Story(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    summary = models.TextField(blank=True)
    include_terms = models.TextField(
        blank=True,
        help_text="One phrase per line. Matched case-insensitively as whole words. "
        "With none, every new article goes to review.",
    )
    exclude_terms = models.TextField(
        blank=True, help_text="One phrase per line. An article matching one is filtered out."
    )
    relevance_threshold = models.FloatField(
        default=1.0, help_text="Articles scoring below this are kept as filtered out."
    )
    is_public = models.BooleanField(default=True, help_text="Shown on the public pages.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StoryQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "stories"

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("tracker:story", kwargs={"slug": self.slug})

    @property
    def include_list(self) -> list[str]:
        return split_terms(self.include_terms)

    @property
    def exclude_list(self) -> list[str]:
        return split_terms(self.exclude_terms)


class EntityKind(models.TextChoices):
    ORGANIZATION = "organization", "Organization"
    PERSON = "person", "Person"
    PRODUCT = "product", "Product"


class Entity(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=EntityKind.choices)
    description = models.TextField(blank=True)
    aliases = models.TextField(
        blank=True, help_text="Other names, one per line, used to find the entity in articles."
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "entities"

    def __str__(self) -> str:
        return self.name

    @property
    def names(self) -> list[str]:
        return [self.name, *split_terms(self.aliases)]


class Category(models.TextChoices):
    NEGOTIATION = "negotiation", "Negotiation"
    DEAL = "deal", "Deal"
    LEADERSHIP = "leadership", "Leadership"
    CUSTOMER = "customer", "Customer"
    PRODUCT = "product", "Product"
    INFRASTRUCTURE = "infrastructure", "Infrastructure"
    REGULATION = "regulation", "Regulation"
    MARKET = "market", "Market"
    BACKGROUND = "background", "Background"


class Certainty(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    REPORTED = "reported", "Reported"
    EXPECTED = "expected", "Expected"
    DENIED = "denied", "Denied or retracted"


class EventStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class EventQuerySet(models.QuerySet["Event"]):
    def published(self) -> EventQuerySet:
        return self.filter(status=EventStatus.PUBLISHED)

    def chronological(self) -> EventQuerySet:
        return self.order_by("occurred_on", "precision_rank", "sequence", "pk")

    def for_timeline(self) -> EventQuerySet:
        """Published events in date order with what a timeline row shows, in a fixed
        number of queries however many events there are."""
        return (
            self.published()
            .chronological()
            .prefetch_related(
                models.Prefetch("citations", queryset=Citation.objects.select_related("source")),
                "entities",
                models.Prefetch(
                    "claims",
                    queryset=Claim.objects.annotate(value_count=Count("values")),
                ),
            )
        )


class Event(models.Model):
    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="events")
    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=120)
    summary = models.TextField(blank=True)
    body = models.TextField(
        blank=True, help_text="Longer account; plain text, blank lines split paragraphs."
    )
    category = models.CharField(max_length=20, choices=Category.choices)
    importance = models.PositiveSmallIntegerField(
        default=3, help_text="1 (minor) to 5 (turning point)."
    )
    status = models.CharField(
        max_length=10, choices=EventStatus.choices, default=EventStatus.DRAFT, db_index=True
    )

    occurred_on = models.DateField(
        help_text="Any day inside the period; it is stored as the period's first day."
    )
    precision = models.CharField(max_length=10, choices=Precision.choices, default=Precision.DAY)
    # Denormalised from precision so the database can sort across precisions.
    precision_rank = models.PositiveSmallIntegerField(
        default=PRECISION_RANK[Precision.DAY], editable=False
    )
    ends_on = models.DateField(null=True, blank=True, help_text="End of a span, if it is one.")
    end_precision = models.CharField(
        max_length=10, choices=Precision.choices, blank=True, help_text="Defaults to the start's."
    )
    is_approximate = models.BooleanField(default=False, help_text="Shown as 'about …'.")
    sequence = models.SmallIntegerField(
        default=0, help_text="Orders events that share a date: lower comes first."
    )
    reported_on = models.DateField(
        null=True, blank=True, help_text="When it was first reported, if not when it happened."
    )

    certainty = models.CharField(
        max_length=10, choices=Certainty.choices, default=Certainty.CONFIRMED
    )
    certainty_note = models.TextField(
        blank=True, help_text="Why this certainty: who reported it, what is still to come."
    )

    entities = models.ManyToManyField(Entity, blank=True, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["precision_rank"], m2m_fields=[])

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["occurred_on", "precision_rank", "sequence", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["story", "slug"],
                name="event_slug_unique_in_story",
                violation_error_message="This story already has an event with this slug.",
            ),
            models.CheckConstraint(
                condition=Q(importance__gte=1) & Q(importance__lte=5),
                name="event_importance_1_to_5",
                violation_error_message="Importance runs from 1 to 5.",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("occurred_on")),
                name="event_span_ends_after_start",
                violation_error_message="A span cannot end before it starts.",
            ),
        ]
        indexes = [models.Index(fields=["story", "status", "occurred_on"])]
        permissions = [("publish_event", "Can publish and unpublish events")]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        self.occurred_on = period_start(self.occurred_on, self.precision)
        if self.ends_on is not None:
            self.ends_on = period_start(self.ends_on, self.end_precision or self.precision)
        self.precision_rank = PRECISION_RANK[Precision(self.precision)]
        if self.status == EventStatus.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("tracker:event", kwargs={"story_slug": self.story.slug, "slug": self.slug})

    def clean(self) -> None:
        if self.end_precision and self.ends_on is None:
            raise ValidationError({"end_precision": "An end precision needs an end date."})

    @property
    def is_published(self) -> bool:
        return self.status == EventStatus.PUBLISHED

    @property
    def is_expected(self) -> bool:
        return self.certainty == Certainty.EXPECTED

    @property
    def date_display(self) -> str:
        text = format_span(
            self.occurred_on,
            self.precision,
            end=self.ends_on,
            end_precision=self.end_precision or None,
            is_approximate=self.is_approximate,
        )
        if self.is_expected:
            text = f"{text}, expected"
        return text


class Source(models.Model):
    """A document an event is cited to. Seed documents have no URL."""

    url = models.URLField(max_length=2000, blank=True)
    # canonical_url(url), kept unique so one document is one Source.
    normalized_url = models.CharField(max_length=2000, blank=True, editable=False)
    title = models.CharField(max_length=500)
    publisher = models.CharField(max_length=200, blank=True)
    author = models.CharField(max_length=200, blank=True)
    published_text = models.CharField(
        max_length=100, blank=True, help_text="The publication date exactly as printed."
    )
    published_on = models.DateField(
        null=True, blank=True, help_text="That date, if it can be trusted."
    )
    retrieved_at = models.DateTimeField(null=True, blank=True)
    document = models.CharField(
        max_length=200, blank=True, help_text="Where the copy we read is kept (e.g. a seed file)."
    )
    text = models.TextField(blank=True, help_text="The text as read, for quoting.")
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(
                fields=["normalized_url"],
                condition=~Q(normalized_url=""),
                name="source_url_unique",
                violation_error_message="A source with this URL already exists.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.publisher}: {self.title}" if self.publisher else self.title

    def save(self, *args, **kwargs) -> None:
        self.normalized_url = canonical_url(self.url) if self.url else ""
        super().save(*args, **kwargs)

    def validate_constraints(self, exclude=None) -> None:
        self.normalized_url = canonical_url(self.url) if self.url else ""
        super().validate_constraints(exclude=exclude)

    @property
    def date_display(self) -> str:
        return self.published_text or (
            f"{self.published_on:%-d %B %Y}" if self.published_on else ""
        )


class Citation(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="citations")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="citations")
    quote = models.TextField(blank=True, help_text="The passage that supports the event.")
    attributed_to = models.CharField(
        max_length=200,
        blank=True,
        help_text="When the source relays another outlet ('per Reuters'): that outlet.",
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "source"],
                name="citation_once_per_event",
                violation_error_message="This event already cites this source.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} ← {self.source}"


class Claim(models.Model):
    """A fact of an event that sources state differently ('investment size')."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="claims")
    label = models.CharField(max_length=200)
    note = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "label"],
                name="claim_label_unique_in_event",
                violation_error_message="This event already has a claim with this label.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event}: {self.label}"


class ClaimValue(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="values")
    value = models.CharField(max_length=300)
    quote = models.TextField(blank=True, help_text="The passage stating this value.")
    citations = models.ManyToManyField(Citation, blank=True, related_name="claim_values")
    is_preferred = models.BooleanField(default=False)
    reason = models.TextField(blank=True, help_text="Why this value is preferred, or doubted.")

    history = HistoricalRecords(m2m_fields=[])

    class Meta:
        ordering = ["-is_preferred", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim"],
                condition=Q(is_preferred=True),
                name="claim_one_preferred_value",
                violation_error_message="Only one value of a claim can be preferred.",
            ),
            models.UniqueConstraint(
                fields=["claim", "value"],
                name="claim_value_unique",
                violation_error_message="This claim already has this value.",
            ),
        ]

    def __str__(self) -> str:
        return self.value


# --- Ingestion -----------------------------------------------------------------


class ErrorKind(models.TextChoices):
    TIMEOUT = "timeout", "Timed out"
    DNS = "dns", "Name not resolved"
    CONNECTION = "connection", "Connection failed"
    HTTP = "http", "HTTP error status"
    TOO_LARGE = "too_large", "Response too large"
    NOT_A_FEED = "not_a_feed", "Not a feed"
    PARSE = "parse", "Malformed feed"
    BLOCKED = "blocked", "Address not allowed"
    TOO_MANY_REDIRECTS = "redirects", "Too many redirects"
    GONE = "gone", "Gone (410)"
    INTERNAL = "internal", "Internal error"


class FeedQuerySet(models.QuerySet["Feed"]):
    def active(self) -> FeedQuerySet:
        return self.filter(is_active=True)

    def due(self, now: dt.datetime) -> FeedQuerySet:
        return self.active().filter(next_poll_at__lte=now)

    def failing(self) -> FeedQuerySet:
        return self.active().filter(consecutive_failures__gt=0)

    def flagged(self) -> FeedQuerySet:
        return self.active().filter(flagged_at__isnull=False)


class Feed(models.Model):
    url = models.URLField(max_length=2000, unique=True)
    title = models.CharField(max_length=300, blank=True)
    site_url = models.URLField(max_length=2000, blank=True)
    stories = models.ManyToManyField(Story, related_name="feeds")
    is_active = models.BooleanField(default=True)
    always_fetch_full = models.BooleanField(
        default=False,
        help_text="Ignore ETag and Last-Modified: for servers that keep them "
        "after the content changes.",
    )

    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    next_poll_at = models.DateTimeField(default=timezone.now, db_index=True)
    interval_seconds = models.PositiveIntegerField(default=30 * 60)
    # The floor a server asked for (ttl, sy:updatePeriod, Cache-Control, Retry-After).
    server_min_interval_seconds = models.PositiveIntegerField(default=0)
    poll_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)

    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_error_kind = models.CharField(max_length=20, choices=ErrorKind.choices, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_full_fetch_at = models.DateTimeField(null=True, blank=True)
    last_new_entry_at = models.DateTimeField(null=True, blank=True)
    flagged_at = models.DateTimeField(
        null=True, blank=True, help_text="Set after repeated failures, for an operator to look at."
    )
    deactivated_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FeedQuerySet.as_manager()

    class Meta:
        ordering = ["title", "url"]

    def __str__(self) -> str:
        return self.title or self.url

    @property
    def host(self) -> str:
        from urllib.parse import urlsplit

        return (urlsplit(self.url).hostname or "").lower()


class PollLog(models.Model):
    """One poll attempt of one feed; the newest TRACKER_POLL_LOG_KEEP per feed are kept."""

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="poll_logs")
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    bytes_received = models.PositiveIntegerField(default=0)
    entries_seen = models.PositiveIntegerField(default=0)
    new_articles = models.PositiveIntegerField(default=0)
    was_not_modified = models.BooleanField(default=False)
    error_kind = models.CharField(max_length=20, choices=ErrorKind.choices, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["feed", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.feed} at {self.started_at:%Y-%m-%d %H:%M}"


class ExtractionStatus(models.TextChoices):
    PENDING = "pending", "Not yet extracted"
    FULL = "full", "Full text"
    TEASER = "teaser", "Teaser only"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Not fetched"


class ReviewState(models.TextChoices):
    PENDING = "pending", "Pending review"
    FILTERED = "filtered", "Filtered out"
    DUPLICATE = "duplicate", "Duplicate"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class RejectReason(models.TextChoices):
    OFF_TOPIC = "off_topic", "Off topic"
    DUPLICATE = "duplicate", "Duplicate"
    OPINION = "opinion", "Opinion"
    UNRELIABLE = "unreliable", "Unreliable"
    OTHER = "other", "Other"


class ArticleQuerySet(models.QuerySet["Article"]):
    def pending_review(self) -> ArticleQuerySet:
        return self.filter(review_state=ReviewState.PENDING)

    def originals(self) -> ArticleQuerySet:
        return self.filter(duplicate_of__isnull=True)


class Article(models.Model):
    """An ingested candidate for one story, waiting for (or past) review."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="articles")
    feed = models.ForeignKey(
        Feed, on_delete=models.SET_NULL, null=True, blank=True, related_name="articles"
    )
    guid = models.CharField(max_length=1000)
    url = models.URLField(max_length=2000, blank=True)
    normalized_url = models.CharField(max_length=2000, blank=True)
    title = models.CharField(max_length=1000, blank=True)
    title_key = models.CharField(max_length=300, blank=True)
    author = models.CharField(max_length=300, blank=True)
    outlet = models.CharField(max_length=300, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    summary = models.TextField(blank=True, help_text="Sanitized HTML from the feed.")

    extraction_status = models.CharField(
        max_length=10, choices=ExtractionStatus.choices, default=ExtractionStatus.PENDING
    )
    extraction_error = models.TextField(blank=True)
    text = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    extracted_at = models.DateTimeField(null=True, blank=True)
    # 64-bit SimHash of the extracted text (dedupe.fingerprint), signed to fit a bigint,
    # and its four 16-bit bands (dedupe.fingerprint_bands), indexed: a near
    # duplicate shares at least one with its original.
    fingerprint = models.BigIntegerField(null=True, blank=True)
    fingerprint_band0 = models.IntegerField(null=True, blank=True, editable=False)
    fingerprint_band1 = models.IntegerField(null=True, blank=True, editable=False)
    fingerprint_band2 = models.IntegerField(null=True, blank=True, editable=False)
    fingerprint_band3 = models.IntegerField(null=True, blank=True, editable=False)

    relevance_score = models.FloatField(default=0)
    matched_terms = models.JSONField(default=list, blank=True)
    suggested_event = models.ForeignKey(
        Event, on_delete=models.SET_NULL, null=True, blank=True, related_name="suggested_articles"
    )
    suggestion_score = models.FloatField(default=0)

    review_state = models.CharField(
        max_length=10, choices=ReviewState.choices, default=ReviewState.PENDING, db_index=True
    )
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="duplicates"
    )
    previously_rejected = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="An earlier rejected article this one matches.",
    )
    reject_reason = models.CharField(max_length=20, choices=RejectReason.choices, blank=True)
    reject_note = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-pk"]
        constraints = [
            # Under the claim on the feed: two workers polling one feed cannot both
            # store an entry.
            models.UniqueConstraint(
                fields=["story", "feed", "guid"], name="article_guid_unique_in_feed"
            ),
            # One original per URL and story; copies point at it with duplicate_of.
            models.UniqueConstraint(
                fields=["story", "normalized_url"],
                condition=Q(duplicate_of__isnull=True) & ~Q(normalized_url=""),
                name="article_original_url_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["story", "review_state", "-published_at"]),
            models.Index(fields=["story", "normalized_url"]),
            models.Index(fields=["story", "title_key"], name="article_story_title_key"),
            # The near-duplicate search: originals sharing a fingerprint band.
            *(
                models.Index(
                    fields=["story", f"fingerprint_band{band}"],
                    condition=Q(duplicate_of__isnull=True, fingerprint__isnull=False),
                    name=f"article_fingerprint_band{band}",
                )
                for band in range(4)
            ),
        ]
        permissions = [("review_article", "Can review articles")]

    def __str__(self) -> str:
        return self.title or self.url or self.guid


class ReviewAction(models.TextChoices):
    ACCEPT = "accept", "Accepted into an event"
    CREATE_EVENT = "create_event", "Made into a new event"
    REJECT = "reject", "Rejected"
    DUPLICATE = "duplicate", "Marked as a duplicate"


class ArticleDecision(models.Model):
    """One review decision on an article, kept after it is undone: who decided
    what and when, and what the decision created, so that undo removes exactly that."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="decisions")
    action = models.CharField(max_length=20, choices=ReviewAction.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)
    detail = models.CharField(max_length=500, blank=True)
    note = models.TextField(blank=True)

    event = models.ForeignKey(
        Event, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    has_created_event = models.BooleanField(default=False)
    citation = models.ForeignKey(
        Citation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The citation this decision created (none when the event already cited it).",
    )
    source = models.ForeignKey(
        Source, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    has_created_source = models.BooleanField(default=False)
    claim_value = models.ForeignKey(
        ClaimValue, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    duplicate_of = models.ForeignKey(
        Article, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-decided_at", "-pk"]
        indexes = [models.Index(fields=["article", "-decided_at"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.article}"
