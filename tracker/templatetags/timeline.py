"""Small filters the public pages need and Django does not ship."""

from urllib.parse import urlsplit

from django import template

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


@register.simple_tag(takes_context=True)
def query_url(context, **changes) -> str:
    """The current page's path with its query changed: a value sets a parameter,
    None removes it. The path alone when nothing is left, so filter links never
    end in a bare '?'."""
    request = context["request"]
    query = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    encoded = query.urlencode()
    return f"{request.path}?{encoded}" if encoded else request.path
