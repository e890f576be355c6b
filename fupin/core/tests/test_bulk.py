"""The bulk writer (fupin.core.bulk) against the real database: COPY on PostgreSQL, executemany
on SQLite. Rows go into the code list table (CodeItem) and the audit table (AuditEvent) and are
read back through the ORM."""

import datetime as dt
import re

import numpy as np
import polars as pl
import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from fupin.core import bulk
from fupin.core.models import AuditEvent, CodeItem

pytestmark = pytest.mark.django_db

KEY = "bulk_test"


def read_back() -> list[tuple[object, ...]]:
    return list(
        CodeItem.objects.filter(list_key=KEY)
        .order_by("sort_order")
        .values_list(
            "code", "label_zh", "label_en", "aliases", "valid_from", "valid_to", "sort_order"
        )
    )


def test_table_and_columns_come_quoted_from_the_model():
    qn = connection.ops.quote_name
    table, columns = bulk.table_and_columns(AuditEvent, ["actor", "actor_id", "entity_key"])
    assert table == qn("core_auditevent") == qn(AuditEvent._meta.db_table)
    assert columns == [qn("actor_id"), qn("actor_id"), qn("entity_key")]


def test_table_and_columns_refuse_an_unknown_field():
    from django.core.exceptions import FieldDoesNotExist

    with pytest.raises(FieldDoesNotExist):
        bulk.table_and_columns(CodeItem, ["code", "code; DROP TABLE core_codeitem"])


def test_insert_rows_takes_arrays_lists_tuples_and_constants_across_chunks():
    total = 7
    written = bulk.insert_rows(
        CodeItem,
        {
            "list_key": KEY,  # a constant
            "code": np.array([f"c{i}" for i in range(total)], dtype=object),
            "label_zh": [f"标签{i}" for i in range(total)],
            "label_en": tuple(f"label {i}" for i in range(total)),
            "aliases": "",
            "valid_from": bulk.date_value(dt.date(2016, 1, 1)),
            "valid_to": np.array(
                [None if i % 2 else bulk.date_value(dt.date(2020, 12, 31)) for i in range(total)],
                dtype=object,
            ),
            "sort_order": np.arange(10, 10 + total, dtype=np.int64),
        },
        total,
        chunk=3,  # 3 + 3 + 1 rows: every kind of value is sliced at the chunk borders
    )
    assert written == total
    assert read_back() == [
        (
            f"c{i}",
            f"标签{i}",
            f"label {i}",
            "",
            dt.date(2016, 1, 1),
            None if i % 2 else dt.date(2020, 12, 31),
            10 + i,
        )
        for i in range(total)
    ]


def test_insert_rows_writes_times_nulls_and_json_text():
    before = timezone.now()
    now = bulk.now_value()
    bulk.insert_rows(
        AuditEvent,
        {
            "occurred_at": now,
            "actor": None,
            "actor_username": "",
            "action": "bulk.test",
            "entity": "bulk",
            "entity_key": ["k1", "k2"],
            "household_no": "",
            "division_path": "",
            "before": "{}",
            "after": ['{"n": 1}', '{"n": 2, "名": "王"}'],
            "source": AuditEvent.Source.COMMAND.value,
            "source_detail": '{"command": "test"}',
        },
        2,
    )
    events = list(AuditEvent.objects.filter(action="bulk.test").order_by("entity_key"))
    assert [e.entity_key for e in events] == ["k1", "k2"]
    assert [e.after for e in events] == [{"n": 1}, {"n": 2, "名": "王"}]
    assert all(e.actor_id is None and e.before == {} for e in events)
    assert all(e.source_detail == {"command": "test"} for e in events)
    assert all(abs(e.occurred_at - before) < dt.timedelta(minutes=1) for e in events)


def test_insert_rows_of_nothing_writes_nothing():
    count = CodeItem.objects.count()
    assert bulk.insert_rows(CodeItem, {"list_key": KEY, "code": []}, 0) == 0
    assert CodeItem.objects.count() == count


def test_insert_frame_writes_a_polars_frame():
    total = 5
    frame = pl.DataFrame(
        {
            "list_key": [KEY] * total,
            "code": [f"f{i}" for i in range(total)],
            "label_zh": ["含,逗号", '含"引号', "多\n行", "", "普通"],
            "label_en": [f"frame {i}" for i in range(total)],
            "aliases": ["a|b", "", "", "", ""],
            "valid_from": ["2014-01-01"] * total,
            "valid_to": [None, "2015-12-31", None, None, None],
            "sort_order": list(range(total)),
        },
        schema_overrides={"valid_to": pl.Utf8},
    )
    bulk.insert_frame(CodeItem, frame)
    assert read_back() == [
        (
            f"f{i}",
            ["含,逗号", '含"引号', "多\n行", "", "普通"][i],
            f"frame {i}",
            "a|b" if i == 0 else "",
            dt.date(2014, 1, 1),
            dt.date(2015, 12, 31) if i == 1 else None,
            i,
        )
        for i in range(total)
    ]


def test_insert_frame_of_no_rows_writes_nothing():
    count = CodeItem.objects.count()
    frame = pl.DataFrame(
        {"list_key": [], "code": [], "label_zh": [], "label_en": [], "valid_from": []},
        schema=dict.fromkeys(["list_key", "code", "label_zh", "label_en", "valid_from"], pl.Utf8),
    )
    bulk.insert_frame(CodeItem, frame)
    assert CodeItem.objects.count() == count


def test_a_broken_constraint_is_django_s_integrity_error_and_writes_nothing():
    row = {
        "list_key": [KEY, KEY],
        "code": ["same", "same"],
        "label_zh": ["甲", "乙"],
        "label_en": ["a", "b"],
        "aliases": ["", ""],
        "valid_from": ["2016-01-01", "2016-01-01"],
        "sort_order": [1, 2],
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.insert_frame(CodeItem, pl.DataFrame(row))
    # insert_rows leaves the driver's COPY errors unwrapped (as the demo writers always had it).
    raw: tuple[type[Exception], ...] = (IntegrityError,)
    if connection.vendor == "postgresql":
        import psycopg

        raw += (psycopg.IntegrityError,)
    with pytest.raises(raw), transaction.atomic():
        bulk.insert_rows(CodeItem, row, 2)
    assert read_back() == []


def test_bulk_session_widens_sqlite_s_cache_and_restores_it():
    def cache_size() -> int:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            return int(cursor.fetchone()[0])

    if connection.vendor != "sqlite":
        with bulk.bulk_session():
            assert CodeItem.objects.filter(list_key=KEY).count() == 0
        return
    previous = cache_size()
    with bulk.bulk_session():
        assert cache_size() == -bulk.SESSION_CACHE_KIB
    assert cache_size() == previous
    with pytest.raises(RuntimeError), bulk.bulk_session():
        raise RuntimeError
    assert cache_size() == previous


def test_analyze_runs_on_filled_tables():
    bulk.insert_rows(
        CodeItem,
        {
            "list_key": KEY,
            "code": [f"a{i}" for i in range(3)],
            "label_zh": "甲",
            "label_en": "a",
            "aliases": "",
            "valid_from": bulk.date_value(dt.date(2016, 1, 1)),
            "sort_order": 0,
        },
        3,
    )
    bulk.analyze(CodeItem, AuditEvent)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM sqlite_stat1 WHERE tbl = %s", [CodeItem._meta.db_table])
            assert cursor.fetchone() is not None


def test_uuid_values_are_version_4_and_follow_the_generator():
    values = bulk.uuid_values(50, np.random.default_rng(7))
    assert len(set(values)) == 50
    assert all(re.fullmatch(r"[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}", v) for v in values)
    assert values == bulk.uuid_values(50, np.random.default_rng(7))
    assert bulk.uuid_values(0) == []
