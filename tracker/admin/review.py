"""Ingested articles and the review queue: the queue, the article's review page
with its decisions, and the decision log (the dashboard is in dashboard.py).

Decisions are made by tracker.services; this module only turns requests into
calls and answers into messages."""

from __future__ import annotations

import nh3
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AdminDateWidget, ForeignKeyRawIdWidget
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from tracker import services
from tracker.models import (
    Article,
    ArticleDecision,
    Category,
    Claim,
    Event,
    RejectReason,
    ReviewState,
)

ALL = "all"

# A score adds 2 for each story term in the title and 1 for each in the body
# (tracker.ingestion.relevance): under 2 is a single mention in the body.
SCORE_BANDS = {
    "low": ("Under 2", Q(relevance_score__lt=2)),
    "medium": ("2 to 5", Q(relevance_score__gte=2, relevance_score__lt=5)),
    "high": ("5 and over", Q(relevance_score__gte=5)),
}


def clean_html(markup: str) -> SafeString:
    """Feed HTML made safe to show, whatever wrote the row: sanitized again here,
    at render time, with nh3's allow-list (links get rel="noopener noreferrer")."""
    return mark_safe(nh3.clean(markup or ""))  # noqa: S308 - nh3 output is safe HTML


# What a row of the queue shows; the article's text and the feed's HTML stay unread.
QUEUE_COLUMNS = [
    "title",
    "url",
    "guid",
    "outlet",
    "published_at",
    "matched_terms",
    "relevance_score",
    "suggestion_score",
    "extraction_status",
    "review_state",
    "story__title",
    "story__slug",
    "suggested_event__title",
    "previously_rejected__reject_reason",
    "previously_rejected__reject_note",
]


class ReviewStateFilter(admin.SimpleListFilter):
    """The queue: pending articles unless another state (or all) is asked for."""

    title = "review state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [*ReviewState.choices, (ALL, "All")]

    def state(self) -> str:
        value = self.value()
        return value if value in (*ReviewState.values, ALL) else ReviewState.PENDING

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.state() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        state = self.state()
        return queryset if state == ALL else queryset.filter(review_state=state)


class ScoreBandFilter(admin.SimpleListFilter):
    title = "relevance score"
    parameter_name = "score"

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in SCORE_BANDS.items()]

    def queryset(self, request, queryset):
        band = SCORE_BANDS.get(self.value() or "")
        return queryset.filter(band[1]) if band else queryset


# --- Decision forms --------------------------------------------------------------------


class ClaimSelect(forms.Select):
    """Each claim option knows its event, so the page can show only the claims of
    the event picked."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-event"] = str(instance.event_id)
        return option


class AcceptForm(forms.Form):
    event = forms.ModelChoiceField(queryset=Event.objects.none(), empty_label=None)
    quote = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The passage that supports the event.",
    )
    attributed_to = forms.CharField(
        required=False, max_length=200, help_text="When the article relays another outlet."
    )
    claim = forms.ModelChoiceField(
        queryset=Claim.objects.none(),
        required=False,
        widget=ClaimSelect,
        empty_label="(no claim value)",
    )
    claim_value = forms.CharField(required=False, max_length=300, label="Value")

    def __init__(self, *args, article: Article, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("event", article.suggested_event_id)
        kwargs["initial"].setdefault("quote", services.first_paragraph(article))
        super().__init__(*args, prefix="accept", **kwargs)
        self.fields["event"].queryset = Event.objects.filter(story_id=article.story_id)
        self.fields["event"].label_from_instance = event_label
        self.fields["claim"].queryset = Claim.objects.filter(
            event__story_id=article.story_id
        ).select_related("event")
        self.fields["claim"].label_from_instance = lambda claim: f"{claim.event}: {claim.label}"


def event_label(event: Event) -> str:
    draft = " (draft)" if not event.is_published else ""
    return f"{event.date_display} — {event.title}{draft}"


class CreateEventForm(forms.Form):
    title = forms.CharField(max_length=300)
    category = forms.ChoiceField(choices=[("", "---------"), *Category.choices])
    occurred_on = forms.DateField(label="Date", widget=AdminDateWidget)
    summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    quote = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    attributed_to = forms.CharField(required=False, max_length=200)

    def __init__(self, *args, article: Article, draft: services.EventDraft, **kwargs):
        initial = {
            "title": draft.title,
            "occurred_on": draft.occurred_on,
            "summary": draft.summary,
            "quote": draft.summary,
            "category": article.suggested_event.category if article.suggested_event else "",
        }
        super().__init__(*args, prefix="create", initial=initial, **kwargs)


class RejectForm(forms.Form):
    reason = forms.ChoiceField(choices=RejectReason.choices)
    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed when the reason is “other”.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="reject", **kwargs)


class DuplicateForm(forms.Form):
    original = forms.ModelChoiceField(
        queryset=Article.objects.all(),
        label="Original article",
        help_text="The article id; the magnifier opens the list to pick it.",
    )

    def __init__(self, *args, article: Article, admin_site, **kwargs):
        super().__init__(*args, prefix="duplicate", **kwargs)
        field = self.fields["original"]
        field.queryset = Article.objects.filter(story_id=article.story_id).exclude(pk=article.pk)
        field.widget = ForeignKeyRawIdWidget(
            Article._meta.get_field("duplicate_of").remote_field, admin_site
        )


class BulkRejectForm(forms.Form):
    reason = forms.ChoiceField(choices=RejectReason.choices, initial=RejectReason.OFF_TOPIC)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


# --- The queue and the review page -----------------------------------------------------


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "headline",
        "outlet_and_text",
        "published",
        "terms",
        "suggestion",
        "other_outlets",
        "review_state",
        "story",
    ]
    list_filter = [
        "story",
        "feed",
        ReviewStateFilter,
        ScoreBandFilter,
        "extraction_status",
        ("published_at", admin.DateFieldListFilter),
        ("reviewed_at", admin.DateFieldListFilter),
        ("created_at", admin.DateFieldListFilter),
    ]
    list_select_related = ["story", "suggested_event", "previously_rejected"]
    list_per_page = 50
    search_fields = ["title", "outlet", "url", "author"]
    actions = ["reject_selected"]
    review_template = "admin/tracker/article/review.html"
    reject_selected_template = "admin/tracker/article/reject_selected.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Article]:
        # Other outlets carrying the same story come as a subquery, the suggested
        # event and an earlier rejection through joins that the page's counts leave
        # out, and only the columns shown are read: a page of the queue costs the
        # same few queries however long the queue is.
        other_outlets = (
            Article.objects.filter(duplicate_of=OuterRef("pk"))
            .exclude(outlet=OuterRef("outlet"))
            .order_by()
            .values("duplicate_of")
            .annotate(n=Count("outlet", distinct=True))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related)
            .only(*QUEUE_COLUMNS)
            .annotate(_other_outlets=Coalesce(Subquery(other_outlets), 0))
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # articles come from the feeds

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # an article changes only through the review decisions

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(services.REVIEW)

    def get_list_display(self, request: HttpRequest) -> list[str]:
        # The queue of one story needs neither the story nor the state on each row.
        columns = list(self.list_display)
        if request.GET.get(ReviewStateFilter.parameter_name, ReviewState.PENDING) == (
            ReviewState.PENDING
        ):
            columns.remove("review_state")
        if "story__id__exact" in request.GET:
            columns.remove("story")
        return columns

    def changelist_view(self, request: HttpRequest, extra_context=None):
        pending = request.GET.get(ReviewStateFilter.parameter_name) in (None, ReviewState.PENDING)
        extra_context = {
            "title": "Review queue" if pending else "Articles",
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    # Columns

    @admin.display(description="published", ordering="published_at")
    def published(self, article: Article) -> str:
        if article.published_at is None:
            return "–"
        return date_format(timezone.localtime(article.published_at), "j M Y, H:i")

    @admin.display(description="title", ordering="title")
    def headline(self, article: Article) -> str:
        return article.title or article.url or article.guid

    @admin.display(description="terms · score", ordering="relevance_score")
    def terms(self, article: Article) -> str:
        """Why the article is here: the story's terms it matched, its score, and an
        earlier rejection of the same story with that rejection's reason."""
        terms = ", ".join(str(t) for t in (article.matched_terms or [])[:4])
        text = f"{terms} · {article.relevance_score:g}" if terms else f"{article.relevance_score:g}"
        earlier = article.previously_rejected
        if earlier is None:
            return text
        reason = earlier.get_reject_reason_display()
        note = f": {earlier.reject_note}" if earlier.reject_note else ""
        return format_html(
            '{}<br><span class="review-earlier">✕ rejected before: {}{}</span>', text, reason, note
        )

    @admin.display(description="suggested event", ordering="suggestion_score")
    def suggestion(self, article: Article) -> str:
        if article.suggested_event is None:
            return "–"
        return f"{article.suggested_event.title} ({article.suggestion_score:.2f})"

    @admin.display(description="outlet · text", ordering="outlet")
    def outlet_and_text(self, article: Article) -> str:
        return format_html(
            '{}<br><span class="quiet">{}</span>',
            article.outlet or "–",
            article.get_extraction_status_display(),
        )

    @admin.display(description="other outlets", ordering="_other_outlets")
    def other_outlets(self, article: Article) -> int:
        return article._other_outlets

    # Pages

    def get_urls(self):
        return [
            path(
                "<path:object_id>/review/",
                self.admin_site.admin_view(self.review_view),
                name="tracker_article_review",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The review page is the article's page; keep the change URL working.
        return HttpResponseRedirect(reverse("admin:tracker_article_review", args=[object_id]))

    def review_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        article = get_object_or_404(
            Article.objects.select_related(
                "story", "feed", "suggested_event", "duplicate_of", "previously_rejected"
            ),
            pk=object_id,
        )
        draft = services.event_draft(article)
        forms_ = {
            "accept": AcceptForm(article=article),
            "create": CreateEventForm(article=article, draft=draft),
            "reject": RejectForm(),
            "duplicate": DuplicateForm(article=article, admin_site=self.admin_site),
        }
        if request.method == "POST":
            if not self.has_review_permission(request):
                raise PermissionDenied
            response = self._decide(request, article, draft, forms_)
            if response is not None:
                return response
        return self._render_review(request, article, draft, forms_)

    def _decide(self, request, article, draft, forms_) -> HttpResponse | None:
        """Make the decision the POST asks for. A redirect when it is made (or lost
        to another reviewer); None to show the page again with the values typed
        and the reason in a message."""
        decision = request.POST.get("decision", "")
        here = reverse("admin:tracker_article_review", args=[article.pk])
        form = None
        try:
            if decision == "accept":
                form = forms_["accept"] = AcceptForm(request.POST, article=article)
                if form.is_valid():
                    data = form.cleaned_data
                    made = services.accept_article(
                        article,
                        request.user,
                        event=data["event"],
                        quote=data["quote"],
                        attributed_to=data["attributed_to"],
                        claim=data["claim"],
                        claim_value=data["claim_value"],
                    )
                    return self._done(request, article, f"Accepted: {made.detail}.")
            elif decision == "create":
                form = forms_["create"] = CreateEventForm(
                    request.POST, article=article, draft=draft
                )
                if form.is_valid():
                    made = services.create_event_from_article(
                        article, request.user, **form.cleaned_data
                    )
                    self.message_user(
                        request,
                        f"{made.detail} made from the article, as a draft: complete it "
                        "and publish it.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:tracker_event_change", args=[made.event_id])
                    )
            elif decision == "reject":
                form = forms_["reject"] = RejectForm(request.POST)
                if form.is_valid():
                    made = services.reject_article(article, request.user, **form.cleaned_data)
                    return self._done(request, article, f"{made.detail}.")
            elif decision == "duplicate":
                form = forms_["duplicate"] = DuplicateForm(
                    request.POST, article=article, admin_site=self.admin_site
                )
                if form.is_valid():
                    made = services.mark_duplicate(
                        article, request.user, original=form.cleaned_data["original"]
                    )
                    return self._done(request, article, f"{made.detail}.")
            elif decision == "undo":
                undone = services.undo_decision(article, request.user)
                text = f"Undone: “{undone.decision.detail}”. The article is back in the queue."
                if undone.removed:
                    text += " Removed " + ", ".join(undone.removed) + "."
                if undone.kept:
                    text += " Kept " + ", ".join(undone.kept) + "."
                self.message_user(request, text, messages.SUCCESS)
                return HttpResponseRedirect(here)
            else:
                self.message_user(request, "Unknown decision.", messages.ERROR)
                return HttpResponseRedirect(here)
        except services.ReviewConflict as conflict:
            self.message_user(request, str(conflict), messages.WARNING)
            return HttpResponseRedirect(here)
        except services.ReviewError as error:
            self.message_user(request, str(error), messages.ERROR)
            return None
        if form is not None and form.errors:
            for name, errors in form.errors.items():
                bound = form[name] if name in form.fields else None
                prefix = f"{bound.label}: " if bound is not None else ""
                self.message_user(request, prefix + " ".join(errors), messages.ERROR)
        return None

    def _done(self, request, article: Article, text: str) -> HttpResponse:
        following = services.next_in_queue(article)
        if following is None:
            self.message_user(request, f"{text} The queue of this story is empty.")
            url = reverse("admin:tracker_article_changelist")
            return HttpResponseRedirect(
                f"{url}?{urlencode({'story__id__exact': article.story_id})}"
            )
        self.message_user(request, f"{text} Next in the queue:", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:tracker_article_review", args=[following.pk]))

    def _render_review(self, request, article, draft, forms_) -> HttpResponse:
        decisions = list(article.decisions.select_related("user", "undone_by", "event"))
        can_review = self.has_review_permission(request)
        context = {
            **self.admin_site.each_context(request),
            "title": article.title or article.url or "Article",
            "subtitle": "Review",
            "opts": self.opts,
            "article": article,
            "summary_html": clean_html(article.summary),
            "state_text": services.describe_state(article),
            "is_pending": article.review_state == ReviewState.PENDING,
            "duplicates": article.duplicates.only("pk", "title", "outlet", "url", "published_at"),
            "decisions": decisions,
            "last_decision": next((d for d in decisions if d.undone_at is None), None),
            "draft": draft,
            "forms": forms_,
            "media": self.media + forms_["duplicate"].media + forms_["create"].media,
            "can_review": can_review,
            "can_accept": can_review and request.user.has_perms(services.ACCEPT_PERMISSIONS),
            "can_create_event": request.user.has_perms(services.CREATE_EVENT_PERMISSIONS),
            "can_add_claim_value": request.user.has_perm("tracker.add_claimvalue"),
            "queue_url": reverse("admin:tracker_article_changelist")
            + "?"
            + urlencode({"story__id__exact": article.story_id}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.review_template, context)

    # Actions

    @admin.action(description="Reject selected articles…", permissions=["review"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Article]):
        form = BulkRejectForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            selected = queryset.count()
            try:
                rejected = services.reject_articles(queryset, request.user, **form.cleaned_data)
            except services.ReviewError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                text = f"Rejected {rejected} article(s)."
                if rejected < selected:
                    text += f" {selected - rejected} were not pending (decided already)."
                self.message_user(request, text, messages.SUCCESS)
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject articles",
            "opts": self.opts,
            "form": form,
            "articles": queryset.select_related(None).only("pk", "title", "outlet", "review_state"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.reject_selected_template, context)


@admin.register(ArticleDecision)
class ArticleDecisionAdmin(admin.ModelAdmin):
    """The audit trail: every decision, who made it and when, and its undoing."""

    list_display = ["decided_at", "action", "user", "article", "detail", "undone_at", "undone_by"]
    list_filter = ["action", "user", ("undone_at", admin.EmptyFieldListFilter), "article__story"]
    list_select_related = ["user", "undone_by", "article"]
    search_fields = ["article__title", "detail", "note"]
    date_hierarchy = "decided_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
