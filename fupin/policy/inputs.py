"""The inputs of an evaluation, read two ways from the same tables.

* ``read_bulk``: one SQL query per table for a whole division subtree. Member facts are counted
  and the yearly records of the year and the two before joined to their household inside the
  database (the expressions of ``criteria`` compiled to SQL), so only one row per household
  crosses into Python. PostgreSQL streams CSV through ``COPY``; SQLite results are read
  straight into Arrow columns by the ADBC SQLite driver (no Python object per value, and no
  lock on the interpreter while it reads) when the database is a file and no transaction is
  open here, else fetched with Django's cursor. Each query becomes a polars frame. Outside a
  transaction the queries run side by side on connections of their own.
* ``read_household``: the ORM rows of one household, as plain dicts with the same column names
  and units (birth dates as ISO text, amounts in yuan), for the explanation.
"""

import hashlib
import io
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.db import connection, connections

from fupin.divisions.models import Division
from fupin.policy.criteria import (
    BORN,
    MEMBER_COUNTS,
    RECORD_CONDITIONS,
    RECORD_FACTS,
    RECORD_YEARS,
)
from fupin.policy.expressions import ParameterValues, SqlContext, count_sql
from fupin.policy.models import HousingRenovation
from fupin.policy.parameters import reference_day
from fupin.registry.models import Household, Member, YearlyRecord

logger = logging.getLogger(__name__)

MONEY_FIELDS = (
    "wage_income",
    "business_income",
    "property_income",
    "transfer_income",
    "business_cost",
    "excluded_income",
)
FLAG_FIELDS = ("safe_water", "food_secure", "clothing_secure")
PG_WORK_MEM = "SET work_mem = '128MB'"
CONDITION_TYPES: dict[str, Any] = {
    "grade": pl.String,
    "water": pl.Int64,
    "food": pl.Int64,
    "clothing": pl.Int64,
}


def with_year(params: ParameterValues, year: int) -> ParameterValues:
    """The parameters plus the evaluation year, which the member facts read."""
    return ParameterValues({**params.values, "year": year})


# --- Bulk --------------------------------------------------------------------------------------


@dataclass
class BulkInputs:
    # id, status, standard, main_cause, division_id + the record facts size_k, net_k
    # (k = 0, 1, 2 years back) and the conditions of year 0 (null without a record)
    households: pl.DataFrame
    members: pl.DataFrame  # household_id + one count per MEMBER_COUNTS
    renovated: pl.DataFrame  # household_id
    divisions: pl.DataFrame  # id, code, name, level, path, rural_population


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _tables() -> dict[str, str]:
    return {
        "household": _qn(Household._meta.db_table),
        "member": _qn(Member._meta.db_table),
        "record": _qn(YearlyRecord._meta.db_table),
        "division": _qn(Division._meta.db_table),
        "renovation": _qn(HousingRenovation._meta.db_table),
    }


def _member_columns() -> dict[str, str]:
    # ISO text on both: SQLite stores dates so (a plain comparison, no conversion per row).
    birth = (
        "TO_CHAR(m.birth_date, 'YYYY-MM-DD')"
        if connection.vendor == "postgresql"
        else "m.birth_date"
    )
    return {
        "birth": birth,
        "schooling": "m.schooling",
        "health": "m.health",
        "labour": "m.labour",
        "basic_medical": "m.basic_medical",
    }


def _record_columns(alias: str) -> dict[str, str]:
    names = (*MONEY_FIELDS, "household_size", "housing_grade")
    columns = {name: f"{alias}.{name}" for name in names}
    for name in FLAG_FIELDS:
        # Flags as 0/1 (SQLite stores them so).
        columns[name] = (
            f"CAST({alias}.{name} AS INTEGER)"
            if connection.vendor == "postgresql"
            else f"{alias}.{name}"
        )
    return columns


# Every SQL text below is built from table and column names of the models' metadata and from
# expressions compiled with %s placeholders; no value is ever formatted into it (hence S608).


def scope_filter(column: str, path: str | None) -> tuple[str, list[Any]]:
    """SQL that keeps rows whose household lies in the division subtree at ``path``."""
    if path is None:
        return "", []
    t = _tables()
    sql = (
        f" AND {column} IN (SELECT sh.id FROM {t['household']} sh JOIN {t['division']} sd "  # noqa: S608
        "ON sd.id = sh.division_id WHERE sd.path >= %s AND sd.path < %s)"
    )
    return sql, [path, path[:-1] + "0"]


def fetch_frame(sql: str, params: list[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """Run one query into a polars frame with the given column types (in the query's order)."""
    if connection.vendor == "postgresql":
        buffer = io.BytesIO()
        copy_sql = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"
        with connection.cursor() as cursor:
            # Room to aggregate 350,000 households in memory (a hash, not a sort on disk).
            cursor.execute(PG_WORK_MEM)
            try:
                with cursor.cursor.copy(copy_sql, params) as copy:
                    for data in copy:
                        buffer.write(data)
            finally:
                cursor.execute("RESET work_mem")
        if not buffer.getbuffer().nbytes:
            return pl.DataFrame(schema=schema)
        return pl.read_csv(buffer.getvalue(), has_header=False, schema=schema)
    path = _sqlite_file()
    if path:
        try:
            return sqlite_arrow_frame(path, sql, params, schema)
        except Exception as exc:  # any failure of the driver: the cursor reads it instead
            logger.warning("ADBC read failed, reading with the cursor instead: %s", exc)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return pl.DataFrame(rows, schema=schema, orient="row")


def _sqlite_file() -> str:
    """The SQLite database file when another connection may read it: none inside a transaction
    (it would not see the uncommitted rows) nor for an in-memory database."""
    name = str(connection.settings_dict["NAME"] or "")
    if connection.in_atomic_block or not name or ":memory:" in name or "mode=memory" in name:
        return ""
    return name


# Rows per Arrow batch: the ADBC driver infers each column's type from the first batch, so a
# column that is null for many leading rows (e.g. no record of the year) needs a large one.
ARROW_BATCH_ROWS = 65_536
# Wait up to 10 s for a lock, as Django's connections do.
SQLITE_BUSY_TIMEOUT = "PRAGMA busy_timeout = 10000"


def sqlite_arrow_frame(
    path: str, sql: str, params: list[Any], schema: dict[str, Any]
) -> pl.DataFrame:
    """One query on the SQLite file at ``path`` through the ADBC driver, into a polars frame with
    ``schema``'s names and types. Raises when the driver cannot read it (e.g. a column null in
    its whole first batch, then text: the caller falls back to the cursor)."""
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    with adbc_sqlite.connect(path) as conn, conn.cursor() as cursor:
        # Wait for a lock as Django's connections do (a new connection setting up WAL, a
        # checkpoint) instead of failing at once.
        cursor.execute(SQLITE_BUSY_TIMEOUT)
        cursor.fetch_arrow()
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(ARROW_BATCH_ROWS)})
        cursor.execute(sql.replace("%s", "?"), params)
        frame = pl.DataFrame(cursor.fetch_arrow())
    if frame.width != len(schema):
        raise ValueError(f"{frame.width} columns read, {len(schema)} expected")
    frame.columns = list(schema)
    return frame.cast(pl.Schema(schema))


HOUSEHOLD_SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "status": pl.String,
    "standard": pl.String,
    "main_cause": pl.String,
    "division_id": pl.Int64,
}
DIVISION_SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "code": pl.String,
    "name": pl.String,
    "level": pl.String,
    "path": pl.String,
    "rural_population": pl.Int64,
}


def _households(year: int, path: str | None, params: ParameterValues) -> pl.DataFrame:
    """One row per household: its own columns, then the record facts of the year and the two
    before, side by side (one indexed join per year, each fact computed once)."""
    t = _tables()
    columns = ["h.id", "h.status", "h.standard", "h.main_cause", "h.division_id"]
    values: list[Any] = []
    joins: list[str] = []
    join_values: list[Any] = []
    schema = dict(HOUSEHOLD_SCHEMA)
    for k in RECORD_YEARS:
        alias = f"r{k}"
        ctx = SqlContext(_record_columns(alias), params)
        facts = dict(RECORD_FACTS) | (RECORD_CONDITIONS if k == 0 else {})
        for name, expr in facts.items():
            text, bound = expr.to_sql(ctx)
            columns.append(f"{text} AS {name}_{k}")
            values += bound
            schema[f"{name}_{k}"] = CONDITION_TYPES.get(name, pl.Int64)
        joins.append(
            f" LEFT JOIN {t['record']} {alias} ON {alias}.household_id = h.id"
            f" AND {alias}.survey_year = %s"
        )
        join_values.append(year - k)
    sql = f"SELECT {', '.join(columns)} FROM {t['household']} h{''.join(joins)}"  # noqa: S608
    if path is None:
        return fetch_frame(sql, values + join_values, schema)
    sql += f" JOIN {t['division']} d ON d.id = h.division_id WHERE d.path >= %s AND d.path < %s"
    return fetch_frame(sql, values + join_values + [path, path[:-1] + "0"], schema)


def _member_counts(path: str | None, params: ParameterValues) -> pl.DataFrame:
    """One row per household: how many active members satisfy each of MEMBER_COUNTS."""
    ctx = SqlContext(_member_columns(), params)
    counts: list[str] = []
    values: list[Any] = []
    for name, predicate in MEMBER_COUNTS.items():
        text, bound = count_sql(predicate, ctx)
        counts.append(f"{text} AS {name}")
        values += bound
    born, born_values = BORN.to_sql(ctx)
    where, where_values = scope_filter("m.household_id", path)
    sql = (
        f"SELECT m.household_id, {', '.join(counts)} FROM {_tables()['member']} m "  # noqa: S608
        f"WHERE m.is_active AND {born}{where} GROUP BY m.household_id"
    )
    schema = {"household_id": pl.Int64} | dict.fromkeys(MEMBER_COUNTS, pl.Int64)
    return fetch_frame(sql, values + born_values + where_values, schema)


def run_reads(tasks: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run independent reads: in threads, each with a database connection of its own, when no
    transaction is open here (inside one, other connections would not see its uncommitted rows);
    else one after the other. The database does the heavy part of each query, so on two cores
    the reads overlap."""
    if connection.in_atomic_block or len(tasks) < 2:
        return {key: task() for key, task in tasks.items()}

    def call(task: Callable[[], Any]) -> Any:
        try:
            return task()
        finally:
            connections.close_all()  # this thread's own connections

    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="policy-read") as pool:
        futures = {key: pool.submit(call, task) for key, task in tasks.items()}
        return {key: future.result() for key, future in futures.items()}


def read_bulk(
    year: int, path: str | None, params: ParameterValues, *, with_version: bool = False
) -> tuple[BulkInputs, str]:
    """Every household of the subtree at ``path`` (None: the whole registry) with its facts,
    and the data version of what was read (with ``with_version``; else "")."""
    t = _tables()
    params = with_year(params, year)
    where, where_values = scope_filter("v.household_id", path)
    renovated_sql = (
        f"SELECT DISTINCT v.household_id FROM {t['renovation']} v "  # noqa: S608
        f"WHERE v.accepted_on <= %s{where}"
    )
    division_sql = (
        f"SELECT d.id, d.code, d.name, d.level, d.path, d.rural_population FROM {t['division']} d"  # noqa: S608
    )
    tasks: dict[str, Callable[[], Any]] = {
        # The longest first: they start while the others queue.
        "households": lambda: _households(year, path, params),
        "members": lambda: _member_counts(path, params),
        "renovated": lambda: fetch_frame(
            renovated_sql, [reference_day(year), *where_values], {"household_id": pl.Int64}
        ),
        "divisions": lambda: fetch_frame(division_sql, [], DIVISION_SCHEMA),
    }
    if with_version:
        tasks["version"] = lambda: data_version(year, path)
    done = run_reads(tasks)
    inputs = BulkInputs(done["households"], done["members"], done["renovated"], done["divisions"])
    return inputs, done.get("version", "")


def data_version(year: int, path: str | None) -> str:
    """A fingerprint of everything an evaluation of ``year`` over the subtree reads: row counts
    and latest change times of households, members, the three yearly records, renovations,
    and the divisions' population figures. Equal fingerprints mean equal inputs (short of an
    edit that keeps a row's time stamp, which the services never do)."""
    t = _tables()
    parts: list[str] = []
    tables: list[tuple[str, str, str, list[Any]]] = [
        (t["household"], "x.id", "", []),
        (t["member"], "x.household_id", "", []),
        (t["record"], "x.household_id", " AND x.survey_year BETWEEN %s AND %s", [year - 2, year]),
        (t["renovation"], "x.household_id", "", []),
    ]
    with connection.cursor() as cursor:
        for table, column, extra, extra_values in tables:
            where, values = scope_filter(column, path)
            sql = (
                f"SELECT COUNT(*), MAX(x.updated_at) FROM {table} x "  # noqa: S608
                f"WHERE 1 = 1{extra}{where}"
            )
            cursor.execute(sql, extra_values + values)
            count, latest = cursor.fetchone()
            parts.append(f"{count}:{latest}")
        sql = f"SELECT COUNT(*), SUM(d.rural_population) FROM {t['division']} d"  # noqa: S608
        values = []
        if path is not None:
            sql += " WHERE d.path >= %s AND d.path < %s"
            values = [path, path[:-1] + "0"]
        cursor.execute(sql, values)
        count, total = cursor.fetchone()
        parts.append(f"{count}:{total}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


# --- One household -----------------------------------------------------------------------------


@dataclass
class HouseholdInputs:
    household: Household
    members: list[dict[str, Any]]
    records: dict[int, YearlyRecord]  # survey year → record (the year and two before)
    renovation: HousingRenovation | None  # the latest accepted by the reference day
    province: str


def read_household(household: Household, year: int) -> HouseholdInputs:
    """The rows of one household that an evaluation of ``year`` reads (three small queries)."""
    members = [
        {
            "name": m["name"],
            "birth_date": m["birth_date"],
            "birth": m["birth_date"].isoformat(),
            "schooling": m["schooling"],
            "health": m["health"],
            "labour": m["labour"],
            "basic_medical": m["basic_medical"],
        }
        for m in Member.objects.filter(household=household, is_active=True)
        .order_by("id")
        .values("name", "birth_date", "schooling", "health", "labour", "basic_medical")
    ]
    records = {
        r.survey_year: r
        for r in YearlyRecord.objects.filter(
            household=household, survey_year__in=[year - k for k in RECORD_YEARS]
        )
    }
    renovation = (
        HousingRenovation.objects.filter(household=household, accepted_on__lte=reference_day(year))
        .order_by("-accepted_on", "-id")
        .first()
    )
    province = household.division.path.split("/", 1)[0]
    return HouseholdInputs(household, members, records, renovation, province)


def record_row(record: YearlyRecord) -> dict[str, Any]:
    """A yearly record as the record facts read it (amounts in yuan, flags as booleans)."""
    row: dict[str, Any] = {name: getattr(record, name) for name in MONEY_FIELDS}
    row["household_size"] = record.household_size
    row["housing_grade"] = record.housing_grade
    for name in FLAG_FIELDS:
        row[name] = bool(getattr(record, name))
    return row
