"""The reads behind an export (exchange-format §8): one SQL statement per sheet, streamed.

Each statement returns one row per household, already rendered as the file wants it
(``export_cells``): the household's line, with its other causes for Python to complete; or all
its active members' lines in one string. Both sheets are read in one snapshot, so the member
sheet matches the household sheet even while people keep editing (``read_snapshot``), on two
threads at once when the snapshot has connections of its own. A row per household (not per
person) keeps the threads' switches few: each releases the GIL while its database works.
PostgreSQL streams the rows with COPY, so the server renders while Python writes.
"""

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, connection
from django.db.backends.base.base import BaseDatabaseWrapper

from fupin.divisions.models import Division
from fupin.exchange.columns import HOUSEHOLD_COLUMNS, MEMBER_COLUMNS, Column, Kind
from fupin.exchange.export_cells import (
    ROW,
    Cells,
    Sql,
    compose,
    inline_sqlite,
    joined,
    value,
    xlsx_finish,
)
from fupin.registry.models import Household, Member, YearlyRecord

CHUNK_ROWS = 5_000

# Where each column's value comes from. Aliases: h household, d its division, hm its active head
# member, r the exported yearly record, m a member; a column's own name where not listed.
_RECORD_KEYS = (
    "survey_year",
    "household_size",
    "wage_income",
    "business_income",
    "property_income",
    "transfer_income",
    "business_cost",
    "excluded_income",
    "farmland_mu",
    "housing_grade",
    "safe_water",
    "food_secure",
    "clothing_secure",
    "has_electricity",
)
HOUSEHOLD_SOURCES = (
    {column.key: f"h.{column.key}" for column in HOUSEHOLD_COLUMNS}
    | {key: f"r.{key}" for key in _RECORD_KEYS}
    | {"division_code": "d.code", "head_id_number": "hm.id_number"}
)
MEMBER_SOURCES = {column.key: f"m.{column.key}" for column in MEMBER_COLUMNS} | {
    "household_no": "h.household_no"
}
LABEL_LISTS = tuple(
    sorted({c.code_list for c in (*HOUSEHOLD_COLUMNS, *MEMBER_COLUMNS) if c.kind == Kind.CODE})
)


@dataclass(frozen=True)
class Selection:
    """Which households an export holds: division subtrees (None: the whole registry), changed
    since a time, one survey year (None: each household's latest record)."""

    paths: tuple[str, ...] | None
    since: dt.datetime | None = None
    year: int | None = None


Rows = list[tuple[Any, ...]]


@dataclass(frozen=True)
class Sheet:
    """One sheet's statement and how Python turns its rows into text.

    ``render`` gets a chunk of rows (text as UTF-8 bytes) and the number of the first data row
    of the sheet (XLSX rows carry their number); it returns the file's bytes and how many sheet
    rows they hold. Bytes, not str: the rows are mostly Chinese, which Python keeps as two bytes
    a character and searches slowly; UTF-8 bytes are searched, split and joined with memchr.
    """

    statement: Sql
    width: int
    render: Callable[[Rows, int], tuple[bytes, int]]


class ExportSql:
    """The statements of one export, for the reading connection's database."""

    def __init__(self, db: BaseDatabaseWrapper, cells: Cells, selection: Selection) -> None:
        self.cells = cells
        self.dialect = cells.dialect
        self.selection = selection
        self.since = db.ops.adapt_datetimefield_value(selection.since) if selection.since else None
        # Table names, quoted for the database (identifiers, not values: no parameters).
        qn = db.ops.quote_name
        self.household = Sql(qn(Household._meta.db_table))
        self.member = Sql(qn(Member._meta.db_table))
        self.record = Sql(qn(YearlyRecord._meta.db_table))
        self.division = Sql(qn(Division._meta.db_table))

    def _line(
        self, columns: Sequence[Column], sources: dict[str, str]
    ) -> tuple[list[Sql], list[tuple[int, Column]]]:
        """A sheet's rendered row: text pieces, with the other causes between them (Python
        completes those)."""
        cells = self.cells
        pieces: list[Sql] = []
        completed: list[tuple[int, Column]] = []
        pending: list[Sql | str] = [cells.row_start]
        for index, column in enumerate(columns):
            if index:
                pending.append(cells.separator)
            source = Sql(sources[column.key])
            if column.kind == Kind.CODES:
                pieces += [self.dialect.concat(pending), self.dialect.json_text(source)]
                completed.append((index, column))
                pending = []
            else:
                pending.append(cells.sql(index, column, source))
        pending.append(cells.row_end)
        pieces.append(self.dialect.concat(pending))
        return pieces, completed

    # --- which households ---------------------------------------------------------------------

    def _where(self) -> Sql:
        """The condition on h (household) and d (its division) shared by every statement."""
        parts: list[Sql] = []
        paths = self.selection.paths
        if paths is not None:
            # A subtree is one range on the indexed path (divisions.models.subtree_q).
            ranges = [
                compose("(d.path >= {} AND d.path < {})", value(p), value(p[:-1] + "0"))
                for p in paths
            ]
            parts.append(compose("({})", joined(ranges, " OR ")) if ranges else Sql("1 = 0"))
        if self.since is not None:
            since = value(self.since)
            parts.append(
                compose(
                    "(h.updated_at > {}"
                    " OR EXISTS (SELECT 1 FROM {} ms WHERE ms.household_id = h.id"
                    " AND ms.updated_at > {})"
                    " OR EXISTS (SELECT 1 FROM {} rs WHERE rs.household_id = h.id"
                    " AND rs.updated_at > {}))",
                    since,
                    self.member,
                    since,
                    self.record,
                    since,
                )
            )
        if self.selection.year is not None:
            parts.append(
                compose(
                    "EXISTS (SELECT 1 FROM {} ry WHERE ry.household_id = h.id"
                    " AND ry.survey_year = {})",
                    self.record,
                    value(self.selection.year),
                )
            )
        return joined(parts, " AND ") if parts else Sql("1 = 1")

    # --- the statements -----------------------------------------------------------------------

    def households(self) -> Sheet:
        """Households ordered by number, with their head's id and the exported record."""
        pieces, completed = self._line(HOUSEHOLD_COLUMNS, HOUSEHOLD_SOURCES)
        if self.selection.year is not None:
            record = compose(
                "LEFT JOIN {} r ON r.household_id = h.id AND r.survey_year = {}",
                self.record,
                value(self.selection.year),
            )
        elif self.dialect.postgres:
            record = compose(
                "LEFT JOIN LATERAL (SELECT * FROM {} rl WHERE rl.household_id = h.id"
                " ORDER BY rl.survey_year DESC LIMIT 1) r ON TRUE",
                self.record,
            )
        else:
            # The newest record's rowid off the (household, year) index: one probe, one fetch.
            record = compose(
                "LEFT JOIN {} r ON r.id = (SELECT rl.id FROM {} rl WHERE rl.household_id = h.id"
                " ORDER BY rl.survey_year DESC LIMIT 1)",
                self.record,
                self.record,
            )
        statement = compose(
            "SELECT {} FROM {} h JOIN {} d ON d.id = h.division_id"
            " LEFT JOIN {} hm ON hm.household_id = h.id AND hm.is_active = {}"
            " AND hm.relation = {} {} WHERE {} ORDER BY h.household_no",
            joined(pieces),
            self.household,
            self.division,
            self.member,
            value(True),
            value("head"),
            record,
            self._where(),
        )
        steps = [self.cells.other_causes(index, column) for index, column in completed]
        separator = self.cells.line_separator.encode()
        numbered = bool(self.cells.row_start)
        row = ROW.encode()

        def render(rows: Rows, first: int) -> tuple[bytes, int]:
            if len(steps) == 1:
                (step,) = steps
                lines = [r[0] + step(r[1]) + r[2] for r in rows]
            else:
                lines = []
                for r in rows:
                    parts = [r[0]]
                    for i, other in enumerate(steps):
                        parts += (other(r[2 * i + 1]), r[2 * i + 2])
                    lines.append(b"".join(parts))
            if numbered:
                lines = [line.replace(row, b"%d" % n) for n, line in enumerate(lines, first)]
                return xlsx_finish(b"".join(lines)), len(lines)
            return separator.join(lines) + separator, len(lines)

        return Sheet(statement, len(pieces), render)

    def members(self) -> Sheet:
        """Per household in the order of the household sheet, its active members' lines: the
        head first, then the others in the order they joined."""
        pieces, completed = self._line(MEMBER_COLUMNS, MEMBER_SOURCES)
        assert not completed and len(pieces) == 1
        lines = self.dialect.member_lines(
            pieces[0],
            self.cells.line_separator,
            compose("m.household_id = h.id AND m.is_active = {}", value(True)),
            compose("CASE WHEN m.relation = {} THEN 0 ELSE 1 END, m.id", value("head")),
            self.member,
        )
        statement = compose(
            "SELECT {} FROM {} h JOIN {} d ON d.id = h.division_id"
            " WHERE {} ORDER BY h.household_no",
            lines,
            self.household,
            self.division,
            self._where(),
        )
        separator = self.cells.line_separator.encode()
        start = self.cells.row_start.encode()
        row = ROW.encode()
        assert not start or start == b'<row r="%s">' % row

        def render(rows: Rows, first: int) -> tuple[bytes, int]:
            count = 0
            blocks = []
            for (block,) in rows:
                if block:
                    members, lines = block.split(b"\x01", 1)
                    count += int(members)
                    blocks.append(lines)
            if not start:  # CSV: the lines as they are
                return (separator.join(blocks) + separator if blocks else b""), count
            out = []
            number = first
            for block in blocks:
                for line in block.split(start)[1:]:
                    out.append(
                        start.replace(row, b"%d" % number) + line.replace(row, b"%d" % number)
                    )
                    number += 1
            return xlsx_finish(b"".join(out)), count

        return Sheet(statement, 1, render)

    def member_count(self) -> Sql:
        selection = self.selection
        if selection.paths is None and selection.since is None and selection.year is None:
            return compose("SELECT COUNT(*) FROM {} WHERE is_active = {}", self.member, value(True))
        return compose(
            "SELECT COUNT(*) FROM {} h JOIN {} d ON d.id = h.division_id JOIN {} m"
            " ON m.household_id = h.id WHERE m.is_active = {} AND {}",
            self.household,
            self.division,
            self.member,
            value(True),
            self._where(),
        )

    def household_count(self) -> Sql:
        return compose(
            "SELECT COUNT(*) FROM {} h JOIN {} d ON d.id = h.division_id WHERE {}",
            self.household,
            self.division,
            self._where(),
        )


class Reader:
    """Runs the export's statements on one connection."""

    def __init__(self, db: BaseDatabaseWrapper) -> None:
        self.db = db

    def count(self, statement: Sql) -> int:
        with self.db.cursor() as cursor:
            cursor.execute(statement.text, statement.params)
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    def chunks(self, statement: Sql, width: int) -> Iterator[Rows]:
        """The statement's rows (``width`` values each) in chunks of CHUNK_ROWS."""
        if self.db.vendor == "postgresql":
            return _copy_rows(self.db, statement, width)
        return _fetch_rows(self.db, statement)


def _fetch_rows(db: BaseDatabaseWrapper, statement: Sql) -> Iterator[Rows]:
    with db.cursor() as cursor:
        cursor.execute(inline_sqlite(statement))
        raw = db.connection
        while True:
            # Text as UTF-8 bytes (Sheet), only while fetching: between chunks the connection may
            # serve other code (a progress callback, inside the caller's transaction).
            before = raw.text_factory
            raw.text_factory = bytes
            try:
                rows = cursor.fetchmany(CHUNK_ROWS)
            finally:
                raw.text_factory = before
            if not rows:
                return
            yield rows


def _copy_rows(db: BaseDatabaseWrapper, statement: Sql, width: int) -> Iterator[Rows]:
    """Rows streamed with COPY … TO STDOUT (text format), parsed back into values."""
    copy_sql = compose("COPY ({}) TO STDOUT", statement)
    with db.cursor() as cursor, cursor.cursor.copy(copy_sql.text, copy_sql.params) as copy:
        rows: Rows = []
        for data in copy:
            # One row per message: values separated by tabs, ending in a newline.
            fields = bytes(data)[:-1].split(b"\t")
            if len(fields) != width:
                msg = f"COPY row of {len(fields)} values, expected {width}"
                raise RuntimeError(msg)
            rows.append(tuple(_copy_value(f) if b"\\" in f else f for f in fields))
            if len(rows) == CHUNK_ROWS:
                yield rows
                rows = []
        if rows:
            yield rows


_COPY_ESCAPES = {
    ord(k): v
    for k, v in {"b": b"\b", "f": b"\f", "n": b"\n", "r": b"\r", "t": b"\t", "v": b"\v"}.items()
}


def _copy_value(field: bytes) -> bytes | None:
    r"""A value of COPY's text format: ``\N`` is NULL, backslash sequences are characters."""
    if field == b"\\N":
        return None
    out = bytearray()
    position = 0
    while (found := field.find(b"\\", position)) >= 0:
        out += field[position:found]
        following = field[found + 1 : found + 2]
        out += _COPY_ESCAPES.get(following[0], following) if following else b"\\"
        position = found + 2
    out += field[position:]
    return bytes(out)


@dataclass
class Snapshot:
    """Readers that all see the registry as of one moment: ``main`` for the counts, ``sheets``
    for the sheets. ``parallel`` when each has a connection of its own (the sheets can be read
    at once, on threads); otherwise they all are the caller's connection."""

    main: Reader
    sheets: list[Reader]
    parallel: bool


@contextmanager
def read_snapshot(sheets: int = 2) -> Iterator[Snapshot]:
    """Connections for an export that all see the registry as of one moment.

    Outside a transaction the export reads on connections of its own, read-only, in one
    snapshot: PostgreSQL exports the first transaction's snapshot to the others
    (``pg_export_snapshot``); SQLite starts them all while a moment's write lock keeps writers
    out (in WAL mode readers never block writers after that). The caller's connection stays
    free, so a progress callback that records progress commits at once. Inside the caller's
    transaction (a job that wraps its work, the tests) the export reads there instead, one
    sheet after the other: another connection would not see its uncommitted rows.
    """
    if connection.in_atomic_block:
        reader = Reader(connection)
        yield Snapshot(reader, [reader] * sheets, parallel=False)
        return
    opened: list[BaseDatabaseWrapper] = []
    try:
        if connection.vendor == "postgresql":
            main = _open(opened)
            with main.cursor() as cursor:
                cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot_id = cursor.fetchone()[0]
            for _ in range(sheets):
                with _open(opened).cursor() as cursor:
                    cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot_id])
        else:
            lock = connection.copy()
            try:
                with lock.cursor() as cursor:
                    cursor.execute("BEGIN IMMEDIATE")  # no commit until every reader has begun
                for _ in range(sheets + 1):
                    with _open(opened).cursor() as cursor:
                        # Pages stream past once: a small cache, and no memory map (whose
                        # pages would count as the process's memory), at the same speed.
                        cursor.execute("PRAGMA mmap_size = 0")
                        cursor.execute("PRAGMA cache_size = -8000")
                        cursor.execute("BEGIN DEFERRED")
                        # The first read fixes the snapshot.
                        cursor.execute("SELECT COUNT(*) FROM sqlite_master")
                with lock.cursor() as cursor:
                    cursor.execute("ROLLBACK")
            finally:
                lock.close()
        readers = [Reader(db) for db in opened]
        for db in opened:
            db.inc_thread_sharing()  # the sheet threads use them; this thread waits meanwhile
        yield Snapshot(readers[0], readers[1:], parallel=True)
    finally:
        for db in opened:
            try:
                if db.allow_thread_sharing:
                    db.dec_thread_sharing()
                if db.connection is not None:
                    # Nothing was written; this ends the snapshot (if it ever began).
                    with suppress(DatabaseError), db.cursor() as cursor:
                        cursor.execute("ROLLBACK")
            finally:
                db.close()


def _open(opened: list[BaseDatabaseWrapper]) -> BaseDatabaseWrapper:
    db = connection.copy()
    opened.append(db)
    return db
