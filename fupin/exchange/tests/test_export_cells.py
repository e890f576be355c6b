"""The database renders cells by the same rules as their Python reference (export_cells):
text in CSV and XLSX, masks, and the literal inlining SQLite statements use."""

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fupin.core.code_lists import code_lists
from fupin.core.masking import mask_id_number, mask_phone
from fupin.exchange.export_cells import (
    ROW,
    CsvCells,
    Dialect,
    Sql,
    XlsxCells,
    csv_text,
    csv_unquote_text,
    inline_sqlite,
    value,
    xlsx_finish,
    xlsx_text_cell,
)
from fupin.exchange.export_query import LABEL_LISTS

pytestmark = pytest.mark.django_db

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Any text a database keeps: no NUL (PostgreSQL refuses it) and no lone surrogates.
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30)
AWKWARD_TEXT = st.one_of(
    TEXT,
    st.text(alphabet="=+-@'\",\r\n\t \x01\x0b\x1f&<>_x0041王", max_size=12),
)


def evaluate(expr: Sql) -> str | None:
    statement = Sql("SELECT " + expr.text, expr.params)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(inline_sqlite(statement))
        else:
            cursor.execute(statement.text, statement.params)
        result = cursor.fetchone()[0]
    return None if result is None else str(result)


@pytest.fixture
def cells(db):
    labels = code_lists(*LABEL_LISTS)
    dialect = Dialect(connection.vendor)
    strings: dict[str, int] = {}
    return {
        "csv": CsvCells(dialect, labels, masked=False),
        "xlsx": XlsxCells(
            dialect,
            labels,
            masked=False,
            string=lambda s: strings.setdefault(s, len(strings)),
        ),
        "dialect": dialect,
    }


@SETTINGS
@given(text=AWKWARD_TEXT)
def test_sql_csv_text_is_the_python_rule(cells, text):
    rendered = evaluate(cells["csv"].text(1, value(text)))
    assert (rendered or "") == csv_text(text)


@SETTINGS
@given(text=AWKWARD_TEXT)
def test_sql_xlsx_text_is_the_python_rule(cells, text):
    rendered = evaluate(cells["xlsx"].text(1, value(text)))
    if not text:
        assert rendered is None
        return
    assert rendered is not None
    finished = xlsx_finish(rendered.encode("utf-8")).decode("utf-8")
    assert finished == xlsx_text_cell("B" + ROW, text)


@SETTINGS
@given(text=st.text(alphabet="0123456789X-", max_size=24))
def test_sql_masks_are_the_masking_module(cells, text):
    dialect = cells["dialect"]
    assert (evaluate(dialect.mask(value(text), 4, 4)) or "") == mask_id_number(text)
    assert (evaluate(dialect.mask(value(text), 3, 4)) or "") == mask_phone(text)


@SETTINGS
@given(text=TEXT)
def test_csv_unquote_text_inverts_csv_text(text):
    quoted = csv_text(text)
    if quoted.startswith('"'):
        quoted = quoted[1:-1].replace('""', '"')
    assert csv_unquote_text(quoted) == text


def test_sqlite_literals_are_what_binding_gives(db):
    from fupin.exchange.export_cells import sqlite_literal

    assert sqlite_literal(None) == "NULL"
    assert sqlite_literal(True) == "1"
    assert sqlite_literal(12) == "12"
    assert sqlite_literal("it's") == "'it''s'"
    with pytest.raises(ValueError, match="NUL"):
        sqlite_literal("a\x00b")
    statement = Sql("SELECT %s, %s, '100%%'", ("a'b", 7))
    assert inline_sqlite(statement) == "SELECT 'a''b', 7, '100%'"
