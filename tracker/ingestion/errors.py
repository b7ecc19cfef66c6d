"""What can go wrong in a stage, as data the pipeline stores on the feed row.

``kind`` is one of the values of ``tracker.models.ErrorKind`` (repeated here as
plain strings because stages do not import models); ``permanent`` says whether
trying again later can help; the message is written for an operator reading the
feed's last error in the admin.
"""

from __future__ import annotations

from typing import Final

TIMEOUT: Final = "timeout"
DNS: Final = "dns"
CONNECTION: Final = "connection"
HTTP: Final = "http"
TOO_LARGE: Final = "too_large"
NOT_A_FEED: Final = "not_a_feed"
PARSE: Final = "parse"
BLOCKED: Final = "blocked"
REDIRECTS: Final = "redirects"
GONE: Final = "gone"
INTERNAL: Final = "internal"

KINDS: Final = frozenset(
    {
        TIMEOUT,
        DNS,
        CONNECTION,
        HTTP,
        TOO_LARGE,
        NOT_A_FEED,
        PARSE,
        BLOCKED,
        REDIRECTS,
        GONE,
        INTERNAL,
    }
)


class IngestionError(Exception):
    """A stage failed; ``str(error)`` is the operator-facing message."""

    def __init__(
        self,
        message: str,
        *,
        kind: str = INTERNAL,
        permanent: bool = False,
        status_code: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown error kind {kind!r}")
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.permanent = permanent
        self.status_code = status_code
        # Seconds the server asked us to wait (Retry-After), None when it did not say.
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, kind={self.kind!r}, "
            f"permanent={self.permanent}, status_code={self.status_code}, "
            f"retry_after={self.retry_after})"
        )


class FetchError(IngestionError):
    """The document could not be fetched: network, HTTP status, limits, guards."""


class BlockedError(FetchError):
    """The URL or the address it resolves to is not allowed (scheme, credentials,
    private or reserved address). Always permanent: the same URL stays refused."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind=BLOCKED, permanent=True)


class ParseError(IngestionError):
    """The document was fetched but is not a usable feed."""
