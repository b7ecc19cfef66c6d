"""Structured logs: a JSON line per record in production, with the ingestion
context (which feed, which article, which task) on every line.

``log_context(feed_id=...)`` binds fields for as long as a block runs, in a
context variable, so every record logged inside it carries them: the
pipeline's own lines and those of the libraries it calls (httpx, feedparser,
trafilatura) alike. ``ContextFilter`` copies the bound fields, and the current
Celery task's id, onto each record; fields passed with ``extra=`` win.

Settings wire these up (LOGGING, LOG_FORMAT); nothing here imports models.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

# Never mutated in place: log_context sets a new dict, so the default can be shared.
_EMPTY: Final[dict[str, Any]] = {}
_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar(
    "tracker_log_context", default=_EMPTY
)

# The attributes every LogRecord has; anything else on a record came from
# ``extra=`` or from the context and is written out as a field.
_RECORD_ATTRIBUTES: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime"}
)
# The fields shown first in plain lines, in this order.
_PLAIN_FIRST: Final[tuple[str, ...]] = ("feed_id", "article_id", "task_id")


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Bind ``fields`` (None values are left out) to every record logged in the block."""
    bound = {**_context.get(), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(bound)
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, Any]:
    return dict(_context.get())


def _task_id() -> str | None:
    try:
        from celery._state import get_current_task
    except ImportError:  # pragma: no cover - celery is a dependency
        return None
    task = get_current_task()
    request = getattr(task, "request", None) if task is not None else None
    return getattr(request, "id", None)


class ContextFilter(logging.Filter):
    """Adds the bound context and the Celery task id to each record; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        if not hasattr(record, "task_id"):
            task_id = _task_id()
            if task_id:
                record.task_id = task_id
        return True


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's fields beyond the standard ones (``extra=`` and context)."""
    return {
        name: value
        for name, value in vars(record).items()
        if name not in _RECORD_ATTRIBUTES and not name.startswith("_")
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message,
    then every extra field; ``exc_info`` as the formatted traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in extra_fields(record).items():
            entry.setdefault(name, _jsonable(value))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """``time LEVEL logger message key=value ...`` for people at a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = extra_fields(record)
        ordered = [n for n in _PLAIN_FIRST if n in fields]
        ordered += sorted(n for n in fields if n not in _PLAIN_FIRST)
        if not ordered:
            return line
        head, newline, tail = line.partition("\n")  # keep a traceback below the fields
        pairs = " ".join(f"{name}={fields[name]}" for name in ordered)
        return f"{head} {pairs}{newline}{tail}"
