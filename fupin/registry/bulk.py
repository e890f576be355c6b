"""Bulk upsert of households, their members and yearly records (the import's writer).

The registry services write one household at a time; an import writes hundreds of thousands.
``registry_bulk_upsert`` takes validated frames of households (with the facts of one survey
year) and their members, compares them with the registry, and writes the differences with
``executemany`` (SQLite) or ``COPY`` (PostgreSQL), leaving the database as the services would:

- a household is **created**, **updated** (any fact, its record for the survey year or any
  member differs) or **unchanged**; its ``head_name`` (and pinyin initials) follows the head
  member; other years' records are kept;
- members are matched by person (the first 18 characters of the id number) within the
  household; an active member absent from the household's rows leaves (``is_active`` False,
  ``left_on`` today); a person active in another household of the same call moves: the old row
  leaves with the services' reason "moved to household …", a new row joins;
- every change writes the audit event the services write (same action, entity, key and
  before/after shape), attributed to ``source``; unchanged rows write nothing at all.

It trusts its input: validation (codes, ranges, one head, sizes, scope, people in other
households) happens before, and a person active in a household outside the call makes the
database refuse the insert (``member_one_active_household``). Money arrives in fen (Int64),
farmland in hundredths of a mu, and is stored as yuan. Columns named in ``keep`` were absent
from the source: existing rows keep their values, new rows get the default.
"""

import datetime as dt
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import polars as pl
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from fupin.core.audit import ChangeSource
from fupin.core.bulk import insert_frame, table_and_columns
from fupin.core.models import AuditEvent
from fupin.divisions.models import Division
from fupin.registry.models import Household, Member, YearlyRecord
from fupin.registry.pinyin import name_initials
from fupin.registry.validation import MEMBER_FIELDS, RECORD_FIELDS

# Household facts compared and written (``head_name`` follows the head member).
HOUSEHOLD_FIELDS = (
    "division_id",
    "head_name",
    "phone",
    "identified_year",
    "standard",
    "category",
    "main_cause",
    "other_causes",
    "status",
    "exit_year",
)
# The keys of the services' household snapshot (``division_code`` stands for ``division_id``).
HOUSEHOLD_SNAPSHOT = ("division_code", *HOUSEHOLD_FIELDS[1:])
RECORD_VALUE_FIELDS = tuple(f for f in RECORD_FIELDS if f != "survey_year")
MONEY_FIELDS = (
    "wage_income",
    "business_income",
    "property_income",
    "transfer_income",
    "business_cost",
    "excluded_income",
    "farmland_mu",
)
# Columns that may be absent from a source (optional in the exchange format) and their default.
HOUSEHOLD_DEFAULTS: dict[str, Any] = {"phone": "", "other_causes": [], "exit_year": None}
RECORD_DEFAULTS: dict[str, Any] = {
    "excluded_income": 0,
    "farmland_mu": None,
    "has_electricity": None,
}
MEMBER_DEFAULTS: dict[str, Any] = {
    "ethnicity": "",
    "education": "",
    "schooling": "",
    "work_place": "",
    "work_months": None,
    "critical_illness": None,
    "pension": None,
    "dibao": None,
    "tekun": None,
}

HOUSEHOLD_SCHEMA: dict[str, Any] = {
    "household_no": pl.String,
    "division_id": pl.Int64,
    "division_code": pl.String,
    "division_path": pl.String,
    "head_name": pl.String,
    "phone": pl.String,
    "identified_year": pl.Int64,
    "standard": pl.String,
    "category": pl.String,
    "main_cause": pl.String,
    "other_causes": pl.List(pl.String),
    "status": pl.String,
    "exit_year": pl.Int64,
    "survey_year": pl.Int64,
    "household_size": pl.Int64,
    **dict.fromkeys(MONEY_FIELDS, pl.Int64),
    "housing_grade": pl.String,
    "safe_water": pl.Boolean,
    "food_secure": pl.Boolean,
    "clothing_secure": pl.Boolean,
    "has_electricity": pl.Boolean,
}
MEMBER_SCHEMA: dict[str, Any] = {
    "household_no": pl.String,
    "name": pl.String,
    "id_number": pl.String,
    "person_key": pl.String,
    "sex": pl.String,
    "birth_date": pl.Date,
    "relation": pl.String,
    "health": pl.String,
    "labour": pl.String,
    "basic_medical": pl.Boolean,
    "ethnicity": pl.String,
    "education": pl.String,
    "schooling": pl.String,
    "work_place": pl.String,
    "work_months": pl.Int64,
    "critical_illness": pl.Boolean,
    "pension": pl.Boolean,
    "dibao": pl.Boolean,
    "tekun": pl.Boolean,
}
# Rows per executemany call of an update (inserts: fupin.core.bulk.FRAME_CHUNK).
WRITE_CHUNK = 20_000
# Values per IN list (SQLite allows 250,000 variables; PostgreSQL takes one array).
KEYS_PER_QUERY = 20_000
# Rows fetched at a time when a whole table is read.
FETCH_CHUNK = 100_000
# A table with fewer rows than this many times the keys is read whole rather than probed.
SCAN_FACTOR = 8


@dataclass
class BulkCounts:
    """What an upsert did (or, without writing, would do)."""

    households_created: int = 0
    households_updated: int = 0
    households_unchanged: int = 0
    members_created: int = 0
    members_updated: int = 0
    members_unchanged: int = 0
    members_left: int = 0
    members_moved: int = 0  # also counted as created (new row) and left (old row)
    events: int = 0

    def add(self, other: "BulkCounts") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def changed(self) -> bool:
        return bool(self.households_created or self.households_updated)


def registry_bulk_upsert(
    *,
    actor: Any,
    source: ChangeSource,
    households: pl.DataFrame,
    members: pl.DataFrame,
    left_reason: str,
    keep: frozenset[str] = frozenset(),
    write: bool = True,
) -> BulkCounts:
    """Upsert ``households`` (one row each, HOUSEHOLD_SCHEMA) and their ``members`` (all of
    them, MEMBER_SCHEMA, in the order they should join) into the registry; with ``write``
    False, only classify.

    A person active in a household of ``households`` other than the one ``members`` puts them
    in moves; every household a mover leaves must be part of the same call. Runs in one
    transaction (a savepoint inside the caller's). ``left_reason`` is stored for members who
    leave without moving. The caller has checked the actor's rights; ``actor`` is recorded.
    """
    plan = _Plan.build(households, members, keep)
    if write and plan.counts.changed:
        with transaction.atomic():
            plan.counts.events = plan.write(actor, source, left_reason)
    return plan.counts


# --- Reading the registry ---------------------------------------------------------------------


def _in(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """``column IN (…)`` for one chunk of values: an array parameter on PostgreSQL."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def fetch_by_keys(
    sql: str,
    column: str,
    keys: Sequence[Any],
    *,
    before: Sequence[Any] = (),
    after: Sequence[Any] = (),
) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` for all ``keys``: its ``{keys}`` becomes ``column IN (…)`` for a chunk
    of keys at a time; ``before`` and ``after`` are the parameters around that condition."""
    rows: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for begin in range(0, len(keys), KEYS_PER_QUERY):
            condition, values = _in(column, keys[begin : begin + KEYS_PER_QUERY])
            cursor.execute(sql.replace("{keys}", condition), [*before, *values, *after])
            rows.extend(cursor.fetchall())
    return rows


def frame_by_keys(
    sql: str,
    column: str,
    keys: pl.Series,
    schema: dict[str, Any],
    *,
    table: type[models.Model],
    before: Sequence[Any] = (),
) -> pl.DataFrame:
    """The rows of ``sql`` whose ``column`` is one of ``keys``, as a frame of ``schema`` whose
    first column holds the key.

    With many keys for the table's size, one pass over the whole table (``{keys}`` true, the
    rows kept by polars) beats one index probe per key: an import of the whole registry reads
    it once; a village's package probes its few keys.
    """
    keys = keys.drop_nulls().unique()
    if keys.is_empty():
        return pl.DataFrame(schema=schema)
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(id) FROM " + _qn(table))  # noqa: S608 (a table name from _meta)
        size = int(cursor.fetchone()[0] or 0)
    if not size:
        return pl.DataFrame(schema=schema)
    if size > SCAN_FACTOR * len(keys):
        return _frame(fetch_by_keys(sql, column, keys.to_list(), before=before), schema)
    key = next(iter(schema))
    parts = [pl.DataFrame(schema=schema)]
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("{keys}", "1 = 1"), list(before))
        while rows := cursor.fetchmany(FETCH_CHUNK):
            parts.append(_frame(rows, schema))
    return pl.concat(parts).join(keys.to_frame(key), on=key, how="semi")


def _raw_dtype(dtype: Any) -> Any:
    """The type a column arrives in from the database driver (see _frame)."""
    if dtype == pl.Boolean:
        return pl.Boolean if connection.vendor == "postgresql" else pl.Int64
    if dtype == pl.Date or isinstance(dtype, pl.List):
        return pl.String
    return dtype


def _frame(rows: list[tuple[Any, ...]], schema: dict[str, Any]) -> pl.DataFrame:
    """Database rows as a frame of ``schema``: SQLite's 0/1 become booleans, dates selected as
    ISO text become dates, JSON text becomes lists."""
    if not rows:
        return pl.DataFrame(schema=schema)
    raw = pl.DataFrame(
        rows, schema={name: _raw_dtype(dtype) for name, dtype in schema.items()}, orient="row"
    )
    casts = []
    for name, dtype in schema.items():
        column = pl.col(name)
        if dtype == pl.Date:
            casts.append(column.str.to_date("%Y-%m-%d").alias(name))
        elif isinstance(dtype, pl.List):
            casts.append(column.str.json_decode(dtype).alias(name))
        else:
            casts.append(column.cast(dtype).alias(name))
    return raw.select(casts)


def _qn(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _sql_money(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(ROUND({column} * 100) AS BIGINT)"
    return f"CAST(ROUND({column} * 100) AS INTEGER)"


def _sql_text(column: str) -> str:
    return f"CAST({column} AS TEXT)"


def _load_households(numbers: list[str]) -> pl.DataFrame:
    columns = (
        "h.id, h.household_no, h.division_id, h.head_name, h.phone, h.identified_year, "
        "h.standard, h.category, h.main_cause, "
        + _sql_text("h.other_causes")
        + ", h.status, h.exit_year"
    )
    sql = " ".join(["SELECT", columns, "FROM", _qn(Household), "h WHERE {keys}"])
    schema = {"id": pl.Int64, "household_no": pl.String} | {
        f"old_{key}": HOUSEHOLD_SCHEMA[key] for key in HOUSEHOLD_FIELDS
    }
    return _frame(fetch_by_keys(sql, "h.household_no", numbers), schema)


def _load_members(household_ids: list[int]) -> pl.DataFrame:
    public_id = (
        "REPLACE(CAST(m.public_id AS TEXT), '-', '')"
        if connection.vendor == "postgresql"
        else "m.public_id"
    )
    birth = "CAST(m.birth_date AS TEXT)"
    columns = ", ".join(
        birth if key == "birth_date" else f"m.{key}" for key in ("person_key", *MEMBER_FIELDS)
    )
    sql = " ".join(
        [
            "SELECT m.id, m.household_id,",
            public_id + ",",
            columns,
            "FROM",
            _qn(Member),
            "m WHERE m.is_active = %s AND {keys}",
        ]
    )
    schema = {"member_id": pl.Int64, "old_household_id": pl.Int64, "public_id": pl.String} | {
        key if key == "person_key" else f"old_{key}": MEMBER_SCHEMA[key]
        for key in ("person_key", *MEMBER_FIELDS)
    }
    rows = fetch_by_keys(sql, "m.household_id", household_ids, before=[True])
    return _frame(rows, schema)


def _load_records(household_ids: list[int], years: list[int]) -> pl.DataFrame:
    values = ", ".join(
        _sql_money(f"r.{key}") if key in MONEY_FIELDS else f"r.{key}" for key in RECORD_VALUE_FIELDS
    )
    year_condition, year_params = _in("r.survey_year", years)
    sql = " ".join(
        [
            "SELECT r.id, r.household_id, r.survey_year,",
            values,
            "FROM",
            _qn(YearlyRecord),
            "r WHERE {keys} AND",
            year_condition,
        ]
    )
    schema = {"record_id": pl.Int64, "id": pl.Int64, "survey_year": pl.Int64} | {
        f"old_{key}": HOUSEHOLD_SCHEMA[key] for key in RECORD_VALUE_FIELDS
    }
    return _frame(fetch_by_keys(sql, "r.household_id", household_ids, after=year_params), schema)


# --- Classification ---------------------------------------------------------------------------


def _differs(keys: Iterable[str], prefix: str = "old_") -> pl.Expr:
    return pl.any_horizontal([pl.col(k).ne_missing(pl.col(prefix + k)) for k in keys])


def _kept(
    *,
    keys: Iterable[str],
    keep: frozenset[str],
    exists: pl.Expr,
    defaults: dict[str, Any],
    schema: dict[str, Any],
    prefix: str = "old_",
) -> list[pl.Expr]:
    """Absent columns: the existing value where there is one; then the defaults."""
    out = []
    for key in keys:
        if key not in defaults:
            continue
        value = pl.col(key)
        if key in keep:
            value = pl.when(exists).then(pl.col(prefix + key)).otherwise(value)
        default = defaults[key]
        if default is not None:
            value = value.fill_null(pl.lit(default, schema[key]))
        out.append(value.alias(key))
    return out


class _Plan:
    """One call's comparison with the registry and the writes it needs."""

    counts: BulkCounts
    households: (
        pl.DataFrame
    )  # every household with ``id`` (null: new), its record, flags, old values
    members: pl.DataFrame  # the source's members with their match
    leavers: pl.DataFrame  # active members no longer in their household's rows

    @classmethod
    def build(
        cls, households: pl.DataFrame, members: pl.DataFrame, keep: frozenset[str]
    ) -> "_Plan":
        plan = cls()
        hh = households.select([pl.col(k).cast(t) for k, t in HOUSEHOLD_SCHEMA.items()])
        mm = members.select([pl.col(k).cast(t) for k, t in MEMBER_SCHEMA.items()]).with_row_index(
            "seq"
        )
        old_h = _load_households(hh["household_no"].to_list())
        h = hh.join(old_h, on="household_no", how="left")
        exists = pl.col("id").is_not_null()
        h = h.with_columns(
            _kept(
                keys=HOUSEHOLD_FIELDS,
                keep=keep,
                exists=exists,
                defaults=HOUSEHOLD_DEFAULTS,
                schema=HOUSEHOLD_SCHEMA,
            )
        ).with_columns((exists & _differs(HOUSEHOLD_FIELDS)).alias("h_changed"))

        ids = h["id"].drop_nulls().to_list()
        years = h["survey_year"].unique().to_list()
        old_r = _load_records(ids, years)
        h = h.join(old_r, on=["id", "survey_year"], how="left")
        has_record = pl.col("record_id").is_not_null()
        h = h.with_columns(
            _kept(
                keys=RECORD_VALUE_FIELDS,
                keep=keep,
                exists=has_record,
                defaults=RECORD_DEFAULTS,
                schema=HOUSEHOLD_SCHEMA,
            )
        ).with_columns(
            (~has_record).alias("r_new"),
            (has_record & _differs(RECORD_VALUE_FIELDS)).alias("r_changed"),
        )

        old_m = _load_members(ids)
        numbers = h.select(
            pl.col("id").alias("old_household_id"), pl.col("household_no").alias("old_household_no")
        )
        old_m = old_m.join(numbers, on="old_household_id", how="left")

        # Members: the same person in the same household (matched), else a mover from another
        # household of this call, else new.
        m = mm.join(
            old_m.rename({"old_household_no": "household_no"}),
            on=["household_no", "person_key"],
            how="left",
        )
        movers = old_m.select(
            "person_key",
            pl.col("member_id").alias("from_member_id"),
            pl.col("public_id").alias("from_public_id"),
            pl.col("old_household_no").alias("from_household_no"),
            *[pl.col(f"old_{k}").alias(f"from_{k}") for k in MEMBER_FIELDS],
        )
        m = m.join(movers, on="person_key", how="left").with_columns(
            pl.when(pl.col("member_id").is_null())
            .then(pl.col("from_member_id"))
            .alias("from_member_id")
        )
        matched = pl.col("member_id").is_not_null()
        moved_in = pl.col("from_member_id").is_not_null()
        # Absent columns: a matched member keeps its value, a mover brings it along.
        kept = []
        for key, default in MEMBER_DEFAULTS.items():
            value = pl.col(key)
            if key in keep:
                value = (
                    pl.when(matched)
                    .then(pl.col(f"old_{key}"))
                    .when(moved_in)
                    .then(pl.col(f"from_{key}"))
                    .otherwise(value)
                )
            if default is not None:
                value = value.fill_null(pl.lit(default, MEMBER_SCHEMA[key]))
            kept.append(value.alias(key))
        m = m.with_columns(kept).with_columns(
            (matched & _differs(MEMBER_FIELDS)).alias("m_changed")
        )
        m = m.sort("seq")

        leavers = old_m.join(
            mm.select(pl.col("household_no").alias("old_household_no"), "person_key"),
            on=["old_household_no", "person_key"],
            how="anti",
        ).join(
            mm.select("person_key", pl.col("household_no").alias("to_household_no")),
            on="person_key",
            how="left",
        )

        touched = pl.concat(
            [
                m.filter(~matched | pl.col("m_changed")).select("household_no"),
                leavers.select(pl.col("old_household_no").alias("household_no")),
            ]
        ).unique()
        h = h.with_columns(
            pl.when(~exists)
            .then(pl.lit("created"))
            .when(
                pl.col("h_changed")
                | pl.col("r_new")
                | pl.col("r_changed")
                | pl.col("household_no").is_in(touched["household_no"].implode())
            )
            .then(pl.lit("updated"))
            .otherwise(pl.lit("unchanged"))
            .alias("outcome")
        )
        outcome = h["outcome"].value_counts()
        by_outcome = dict(
            zip(outcome["outcome"].to_list(), outcome["count"].to_list(), strict=True)
        )
        n_matched = int(m.select(matched.sum()).item())
        n_changed = int(m["m_changed"].sum())
        plan.counts = BulkCounts(
            households_created=by_outcome.get("created", 0),
            households_updated=by_outcome.get("updated", 0),
            households_unchanged=by_outcome.get("unchanged", 0),
            members_created=m.height - n_matched,
            members_updated=n_changed,
            members_unchanged=n_matched - n_changed,
            members_left=leavers.height,
            members_moved=int(m.select(moved_in.sum()).item()),
        )
        plan.households = h
        plan.members = m
        plan.leavers = leavers
        return plan

    # --- Writing ------------------------------------------------------------------------------

    def write(self, actor: Any, source: ChangeSource, left_reason: str) -> int:
        """Write the differences, in an order the constraints accept; returns the number of
        audit events."""
        now = timezone.now()
        stamp = _stamp(now)
        today = timezone.localdate()
        h = self.households
        new = h.filter(pl.col("outcome") == "created")
        if new.height:
            new_ids = _new_ids(Household, new.height)
            new = new.with_columns(pl.Series("id", new_ids, dtype=pl.Int64))
            h = h.update(new.select("household_no", "id"), on="household_no")
        names = h["head_name"].unique().to_list()
        h = h.with_columns(
            pl.col("head_name")
            .replace_strict({n: name_initials(n) for n in names}, return_dtype=pl.String)
            .alias("head_name_initials")
        )
        ids = h.select("household_no", pl.col("id").alias("household_id"), "division_path")
        m = self.members.join(ids, on="household_no", how="left").sort("seq")
        leavers = self.leavers.join(
            ids.rename(
                {
                    "household_no": "old_household_no",
                    "household_id": "_hid",
                    "division_path": "old_division_path",
                }
            ),
            on="old_household_no",
            how="left",
        ).with_columns(
            pl.when(pl.col("to_household_no").is_not_null())
            .then(_moved_reason(pl.col("to_household_no")))
            .otherwise(pl.lit(left_reason[:100]))
            .alias("left_reason"),
            pl.lit(today).alias("left_on"),
        )

        # 1. New households.
        if new.height:
            created = h.filter(pl.col("outcome") == "created")
            insert_frame(
                Household,
                created.select(
                    "id",
                    pl.lit(stamp).alias("created_at"),
                    pl.lit(stamp).alias("updated_at"),
                    "household_no",
                    pl.col("division_id").alias("division"),
                    "head_name",
                    "head_name_initials",
                    "phone",
                    "identified_year",
                    "standard",
                    "category",
                    "main_cause",
                    _json_list(pl.col("other_causes")).alias("other_causes"),
                    "status",
                    "exit_year",
                ),
            )
        # 2. Members leave (movers first leave their old household).
        if leavers.height:
            _update(
                Member,
                leavers.select(
                    pl.lit(False).alias("is_active"),
                    _date_text(pl.col("left_on")).alias("left_on"),
                    "left_reason",
                    pl.lit(stamp).alias("updated_at"),
                    pl.col("member_id").alias("id"),
                ),
            )
        # 3. Member changes: heads that stop being heads before the new heads.
        changed = m.filter(pl.col("m_changed"))
        if changed.height:
            demoted = (pl.col("old_relation") == "head") & (pl.col("relation") != "head")
            changed = changed.sort(demoted, descending=True, maintain_order=True)
            _update(
                Member,
                changed.select(
                    *[
                        _date_text(pl.col(k)).alias(k) if k == "birth_date" else pl.col(k)
                        for k in MEMBER_FIELDS
                    ],
                    pl.lit(stamp).alias("updated_at"),
                    pl.col("member_id").alias("id"),
                ),
            )
        # 4. New members, in the source's order.
        joining = m.filter(pl.col("member_id").is_null())
        joining = joining.with_columns(
            pl.Series("new_public_id", _uuid_hex(joining.height), dtype=pl.String)
        )
        if joining.height:
            insert_frame(
                Member,
                joining.select(
                    pl.lit(stamp).alias("created_at"),
                    pl.lit(stamp).alias("updated_at"),
                    pl.col("new_public_id").alias("public_id"),
                    pl.col("household_id").alias("household"),
                    "person_key",
                    *[
                        _date_text(pl.col(k)).alias(k) if k == "birth_date" else pl.col(k)
                        for k in MEMBER_FIELDS
                    ],
                    pl.lit(True).alias("is_active"),
                    pl.lit(None, pl.String).alias("left_on"),
                    pl.lit("").alias("left_reason"),
                ),
            )
        # 5. Changed households.
        update_h = h.filter(pl.col("h_changed"))
        if update_h.height:
            _update(
                Household,
                update_h.select(
                    pl.col("division_id").alias("division"),
                    "head_name",
                    "head_name_initials",
                    "phone",
                    "identified_year",
                    "standard",
                    "category",
                    "main_cause",
                    _json_list(pl.col("other_causes")).alias("other_causes"),
                    "status",
                    "exit_year",
                    pl.lit(stamp).alias("updated_at"),
                    "id",
                ),
            )
        # 6. Yearly records.
        record_values = [
            _yuan(pl.col(k)).alias(k) if k in MONEY_FIELDS else pl.col(k)
            for k in RECORD_VALUE_FIELDS
        ]
        new_r = h.filter(pl.col("r_new"))
        if new_r.height:
            insert_frame(
                YearlyRecord,
                new_r.select(
                    pl.lit(stamp).alias("created_at"),
                    pl.lit(stamp).alias("updated_at"),
                    pl.col("id").alias("household"),
                    "survey_year",
                    *record_values,
                ),
            )
        changed_r = h.filter(pl.col("r_changed"))
        if changed_r.height:
            _update(
                YearlyRecord,
                changed_r.select(
                    *record_values,
                    pl.lit(stamp).alias("updated_at"),
                    pl.col("record_id").alias("id"),
                ),
            )
        # 7. The history.
        events = _Events(h, m, joining, leavers, today).frame(actor, source, now)
        if events.height:
            insert_frame(AuditEvent, events)
        return events.height


# --- Audit events -----------------------------------------------------------------------------


def _struct(values: dict[str, pl.Expr]) -> pl.Expr:
    return pl.struct([value.alias(key) for key, value in values.items()])


def _json(**values: pl.Expr) -> pl.Expr:
    return _struct(values).struct.json_encode()


def _fragment(key: str, value: pl.Expr) -> pl.Expr:
    """``"key":value`` as JSON, to join into an object."""
    return _json(**{key: value}).str.strip_prefix("{").str.strip_suffix("}")


def _object(fragments: Sequence[pl.Expr]) -> pl.Expr:
    return pl.concat_str(
        [pl.lit("{"), pl.concat_str(fragments, separator=",", ignore_nulls=True), pl.lit("}")]
    )


def _changed(
    keys: Sequence[str], new: dict[str, pl.Expr], old: dict[str, pl.Expr]
) -> tuple[pl.Expr, pl.Expr]:
    """Before and after holding only the keys whose values differ (``changed_fields``)."""
    befores, afters = [], []
    for key in keys:
        differs = new[key].ne_missing(old[key])
        befores.append(pl.when(differs).then(_fragment(key, old[key])))
        afters.append(pl.when(differs).then(_fragment(key, new[key])))
    return _object(befores), _object(afters)


def _yuan(fen: pl.Expr) -> pl.Expr:
    """Int64 hundredths → ``"1234.50"`` (the text the services' snapshots and the database
    hold)."""
    return (
        pl.when(fen.is_null())
        .then(None)
        .otherwise(pl.format("{}.{}", fen // 100, (fen % 100).cast(pl.String).str.zfill(2)))
    )


def _date_text(date: pl.Expr) -> pl.Expr:
    return date.dt.to_string("%Y-%m-%d")


def _json_list(values: pl.Expr) -> pl.Expr:
    """A list of codes as the JSON text ``json.dumps`` writes (codes hold no quotes)."""
    return pl.concat_str(
        [
            pl.lit("["),
            values.list.eval(pl.format('"{}"', pl.element())).list.join(", "),
            pl.lit("]"),
        ]
    )


def _dashed(hexed: pl.Expr) -> pl.Expr:
    """A UUID's 32 hex digits in the 8-4-4-4-12 form ``str(uuid)`` gives."""
    return pl.concat_str(
        [
            hexed.str.slice(0, 8),
            hexed.str.slice(8, 4),
            hexed.str.slice(12, 4),
            hexed.str.slice(16, 4),
            hexed.str.slice(20, 12),
        ],
        separator="-",
    )


def _member_values(prefix: str) -> dict[str, pl.Expr]:
    """The member snapshot's fields (services.member_snapshot) from columns ``prefix + key``."""
    out: dict[str, pl.Expr] = {}
    for key in MEMBER_FIELDS:
        column = pl.col(prefix + key)
        out[key] = _date_text(column) if key == "birth_date" else column
    return out


def _member_snapshot(
    prefix: str, public_id: pl.Expr, active: bool, left_on: pl.Expr, left_reason: pl.Expr
) -> dict[str, pl.Expr]:
    return _member_values(prefix) | {
        "is_active": pl.lit(active),
        "left_on": left_on,
        "left_reason": left_reason,
        "member": _dashed(public_id),
    }


def _record_values(prefix: str) -> dict[str, pl.Expr]:
    out: dict[str, pl.Expr] = {"survey_year": pl.col("survey_year")}
    for key in RECORD_VALUE_FIELDS:
        column = pl.col(prefix + key)
        out[key] = _yuan(column) if key in MONEY_FIELDS else column
    return out


class _Events:
    """The audit events of one write, as one frame of AuditEvent rows."""

    def __init__(
        self,
        h: pl.DataFrame,
        m: pl.DataFrame,
        joining: pl.DataFrame,
        leavers: pl.DataFrame,
        today: dt.date,
    ) -> None:
        self.h, self.m, self.joining, self.leavers, self.today = h, m, joining, leavers, today

    def frame(self, actor: Any, source: ChangeSource, now: dt.datetime) -> pl.DataFrame:
        parts = [
            self._registered(),
            self._household_updates(),
            self._members_added(),
            self._members_updated(),
            self._members_left(),
            self._moves(),
            self._records(),
        ]
        events = (
            pl.concat([p for p in parts if p.height], how="vertical")
            if any(p.height for p in parts)
            else pl.DataFrame()
        )
        if not events.height:
            return events
        actor_id = actor.pk if getattr(actor, "pk", None) else None
        return events.select(
            pl.lit(_stamp(now)).alias("occurred_at"),
            pl.lit(actor_id, pl.Int64).alias("actor"),
            pl.lit(getattr(actor, "username", "") or "").alias("actor_username"),
            "action",
            "entity",
            "entity_key",
            "household_no",
            "division_path",
            "before",
            "after",
            pl.lit(str(source.kind)).alias("source"),
            pl.lit(json.dumps(source.detail, ensure_ascii=False)).alias("source_detail"),
        )

    @staticmethod
    def _event(
        frame: pl.DataFrame,
        action: str,
        key: pl.Expr,
        before: pl.Expr,
        after: pl.Expr,
        *,
        household_no: str = "household_no",
        division_path: str = "division_path",
    ) -> pl.DataFrame:
        """Events of ``action`` (``entity.verb``) for each row of ``frame``."""
        return frame.select(
            pl.lit(action).alias("action"),
            pl.lit(action.split(".", maxsplit=1)[0]).alias("entity"),
            key.alias("entity_key"),
            pl.col(household_no).alias("household_no"),
            pl.col(division_path).alias("division_path"),
            before.alias("before"),
            after.alias("after"),
        )

    def _household_values(self, prefix: str = "") -> dict[str, pl.Expr]:
        return {
            "division_code": pl.col(prefix + "division_code"),
            **{k: pl.col(prefix + k) for k in HOUSEHOLD_FIELDS[1:]},
        }

    def _registered(self) -> pl.DataFrame:
        created = self.h.filter(pl.col("outcome") == "created")
        if not created.height:
            return pl.DataFrame()
        people = (
            self.joining.filter(pl.col("household_no").is_in(created["household_no"].implode()))
            .sort("seq")
            .select(
                "household_no",
                _struct(
                    _member_snapshot(
                        "", pl.col("new_public_id"), True, pl.lit(None, pl.String), pl.lit("")
                    )
                ).alias("snapshot"),
            )
            .group_by("household_no", maintain_order=True)
            .agg(pl.col("snapshot").alias("members"))
        )
        created = created.join(people, on="household_no", how="left")
        after = _json(
            **self._household_values(),
            members=pl.col("members"),
            record=_struct(_record_values("")),
        )
        return self._event(
            created, "household.register", pl.col("household_no"), pl.lit("{}"), after
        )

    def _household_updates(self) -> pl.DataFrame:
        changed = self.h.filter(pl.col("h_changed"))
        if not changed.height:
            return pl.DataFrame()
        codes = dict(
            Division.objects.filter(
                pk__in=changed["old_division_id"].unique().to_list()
            ).values_list("pk", "code")
        )
        changed = changed.with_columns(
            pl.col("old_division_id")
            .replace_strict(codes, default=None, return_dtype=pl.String)
            .alias("old_division_code")
        )
        before, after = _changed(
            HOUSEHOLD_SNAPSHOT, self._household_values(), self._household_values("old_")
        )
        return self._event(changed, "household.update", pl.col("household_no"), before, after)

    def _members_added(self) -> pl.DataFrame:
        added = self.joining.filter(
            pl.col("from_member_id").is_null()
            & pl.col("household_no").is_in(
                self.h.filter(pl.col("outcome") != "created")["household_no"].implode()
            )
        )
        if not added.height:
            return pl.DataFrame()
        after = _json(
            **_member_snapshot(
                "", pl.col("new_public_id"), True, pl.lit(None, pl.String), pl.lit("")
            )
        )
        return self._event(
            added, "member.add", _dashed(pl.col("new_public_id")), pl.lit("{}"), after
        )

    def _members_updated(self) -> pl.DataFrame:
        changed = self.m.filter(pl.col("m_changed"))
        if not changed.height:
            return pl.DataFrame()
        before, after = _changed(MEMBER_FIELDS, _member_values(""), _member_values("old_"))
        return self._event(changed, "member.update", _dashed(pl.col("public_id")), before, after)

    def _members_left(self) -> pl.DataFrame:
        left = self.leavers.filter(pl.col("to_household_no").is_null())
        if not left.height:
            return pl.DataFrame()
        before = _json(
            **_member_snapshot(
                "old_", pl.col("public_id"), True, pl.lit(None, pl.String), pl.lit("")
            )
        )
        after = _json(
            **_member_snapshot(
                "old_",
                pl.col("public_id"),
                False,
                _date_text(pl.col("left_on")),
                pl.col("left_reason"),
            )
        )
        return self._event(
            left,
            "member.leave",
            _dashed(pl.col("public_id")),
            before,
            after,
            household_no="old_household_no",
            division_path="old_division_path",
        )

    def _moves(self) -> pl.DataFrame:
        moved = self.joining.filter(pl.col("from_member_id").is_not_null())
        if not moved.height:
            return pl.DataFrame()
        paths = self.h.select(
            pl.col("household_no").alias("from_household_no"),
            pl.col("division_path").alias("from_division_path"),
        )
        moved = moved.join(paths, on="from_household_no", how="left").sort("seq")
        detail = {
            "person": pl.col("name"),
            "from": pl.col("from_household_no"),
            "to": pl.col("household_no"),
        }
        out_before = _json(
            **_member_snapshot(
                "from_", pl.col("from_public_id"), True, pl.lit(None, pl.String), pl.lit("")
            ),
            household=pl.col("from_household_no"),
        )
        move_out = self._event(
            moved,
            "member.move_out",
            _dashed(pl.col("from_public_id")),
            out_before,
            _json(**detail),
            household_no="from_household_no",
            division_path="from_division_path",
        )
        in_after = _json(
            **_member_snapshot(
                "", pl.col("new_public_id"), True, pl.lit(None, pl.String), pl.lit("")
            ),
            **detail,
        )
        move_in = self._event(
            moved,
            "member.move_in",
            _dashed(pl.col("new_public_id")),
            pl.lit("{}"),
            in_after,
        )
        return pl.concat([move_out, move_in])

    def _records(self) -> pl.DataFrame:
        existing = self.h.filter(pl.col("outcome") != "created")
        key = pl.concat_str(
            [pl.col("household_no"), pl.col("survey_year").cast(pl.String)], separator="/"
        )
        new = _record_values("")
        parts = []
        created = existing.filter(pl.col("r_new"))
        if created.height:
            # changed_fields({}, snapshot) leaves out the keys whose value is None.
            after = _object(
                [pl.when(v.is_not_null()).then(_fragment(k, v)) for k, v in new.items()]
            )
            parts.append(self._event(created, "record.create", key, pl.lit("{}"), after))
        updated = existing.filter(pl.col("r_changed"))
        if updated.height:
            old = _record_values("old_") | {"survey_year": pl.col("survey_year")}
            before, after = _changed(RECORD_FIELDS, new, old)
            parts.append(self._event(updated, "record.update", key, before, after))
        return pl.concat(parts) if parts else pl.DataFrame()


def _moved_reason(household_no: pl.Expr) -> pl.Expr:
    """The services' reason for a move, in the registry's language."""
    with translation.override(settings.LANGUAGE_CODE):
        text = gettext("moved to household %(no)s")
    head, _marker, tail = text.partition("%(no)s")
    return pl.concat_str([pl.lit(head), household_no, pl.lit(tail)]).str.slice(0, 100)


def _uuid_hex(count: int) -> list[str]:
    """``count`` random version-4 UUIDs as 32 hex digits (how Django keeps a UUIDField on
    SQLite; PostgreSQL reads the same text)."""
    raw = bytearray(os.urandom(16 * count))
    for i in range(count):
        raw[16 * i + 6] = (raw[16 * i + 6] & 0x0F) | 0x40
        raw[16 * i + 8] = (raw[16 * i + 8] & 0x3F) | 0x80
    hexed = raw.hex()
    return [hexed[i : i + 32] for i in range(0, len(hexed), 32)]


# --- Writing ----------------------------------------------------------------------------------


def _stamp(now: dt.datetime) -> str:
    """A time as the text the database keeps for a DateTimeField (Django's own adaptation)."""
    value: Any = connection.ops.adapt_datetimefield_value(now)
    return value if isinstance(value, str) else now.isoformat()


def _new_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` primary keys for new rows. PostgreSQL draws them from the table's sequence;
    SQLite continues after the largest (the write transaction holds the database's write lock,
    so no one else inserts meanwhile)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        # After the largest id ever given (AUTOINCREMENT keeps it), so no id is used twice.
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM " + _qn(model))  # noqa: S608 (table name from _meta)
        largest = int(cursor.fetchone()[0])
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        given = cursor.fetchone()
        first = max(largest, int(given[0]) if given else 0) + 1
    return list(range(first, first + count))


def _update(model: type[models.Model], frame: pl.DataFrame) -> None:
    """``UPDATE … SET <every column but the last> WHERE id = <the last>``, one row at a time
    in the frame's order (executemany)."""
    table, columns = table_and_columns(model, frame.columns[:-1])
    sql = "UPDATE {} SET {} WHERE id = %s".format(  # noqa: S608 (identifiers from _meta)
        table, ", ".join(f"{c} = %s" for c in columns)
    )
    with connection.cursor() as cursor:
        for begin in range(0, frame.height, WRITE_CHUNK):
            cursor.executemany(sql, frame.slice(begin, WRITE_CHUNK).rows())
