"""Small filters the public pages need and Django does not ship."""

import json
from urllib.parse import urlsplit

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from tracker.dates import iso_partial

register = template.Library()


@register.filter
def event_datetime(event) -> str:
    """The event's start as a reduced-precision ISO date for ``<time datetime>``."""
    return iso_partial(event.occurred_on, event.precision)


@register.filter
def web_url(url: str) -> str:
    """The URL if it is an http(s) address, else ''. Stored URLs come from imports
    and editors, so a ``javascript:`` address must never become a link."""
    if url and urlsplit(url).scheme.lower() in ("http", "https"):
        return url
    return ""


def with_query(request, **changes) -> str:
    """The request's path with its query changed: a value sets a parameter,
    None removes it. The path alone when nothing is left, so filter links never
    end in a bare '?'."""
    query = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    encoded = query.urlencode()
    return f"{request.path}?{encoded}" if encoded else request.path


@register.simple_tag(takes_context=True)
def query_url(context, **changes) -> str:
    """The current page's URL with its query changed (``with_query``)."""
    return with_query(context["request"], **changes)


# json_script's escaping: '<', '>' and '&' as \u escapes, so no stored text can
# close the element or open a comment.
_JSON_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.simple_tag
def jsonld(data) -> str:
    """A schema.org block: data, not script, so a Content-Security-Policy that
    forbids inline scripts still lets it through."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_JSON_ESCAPES)
    return format_html('<script type="application/ld+json">{}</script>', mark_safe(text))  # noqa: S308


@register.simple_tag(takes_context=True)
def absolute_url(context, path: str) -> str:
    """``path`` on this site as an absolute URL, for canonical links and OpenGraph."""
    return context["request"].build_absolute_uri(path)
