"""Bulk writes for the proposal and the demo: COPY on PostgreSQL, executemany on SQLite.

Column names come from the models' metadata, never from input. Values are sequences (one item
per row) or constants.
"""

from collections.abc import Iterator, Sequence
from itertools import repeat
from typing import Any

import numpy as np
from django.db import connection, models

CHUNK = 20_000


def columns_of(model: type[models.Model], names: Sequence[str]) -> tuple[str, list[str]]:
    qn = connection.ops.quote_name
    columns = []
    for name in names:
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field) and field.column
        columns.append(qn(field.column))
    return qn(model._meta.db_table), columns


def insert_rows(model: type[models.Model], values: dict[str, Any], total: int) -> int:
    """Insert ``total`` rows; each value is a sequence (one item per row) or a constant."""
    if total == 0:
        return 0
    table, columns = columns_of(model, list(values))
    arrays = list(values.values())
    if connection.vendor == "postgresql":
        sql = "COPY {} ({}) FROM STDIN".format(table, ", ".join(columns))
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for rows in _chunks(arrays, total):
                for row in rows:
                    copy.write_row(row)
    else:
        sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (identifiers from _meta)
            table, ", ".join(columns), ", ".join(["%s"] * len(columns))
        )
        with connection.cursor() as cursor:
            for rows in _chunks(arrays, total):
                cursor.executemany(sql, list(rows))
    return total


def _chunks(arrays: list[Any], total: int) -> Iterator[Iterator[tuple[Any, ...]]]:
    for begin in range(0, total, CHUNK):
        end = min(begin + CHUNK, total)
        parts = [
            (a[begin:end].tolist() if isinstance(a, np.ndarray) else a[begin:end])
            if isinstance(a, np.ndarray | list | tuple)
            else repeat(a, end - begin)
            for a in arrays
        ]
        yield zip(*parts, strict=False)


def analyze(*models_: type[models.Model]) -> None:
    """Fresh planner statistics for tables that just grew a lot."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit = 2000")
        for model in models_:
            cursor.execute("ANALYZE " + connection.ops.quote_name(model._meta.db_table))


def now_value() -> Any:
    from django.utils import timezone

    return connection.ops.adapt_datetimefield_value(timezone.now())


def date_value(day: Any) -> Any:
    return connection.ops.adapt_datefield_value(day)


def uuid_values(count: int, rng: np.random.Generator | None = None) -> list[str]:
    """``count`` random version-4 UUIDs as 32 hex digits (what both databases accept)."""
    rng = rng or np.random.default_rng()
    raw = rng.integers(0, 256, size=(count, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    return [bytes(row).hex() for row in raw]
