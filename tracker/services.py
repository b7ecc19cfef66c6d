"""Workflows that span rows. Every entry point (admin action, view, task,
command) calls these, so a behaviour lives in one place."""

import datetime as dt
import html
from dataclasses import dataclass, field

import nh3
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from tracker.dates import Precision
from tracker.ingestion.dedupe import canonical_url
from tracker.ingestion.relevance import find_terms
from tracker.models import (
    Article,
    ArticleDecision,
    Citation,
    Claim,
    ClaimValue,
    Entity,
    Event,
    EventStatus,
    Feed,
    RejectReason,
    ReviewAction,
    ReviewState,
    Source,
    Story,
)


@transaction.atomic
def set_event_status(events: QuerySet[Event], status: str) -> int:
    """Publish or unpublish; saves each event so its history and published_at follow.
    Returns how many events changed (those already in ``status`` are left alone)."""
    changed = 0
    # The ids first: the admin's queryset carries annotations, and PostgreSQL
    # refuses FOR UPDATE on a grouped query.
    ids = list(events.exclude(status=status).values_list("pk", flat=True))
    for event in Event.objects.select_for_update().filter(pk__in=ids):
        event.status = status
        event.save()
        changed += 1
    return changed


def story_for_slug(slug: str) -> Story:
    """The story with ``slug``, created (titled from the slug) when missing."""
    story, _ = Story.objects.get_or_create(
        slug=slug, defaults={"title": slug.replace("-", " ").title()}
    )
    return story


@transaction.atomic
def add_feed(url: str, story: Story, *, title: str = "", site_url: str = "") -> tuple[Feed, bool]:
    """Subscribe ``story`` to the feed at ``url`` (one Feed row per URL, shared by
    the stories it serves). Returns (feed, created)."""
    feed, created = Feed.objects.get_or_create(
        url=url, defaults={"title": title[:300], "site_url": site_url[:2000]}
    )
    feed.stories.add(story)
    return feed, created


def poll_now(feeds: QuerySet[Feed]) -> int:
    """Send these feeds' polls to the workers now, whatever their schedule.
    Returns how many were sent (a feed already being polled is sent anyway; its
    claim makes the second poll a no-op)."""
    from tracker import tasks
    from tracker.ingestion.pipeline import lease_feeds

    now = timezone.now()
    with transaction.atomic():
        sent = list(feeds.filter(is_active=True).values_list("pk", flat=True))
        lease_feeds(feeds, now)
        tasks.enqueue_polls(sent, now)
    return len(sent)


# --- Review decisions ----------------------------------------------------------------
#
# Each decision starts by moving the article out of "pending" with a conditional
# UPDATE that must change exactly one row. Two reviewers acting at once both run
# it; the database lets one through and the other changes nothing and is told
# who decided first, so an article is never cited twice. Whatever a decision
# creates is recorded on its ArticleDecision, and undo removes exactly that.


class ReviewError(Exception):
    """A decision that cannot be made as asked; the message is for the editor."""


class ReviewConflict(ReviewError):
    """Someone decided first; nothing was changed."""


STATE_OF_ACTION = {
    ReviewAction.ACCEPT: ReviewState.ACCEPTED,
    ReviewAction.CREATE_EVENT: ReviewState.ACCEPTED,
    ReviewAction.REJECT: ReviewState.REJECTED,
    ReviewAction.DUPLICATE: ReviewState.DUPLICATE,
}

DONE_TO_ARTICLE = {
    ReviewState.ACCEPTED: "accepted",
    ReviewState.REJECTED: "rejected",
    ReviewState.DUPLICATE: "marked as a duplicate",
}

REVIEW = "tracker.review_article"
ACCEPT_PERMISSIONS = (REVIEW, "tracker.add_citation", "tracker.add_source")
CREATE_EVENT_PERMISSIONS = (*ACCEPT_PERMISSIONS, "tracker.add_event")


def _require(user, *permissions: str) -> None:
    missing = [p for p in permissions if not user.has_perm(p)]
    if missing:
        names = ", ".join(p.split(".", 1)[1].replace("_", " ") for p in missing)
        raise PermissionDenied(f"You do not have the permission to do this ({names}).")


def _when(moment: dt.datetime) -> str:
    return f"{timezone.localtime(moment):%H:%M on %-d %B %Y}"


def _who(user) -> str:
    return user.get_username() if user is not None else "someone"


def describe_state(article: Article) -> str:
    """Why ``article`` is not waiting for review, in words: 'accepted by ana at …'."""
    if article.review_state == ReviewState.PENDING:
        return "waiting for review"
    if article.review_state == ReviewState.FILTERED:
        return "filtered out by the story's terms"
    done = DONE_TO_ARTICLE.get(article.review_state, article.review_state)
    if article.reviewed_at is None:
        return f"{done} by ingestion"
    return f"{done} by {_who(article.reviewed_by)} at {_when(article.reviewed_at)}"


def _take(article: Article, state: str, user, now: dt.datetime, **fields) -> None:
    """Move ``article`` from pending to ``state``; ReviewConflict if it was not pending."""
    changed = Article.objects.filter(pk=article.pk, review_state=ReviewState.PENDING).update(
        review_state=state, reviewed_by=user, reviewed_at=now, **fields
    )
    if changed != 1:
        current = Article.objects.select_related("reviewed_by").filter(pk=article.pk).first()
        if current is None:
            raise ReviewConflict("This article has been deleted; nothing was changed.")
        raise ReviewConflict(f"Already {describe_state(current)}; nothing was changed.")
    article.review_state = state
    article.reviewed_by = user
    article.reviewed_at = now
    for name, value in fields.items():
        setattr(article, name, value)


def _save(instance, user) -> None:
    """Save with ``user`` as the author of the history record it makes."""
    instance._history_user = user
    instance.save()


def _delete(instance, user) -> None:
    instance._history_user = user
    instance.delete()


def _source_for(article: Article) -> tuple[Source, bool]:
    """The Source for the article's document: the one already known by its
    normalized URL, or a new one from the article. Returns (source, created)."""
    normalized = canonical_url(article.url) if article.url else ""
    if normalized:
        existing = Source.objects.filter(normalized_url=normalized).first()
        if existing is not None:
            return existing, False
    published = timezone.localtime(article.published_at) if article.published_at else None
    source = Source(
        url=article.url,
        title=(article.title or article.url or article.guid)[:500],
        publisher=article.outlet[:200],
        author=article.author[:200],
        published_text=f"{published:%-d %B %Y}" if published else "",
        published_on=published.date() if published else None,
        retrieved_at=article.extracted_at,
        text=article.text or plain_text(article.summary),
    )
    try:
        with transaction.atomic():
            source.save()
    except IntegrityError:
        # Another decision stored the same document a moment ago.
        return Source.objects.get(normalized_url=normalized), False
    return source, True


def _cite(event: Event, source: Source, user, *, quote: str, attributed_to: str):
    """(citation, created): the event's citation of ``source``, made when missing."""
    existing = Citation.objects.filter(event=event, source=source).first()
    if existing is not None:
        return existing, False
    citation = Citation(
        event=event, source=source, quote=quote.strip(), attributed_to=attributed_to.strip()[:200]
    )
    try:
        with transaction.atomic():
            _save(citation, user)
    except IntegrityError:
        return Citation.objects.get(event=event, source=source), False
    return citation, True


def plain_text(markup: str) -> str:
    """The text of an HTML fragment, without tags or entities."""
    return html.unescape(nh3.clean(markup, tags=set())).strip() if markup else ""


def first_paragraph(article: Article) -> str:
    """The article's first paragraph (extracted text has one paragraph a line), or
    its feed summary as text when nothing was extracted."""
    for line in article.text.splitlines():
        if line.strip():
            return line.strip()
    return plain_text(article.summary)


def entities_in(article: Article) -> list[Entity]:
    """The story's known entities (those on its events) named in the article,
    by name or alias, as whole words and ignoring case."""
    haystack = f"{article.title}\n{article.text}\n{plain_text(article.summary)}"
    known = Entity.objects.filter(events__story_id=article.story_id).distinct()
    return [entity for entity in known if find_terms(haystack, entity.names)]


def unique_event_slug(story: Story, title: str) -> str:
    base = slugify(title)[:100].strip("-") or "event"
    taken = set(story.events.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def accept_article(
    article: Article,
    user,
    *,
    event: Event,
    quote: str = "",
    attributed_to: str = "",
    claim: Claim | None = None,
    claim_value: str = "",
) -> ArticleDecision:
    """Cite the article as a source of ``event``: the Source (reused when one has
    the same normalized URL) and the Citation, and optionally a value of one of
    the event's claims backed by that citation."""
    _require(user, *ACCEPT_PERMISSIONS)
    claim_value = claim_value.strip()
    if claim is not None or claim_value:
        _require(user, "tracker.add_claimvalue")
    if event.story_id != article.story_id:
        raise ReviewError("That event belongs to another story.")
    if claim is not None and claim.event_id != event.pk:
        raise ReviewError(f"The claim “{claim.label}” belongs to another event.")
    if (claim is None) != (not claim_value):
        raise ReviewError("To add a claim value, pick the claim and give the value.")

    _take(article, ReviewState.ACCEPTED, user, timezone.now())
    source, source_created = _source_for(article)
    citation, citation_created = _cite(
        event, source, user, quote=quote, attributed_to=attributed_to
    )
    value = created_value = None
    if claim is not None:
        value = ClaimValue.objects.filter(claim=claim, value=claim_value[:300]).first()
        if value is None:
            value = created_value = ClaimValue(
                claim=claim, value=claim_value[:300], quote=quote.strip()
            )
            _save(value, user)
        value.citations.add(citation)
    detail = f"Cited in “{event.title}”"
    if not citation_created:
        detail += " (the event already cited this source)"
    if value is not None:
        detail += f"; {claim.label}: {value.value}"
    return ArticleDecision.objects.create(
        article=article,
        action=ReviewAction.ACCEPT,
        user=user,
        decided_at=article.reviewed_at,
        detail=detail[:500],
        event=event,
        citation=citation if citation_created else None,
        source=source,
        has_created_source=source_created,
        claim_value=created_value,
    )


@dataclass
class EventDraft:
    """What a new event made from an article starts with."""

    title: str
    occurred_on: dt.date
    summary: str
    entities: list[Entity]


def event_draft(article: Article) -> EventDraft:
    moment = article.published_at or article.created_at or timezone.now()
    return EventDraft(
        title=article.title[:300],
        occurred_on=timezone.localtime(moment).date(),
        summary=first_paragraph(article),
        entities=entities_in(article),
    )


@transaction.atomic
def create_event_from_article(
    article: Article,
    user,
    *,
    category: str,
    title: str = "",
    occurred_on: dt.date | None = None,
    summary: str | None = None,
    quote: str = "",
    attributed_to: str = "",
) -> ArticleDecision:
    """A draft event prefilled from the article (title, day from the published
    time, first paragraph as summary, the story's entities it names) citing it.
    The editor completes the draft and publishes it."""
    _require(user, *CREATE_EVENT_PERMISSIONS)
    draft = event_draft(article)
    title = (title.strip() or draft.title or "Untitled event")[:300]
    event = Event(
        story_id=article.story_id,
        title=title,
        slug=unique_event_slug(article.story, title),
        summary=draft.summary if summary is None else summary.strip(),
        category=category,
        occurred_on=occurred_on or draft.occurred_on,
        precision=Precision.DAY,
        status=EventStatus.DRAFT,
    )
    try:
        event.full_clean()
    except ValidationError as error:
        messages = [f"{field}: {' '.join(errs)}" for field, errs in error.message_dict.items()]
        raise ReviewError("The new event is not valid: " + "; ".join(messages)) from None

    _take(article, ReviewState.ACCEPTED, user, timezone.now())
    _save(event, user)
    event.entities.set(draft.entities)
    source, source_created = _source_for(article)
    citation, _ = _cite(event, source, user, quote=quote, attributed_to=attributed_to)
    return ArticleDecision.objects.create(
        article=article,
        action=ReviewAction.CREATE_EVENT,
        user=user,
        decided_at=article.reviewed_at,
        detail=f"New draft event “{event.title}”"[:500],
        event=event,
        has_created_event=True,
        citation=citation,
        source=source,
        has_created_source=source_created,
    )


@transaction.atomic
def reject_article(article: Article, user, *, reason: str, note: str = "") -> ArticleDecision:
    _require(user, REVIEW)
    decision = _reject(article, user, reason=reason, note=note, now=timezone.now())
    if decision is None:
        current = Article.objects.select_related("reviewed_by").get(pk=article.pk)
        raise ReviewConflict(f"Already {describe_state(current)}; nothing was changed.")
    return decision


def _check_reason(reason: str, note: str) -> None:
    if reason not in RejectReason.values:
        raise ReviewError("Choose a reason for the rejection.")
    if reason == RejectReason.OTHER and not note.strip():
        raise ReviewError("Say why in the note when the reason is “other”.")


def _reject(article: Article, user, *, reason: str, note: str, now) -> ArticleDecision | None:
    """None when the article was no longer pending."""
    _check_reason(reason, note)
    try:
        _take(
            article, ReviewState.REJECTED, user, now, reject_reason=reason, reject_note=note.strip()
        )
    except ReviewConflict:
        return None
    return ArticleDecision.objects.create(
        article=article,
        action=ReviewAction.REJECT,
        user=user,
        decided_at=now,
        detail=f"Rejected: {RejectReason(reason).label.lower()}",
        note=note.strip(),
    )


@transaction.atomic
def reject_articles(articles: QuerySet[Article], user, *, reason: str, note: str = "") -> int:
    """Reject the pending ones among ``articles``, each with its own conditional
    update. Returns how many this call rejected (others were decided already)."""
    _require(user, REVIEW)
    _check_reason(reason, note)
    now = timezone.now()
    rejected = 0
    pending = articles.filter(review_state=ReviewState.PENDING).select_related(None)
    for article in pending.only("pk", "review_state"):
        if _reject(article, user, reason=reason, note=note, now=now) is not None:
            rejected += 1
    return rejected


@transaction.atomic
def mark_duplicate(article: Article, user, *, original: Article) -> ArticleDecision:
    """File the article under ``original`` (or the article that one copies)."""
    _require(user, REVIEW)
    original = original.duplicate_of or original
    if original.pk == article.pk:
        raise ReviewError("An article cannot be a duplicate of itself.")
    if original.story_id != article.story_id:
        raise ReviewError("The original must be an article of the same story.")
    _take(article, ReviewState.DUPLICATE, user, timezone.now(), duplicate_of=original)
    return ArticleDecision.objects.create(
        article=article,
        action=ReviewAction.DUPLICATE,
        user=user,
        decided_at=article.reviewed_at,
        detail=f"Duplicate of “{original}”"[:500],
        duplicate_of=original,
    )


@dataclass
class Undone:
    decision: ArticleDecision
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


@transaction.atomic
def undo_decision(article: Article, user) -> Undone:
    """Return the article to pending and remove what its last decision created,
    each thing only if nothing else uses it (what is kept is said, with why)."""
    _require(user, REVIEW)
    decision = (
        article.decisions.filter(undone_at__isnull=True).order_by("-decided_at", "-pk").first()
    )
    if decision is None:
        raise ReviewError("There is no decision on this article to undo.")
    if decision.action == ReviewAction.CREATE_EVENT:
        _require(user, *CREATE_EVENT_PERMISSIONS)
    elif decision.action == ReviewAction.ACCEPT:
        _require(user, *ACCEPT_PERMISSIONS)

    now = timezone.now()
    claimed = ArticleDecision.objects.filter(pk=decision.pk, undone_at__isnull=True).update(
        undone_at=now, undone_by=user
    )
    back = {
        "review_state": ReviewState.PENDING,
        "reviewed_by": None,
        "reviewed_at": None,
        "reject_reason": "",
        "reject_note": "",
    }
    if decision.action == ReviewAction.DUPLICATE:
        back["duplicate_of"] = None
    try:
        with transaction.atomic():
            returned = Article.objects.filter(
                pk=article.pk, review_state=STATE_OF_ACTION[decision.action]
            ).update(**back)
    except IntegrityError:
        raise ReviewError(
            "This article cannot return to the queue: another article with its URL "
            "is now the original."
        ) from None
    if claimed != 1 or returned != 1:
        current = Article.objects.select_related("reviewed_by").get(pk=article.pk)
        raise ReviewConflict(f"Already undone: the article is {describe_state(current)}.")
    for name, value in back.items():
        setattr(article, name, value)

    undone = Undone(decision)
    value = decision.claim_value
    if value is not None:
        if value.is_preferred or value.citations.exclude(pk=decision.citation_id).exists():
            undone.kept.append(f"the claim value “{value}” (preferred or cited elsewhere since)")
        else:
            _delete(value, user)
            undone.removed.append(f"the claim value “{value}”")
    citation = decision.citation
    if citation is not None:
        if citation.claim_values.exists():
            undone.kept.append("the citation (a claim value relies on it)")
        else:
            _delete(citation, user)
            undone.removed.append("the citation")
    source = decision.source
    if decision.has_created_source and source is not None:
        if source.citations.exists():
            undone.kept.append(f"the source “{source.title}” (cited elsewhere)")
        else:
            source.delete()
            undone.removed.append(f"the source “{source.title}”")
    event = decision.event
    if decision.has_created_event and event is not None:
        if event.is_published or event.citations.exists() or event.claims.exists():
            undone.kept.append(f"the event “{event.title}” (published, cited or with claims)")
        else:
            _delete(event, user)
            undone.removed.append(f"the draft event “{event.title}”")
    return undone


def next_in_queue(article: Article) -> Article | None:
    """The pending article after ``article`` in the queue's order (newest first)
    in the same story, or the newest pending one when none is after it."""
    pending = Article.objects.pending_review().filter(story_id=article.story_id)
    pending = pending.exclude(pk=article.pk).only("pk")
    if article.published_at is not None:
        after = pending.filter(
            Q(published_at__lt=article.published_at)
            | Q(published_at=article.published_at, pk__lt=article.pk)
            | Q(published_at__isnull=True)
        ).first()
    else:
        after = pending.filter(published_at__isnull=True, pk__lt=article.pk).first()
    return after or pending.first()
