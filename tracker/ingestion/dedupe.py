"""Identity of articles: canonical URLs, title keys and SimHash fingerprints.

No database here: the pipeline asks these functions and compares the answers.
"""

import re
from urllib.parse import urlsplit, urlunsplit

import courlan

_WORD = re.compile(r"\w+", re.UNICODE)


def canonical_url(url: str) -> str:
    """The form of ``url`` two copies of one page share: lower-case host, no default
    port, no tracking parameters (utm_*, fbclid, ref, ...), sorted query, no fragment.
    Returns "" for something that is not an http(s) URL."""
    url = (url or "").strip()
    if not url:
        return ""
    try:
        normalized = courlan.normalize_url(url)
    except (ValueError, AttributeError):
        return ""
    parts = urlsplit(normalized)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))
