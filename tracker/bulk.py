"""Many new rows of one model in few statements, for the ingestion's hot path.

``QuerySet.bulk_create`` prepares every value through each field's generic
machinery; for a poll's articles (34 columns) that costs several times the
INSERT itself. ``insert_rows`` writes the same rows with the same values and
sets the same primary keys, preparing only the values whose field needs it
(dates for the database, JSON) and passing the plain ones (text, numbers,
foreign keys) as they are. No signals are sent, as with bulk_create.
``quoted_columns`` gives the names such SQL written by hand needs.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

# Field types whose Python value is already what the database takes.
_PLAIN = (
    models.CharField,  # URLField too
    models.TextField,
    models.IntegerField,  # Big-, Small-, Positive- too
    models.FloatField,
    models.BooleanField,
    models.ForeignKey,
)
# On databases with no limit of their own (PostgreSQL), rows per statement.
_MAX_ROWS = 500


def insert_rows(objs: Sequence[models.Model], *, using: str = "default") -> None:
    """Insert ``objs``, new instances of one model with an automatic primary
    key, as ``bulk_create(objs)`` would, and set their primary keys. Related
    objects saved since they were assigned give their keys first; an unsaved
    one raises ValueError, as there. Where the database cannot return the new
    keys from an INSERT, it is bulk_create."""
    if not objs:
        return
    model = type(objs[0])
    connection = connections[using]
    if not connection.features.can_return_rows_from_bulk_insert:
        model._default_manager.using(using).bulk_create(objs)
        return
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    converters = [_converter(field, connection) for field in fields]
    stamped = [
        f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    for obj in objs:
        # Django's own check, as bulk_create makes it: a related object saved
        # since it was assigned gives its key; an unsaved one is refused.
        obj._prepare_related_fields_for_save(operation_name="bulk_create")  # type: ignore[attr-defined]
        for field in stamped:
            field.pre_save(obj, add=True)
    # Names from the model's own metadata, quoted; every value is a parameter.
    column = quoted_columns(model, connection)
    columns = ", ".join(column[f.name] for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    head = f"INSERT INTO {connection.ops.quote_name(opts.db_table)} ({columns}) VALUES "  # noqa: S608
    tail = f" RETURNING {column[opts.pk.name]}"
    per_statement = min(_MAX_ROWS, (connection.features.max_query_params or 10**9) // len(fields))
    values_of = operator.attrgetter(*(f.attname for f in fields))
    prepared = [(i, convert) for i, convert in enumerate(converters) if convert is not None]
    with connection.cursor() as cursor:
        for start in range(0, len(objs), per_statement):
            chunk = objs[start : start + per_statement]
            params: list[Any] = []
            for obj in chunk:
                values = list(values_of(obj))
                for i, convert in prepared:
                    values[i] = convert(values[i])
                params += values
            cursor.execute(head + ", ".join([row] * len(chunk)) + tail, params)
            for obj, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = using


def quoted_columns(model: type[models.Model], connection: BaseDatabaseWrapper) -> dict[str, str]:
    """Each concrete field's column, by field name, quoted for SQL written by hand."""
    quote = connection.ops.quote_name
    # A concrete field always has a column; ``or`` is for the type checker.
    return {f.name: quote(f.column or f.attname) for f in model._meta.concrete_fields}


def _converter(field: models.Field, connection: BaseDatabaseWrapper) -> Callable[[Any], Any] | None:
    """How to prepare the field's values; None: they go as they are."""
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(field, _PLAIN):
        return None
    return lambda value: field.get_db_prep_save(value, connection)
