"""The SQLite reads through the ADBC driver give the same frames as Django's cursor, and fall
back to the cursor when the driver cannot read a query."""

import logging
import sqlite3
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fupin.policy import inputs
from fupin.policy.inputs import ARROW_BATCH_ROWS, fetch_frame, sqlite_arrow_frame

SCHEMA: dict[str, Any] = {
    "household_id": pl.Int64,
    "grade": pl.String,
    "net": pl.Int64,
    "water": pl.Int64,
}
QUERY = (
    "SELECT household_id, grade, CAST(ROUND(income * 100) AS BIGINT) AS net, water "
    "FROM record WHERE year = %s ORDER BY household_id"
)
ROWS = st.lists(
    st.tuples(
        st.sampled_from([None, "A", "B", "C", "D", "危房"]),
        st.one_of(st.none(), st.decimals(min_value=0, max_value=10**6, places=2)),
        st.sampled_from([None, 0, 1]),
        st.sampled_from([2019, 2020]),
    ),
    max_size=60,
)


def make_database(path: Path, rows: list[tuple[Any, ...]]) -> None:
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE IF EXISTS record")
        db.execute(
            "CREATE TABLE record (household_id INTEGER, grade TEXT, income NUMERIC, "
            "water BOOL, year INTEGER)"
        )
        db.executemany(
            "INSERT INTO record VALUES (?, ?, ?, ?, ?)",
            [
                (i, grade, None if income is None else str(income), water, year)
                for i, (grade, income, water, year) in enumerate(rows)
            ],
        )


def cursor_frame(path: Path, sql: str, params: list[Any]) -> pl.DataFrame:
    with sqlite3.connect(path) as db:
        rows = db.execute(sql.replace("%s", "?"), params).fetchall()
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=ROWS)
def test_the_driver_reads_what_the_cursor_reads(tmp_path: Path, rows: list[tuple[Any, ...]]):
    path = tmp_path / "reads.sqlite3"
    make_database(path, rows)
    read = sqlite_arrow_frame(str(path), QUERY, [2020], SCHEMA)
    assert read.schema == pl.Schema(SCHEMA)
    assert read.equals(cursor_frame(path, QUERY, [2020]))


def test_a_text_column_null_for_a_whole_first_batch_is_refused_by_the_driver(tmp_path: Path):
    path = tmp_path / "late.sqlite3"
    rows = [(None, 1, 1, 2020)] * ARROW_BATCH_ROWS + [("A", 1, 1, 2020)]
    make_database(path, rows)
    with pytest.raises(Exception):  # noqa: B017 (the driver's own error type)
        sqlite_arrow_frame(str(path), QUERY, [2020], SCHEMA)


@pytest.mark.django_db
def test_fetch_frame_falls_back_to_the_cursor_when_the_driver_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    # The same rows in the test database (which the cursor reads) and in a file the driver
    # reads and cannot type: the first batch's grades are all null.
    rows = [(None, 1, 1, 2020)] * ARROW_BATCH_ROWS + [("A", 2, 0, 2020)]
    path = tmp_path / "late.sqlite3"
    make_database(path, rows)
    if connection.vendor != "sqlite":
        pytest.skip("the driver reads SQLite only")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE record (household_id INTEGER, grade TEXT, income NUMERIC, "
            "water BOOL, year INTEGER)"
        )
        cursor.executemany(
            "INSERT INTO record VALUES (%s, %s, %s, %s, %s)",
            [(i, *row) for i, row in enumerate(rows)],
        )
    monkeypatch.setattr(inputs, "_sqlite_file", lambda: str(path))
    with caplog.at_level(logging.WARNING, logger="fupin.policy.inputs"):
        frame = fetch_frame(QUERY, [2020], SCHEMA)
    assert "ADBC read failed" in caplog.text
    assert frame.height == ARROW_BATCH_ROWS + 1
    assert frame["grade"].to_list()[-1] == "A" and frame["net"].to_list()[-1] == 200


@pytest.mark.django_db
def test_no_driver_read_inside_a_transaction_or_for_an_in_memory_database():
    # pytest-django runs this test in a transaction on an in-memory SQLite database (or on
    # PostgreSQL): either way another connection would not see its rows.
    assert inputs._sqlite_file() == ""
