"""The expression language: the same value in polars, SQL and Python, nulls included."""

from decimal import Decimal

import polars as pl
import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from fupin.policy.expressions import (
    Coalesce,
    Col,
    DivRound,
    Lit,
    Param,
    ParameterValues,
    SqlContext,
    YearEnd,
    all_of,
    when,
)
from fupin.registry.models import per_capita

PARAMS = ParameterValues({"line": 300000, "by_std": {"a": 1, "b": 2}, "year": 2016, "min": 6})


def both(expr, rows):
    frame = pl.DataFrame(rows, strict=False)
    bulk = frame.select(expr.to_polars(PARAMS).alias("v"))["v"].to_list()
    single = [expr.evaluate(r, PARAMS) for r in rows]
    return bulk, single


@given(
    st.integers(-(10**9), 10**9),
    st.integers(1, 30),
)
def test_div_round_is_the_registry_per_capita_rounding(net_fen, size):
    expected = int(per_capita(Decimal(net_fen) / 100, size) * 100)
    bulk, single = both(DivRound(Col("n"), Col("s")), [{"n": net_fen, "s": size}])
    assert bulk == single == [expected]


def test_nulls_follow_kleene_logic_both_ways():
    rows = [{"a": None, "b": True}, {"a": False, "b": None}, {"a": None, "b": None}]
    for expr in (
        Col("a") & Col("b"),
        Col("a") | Col("b"),
        ~Col("a"),
        Col("a").eq(True),
        Col("a").isin((True,)),
        Col("a").is_null(),
        Coalesce((Col("a"), Lit(True))),
        when(Col("a"), "x").when(Col("b"), "y").otherwise("z"),
    ):
        bulk, single = both(expr, rows)
        assert bulk == single, expr


def test_qualified_parameters_follow_the_row():
    bulk, single = both(Param("by_std", by="s"), [{"s": "a"}, {"s": "b"}, {"s": "c"}])
    assert bulk == single == [1, 2, None]


def test_constant_parts_are_computed_once_and_bound(db):
    expr = Col("birth") <= YearEnd(Param("year") - Param("min"))
    sql, values = expr.to_sql(SqlContext({"birth": "birth"}, PARAMS))
    assert sql == "(birth <= %s)" and values == ["2010-12-31"]
    assert both(expr, [{"birth": "2010-12-31"}, {"birth": "2011-01-01"}]) == (
        [True, False],
        [True, False],
    )


@pytest.mark.parametrize(
    "predicate",
    [
        all_of(Col("x") >= 3, Col("y").isin(("p", "q"))),
        ~(Col("x") < Param("min")) | Col("y").eq("r"),
        (Col("x") - 1) * 2 >= Param("min"),
    ],
)
def test_sql_and_python_agree(db, predicate):
    rows = [(x, y) for x in range(9) for y in ("p", "q", "r")]
    ctx = SqlContext({"x": "t.x", "y": "t.y"}, PARAMS)
    text, values = predicate.to_sql(ctx)
    values_sql = ", ".join(["(%s, %s)"] * len(rows))
    flat = [v for row in rows for v in row]
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT t.x, t.y, CASE WHEN {text} THEN 1 ELSE 0 END "
            f"FROM (VALUES {values_sql}) AS t(x, y)"
        )
        params = values + flat
    else:
        sql = (
            f"WITH t(x, y) AS (VALUES {values_sql}) "
            f"SELECT t.x, t.y, CASE WHEN {text} THEN 1 ELSE 0 END FROM t"
        )
        params = flat + values
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        got = {(x, y): bool(v) for x, y, v in cursor.fetchall()}
    for x, y in rows:
        assert got[(x, y)] == (predicate.evaluate({"x": x, "y": y}, PARAMS) is True)
