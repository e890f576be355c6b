"""Bulk writes (批量写入) for the demo generators, the proposal and the import: ``COPY`` on
PostgreSQL, ``executemany`` on SQLite, in chunks inside the caller's transaction.

Table and column names always come from the models' metadata, never from input. Values must
already be in the database's terms (``now_value``, ``date_value``, yuan as numbers or strings,
foreign keys as ids). Two kinds of input:

- ``insert_rows(model, {field: values}, total)``: each value is a numpy array, a list or a tuple
  (one item per row) or a constant (any other value, repeated on every row). PostgreSQL gets the
  rows through ``copy.write_row`` (the driver adapts each value).
- ``insert_frame(model, frame)``: a polars frame whose column names are field names. PostgreSQL
  gets it as CSV (``COPY … WITH (FORMAT csv)``), written by polars; SQLite gets ``frame.rows()``.

``bulk_session`` widens SQLite's page cache while a large write runs, ``analyze`` refreshes the
planner statistics afterwards.
"""

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from typing import Any

import numpy as np
import polars as pl
from django.db import connection, models
from django.utils import timezone

# Rows per executemany call or per slice converted for COPY.
CHUNK = 20_000
FRAME_CHUNK = 20_000
# SQLite's page cache during a bulk session, in KiB (PRAGMA cache_size takes negative KiB).
SESSION_CACHE_KIB = 1_000_000


def table_and_columns(model: type[models.Model], names: Sequence[str]) -> tuple[str, list[str]]:
    """The quoted table name of ``model`` and the quoted columns of the fields ``names`` (field
    names, or attnames such as ``division_id``), from the model's metadata."""
    qn = connection.ops.quote_name
    columns = []
    for name in names:
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field) and field.column
        columns.append(qn(field.column))
    return qn(model._meta.db_table), columns


def insert_rows(
    model: type[models.Model], values: dict[str, Any], total: int, *, chunk: int = CHUNK
) -> int:
    """Append ``total`` rows to ``model``'s table and return ``total``.

    ``values`` maps field names to a numpy array, list or tuple of ``total`` items, or to a
    constant for every row. Rows go ``chunk`` at a time (``copy.write_row`` on PostgreSQL,
    ``executemany`` on SQLite); nothing is written when ``total`` is 0. On PostgreSQL a refused
    row raises the driver's error (psycopg's), not Django's as ``insert_frame`` does.
    """
    if total == 0:
        return 0
    table, columns = table_and_columns(model, list(values))
    arrays = list(values.values())
    if connection.vendor == "postgresql":
        sql = "COPY {} ({}) FROM STDIN".format(table, ", ".join(columns))
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for rows in _chunks(arrays, total, chunk):
                for row in rows:
                    copy.write_row(row)
    else:
        sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (identifiers from _meta)
            table, ", ".join(columns), ", ".join(["%s"] * len(columns))
        )
        with connection.cursor() as cursor:
            for rows in _chunks(arrays, total, chunk):
                cursor.executemany(sql, list(rows))
    return total


def _chunks(arrays: list[Any], total: int, chunk: int) -> Iterator[Iterator[tuple[Any, ...]]]:
    """The rows ``chunk`` at a time: arrays become plain Python values (``tolist``), sequences
    are sliced, constants repeated."""
    for begin in range(0, total, chunk):
        end = min(begin + chunk, total)
        parts = [
            (a[begin:end].tolist() if isinstance(a, np.ndarray) else a[begin:end])
            if isinstance(a, np.ndarray | list | tuple)
            else repeat(a, end - begin)
            for a in arrays
        ]
        yield zip(*parts, strict=False)


def insert_frame(model: type[models.Model], frame: pl.DataFrame) -> None:
    """Append ``frame``'s rows to ``model``'s table (column names are field names): COPY of CSV
    on PostgreSQL, executemany on SQLite. Values must already be in the database's terms."""
    table, columns = table_and_columns(model, frame.columns)
    if connection.vendor == "postgresql":
        sql = "COPY {} ({}) FROM STDIN WITH (FORMAT csv)".format(table, ", ".join(columns))
        # The raw driver's COPY, its errors wrapped like Django's (IntegrityError …).
        with (
            connection.wrap_database_errors,
            connection.cursor() as cursor,
            cursor.cursor.copy(sql) as copy,
        ):
            for begin in range(0, frame.height, FRAME_CHUNK):
                buffer = io.BytesIO()
                frame.slice(begin, FRAME_CHUNK).write_csv(buffer, include_header=False)
                copy.write(buffer.getvalue())
        return
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (identifiers from _meta)
        table, ", ".join(columns), ", ".join(["%s"] * len(columns))
    )
    with connection.cursor() as cursor:
        for begin in range(0, frame.height, FRAME_CHUNK):
            cursor.executemany(sql, frame.slice(begin, FRAME_CHUNK).rows())


@contextmanager
def bulk_session(kib: int = SESSION_CACHE_KIB) -> Iterator[None]:
    """On SQLite, a page cache of ``kib`` KiB while a large write runs; restored afterwards.
    Nothing on PostgreSQL."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA cache_size = %d" % -kib)  # noqa: UP031 (a PRAGMA takes no parameters)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = %d" % previous)  # noqa: UP031 (a PRAGMA takes no parameters)


def analyze(*models_: type[models.Model]) -> None:
    """Fresh planner statistics for tables that just grew a lot (sampled on SQLite, as on
    PostgreSQL)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit = 2000")
        for model in models_:
            cursor.execute("ANALYZE " + connection.ops.quote_name(model._meta.db_table))


def now_value() -> Any:
    """The current time as the database stores a DateTimeField (for every row of a write)."""
    return connection.ops.adapt_datetimefield_value(timezone.now())


def date_value(day: Any) -> Any:
    """``day`` (a date) as the database stores a DateField."""
    return connection.ops.adapt_datefield_value(day)


def uuid_values(count: int, rng: np.random.Generator | None = None) -> list[str]:
    """``count`` random version-4 UUIDs as 32 hex digits (what both databases accept)."""
    rng = rng or np.random.default_rng()
    raw = rng.integers(0, 256, size=(count, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    return [bytes(row).hex() for row in raw]
