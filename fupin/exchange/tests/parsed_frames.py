"""Parsed packages built by hand (the frames the package reader hands to the validator, as
fupin/exchange/parsed.py documents them), for testing the rules and the writer on their own."""

import datetime as dt
import itertools
from typing import Any

import polars as pl

from conftest import VILLAGE_A1
from fupin.exchange.columns import (
    HOUSEHOLD_COLUMNS,
    HOUSEHOLD_SHEET,
    MEMBER_COLUMNS,
    MEMBER_SHEET,
    Column,
    Kind,
)
from fupin.exchange.import_issues import Issue
from fupin.exchange.parsed import ParsedPackage, ParsedSheet
from fupin.registry.idnumbers import make_id_number

_sequence = itertools.count(1)

DTYPES: dict[Kind, Any] = {
    Kind.TEXT: pl.String,
    Kind.HOUSEHOLD_NO: pl.String,
    Kind.DIVISION: pl.String,
    Kind.PHONE: pl.String,
    Kind.ID_NUMBER: pl.String,
    Kind.CODE: pl.String,
    Kind.CODES: pl.List(pl.String),
    Kind.YES_NO: pl.Boolean,
    Kind.INTEGER: pl.Int64,
    Kind.YEAR: pl.Int64,
    Kind.DATE: pl.Date,
    Kind.MONEY: pl.Int64,
    Kind.DECIMAL: pl.Int64,
}


def person_id(*, birth: dt.date = dt.date(1970, 5, 17), sex: str = "male") -> str:
    n = next(_sequence) % 499
    sequence = n * 2 + (1 if sex == "male" else 2)
    return make_id_number("371502", birth, sequence)


def household_row(no: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "household_no": no,
        "division_code": VILLAGE_A1,
        "head_name": "王建国",
        "head_id_number": None,  # filled from the head member by ``package``
        "phone": "13812345678",
        "identified_year": 2015,
        "standard": "provincial",
        "category": "general",
        "main_cause": "illness",
        "other_causes": [],
        "status": "not_out",
        "exit_year": None,
        "survey_year": 2015,
        "household_size": None,  # the number of member rows unless given
        "wage_income": 200000,
        "business_income": 80000,
        "property_income": 0,
        "transfer_income": 60000,
        "business_cost": 30000,
        "excluded_income": None,
        "farmland_mu": 150,
        "housing_grade": "B",
        "safe_water": True,
        "food_secure": True,
        "clothing_secure": True,
        "has_electricity": True,
    }
    row.update(values)
    return row


def member_row(
    no: str, name: str = "王建国", relation: str = "head", **values: Any
) -> dict[str, Any]:
    sex = values.pop("sex", "male")
    birth = values.pop("birth_date", dt.date(1970, 5, 17))
    row: dict[str, Any] = {
        "household_no": no,
        "name": name,
        "id_number": values.pop("id_number", None) or person_id(birth=birth, sex=sex),
        "sex": sex,
        "birth_date": birth,
        "relation": relation,
        "ethnicity": "01",
        "education": "junior",
        "schooling": "not_student",
        "health": "healthy",
        "labour": "ordinary",
        "work_place": "none",
        "work_months": 0,
        "basic_medical": True,
        "critical_illness": True,
        "pension": None,
        "dibao": False,
        "tekun": False,
    }
    row.update(values)
    return row


def family(no: str, size: int = 2, **household: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A household row and its members: a head and ``size - 1`` children."""
    members = [member_row(no, household.pop("head_name", "王建国"))]
    members += [
        member_row(no, f"王小{i}", "son", birth_date=dt.date(2000 + i, 1, 1))
        for i in range(1, size)
    ]
    return household_row(no, head_name=members[0]["name"], **household), members


def _frame(rows: list[dict[str, Any]], columns: tuple[Column, ...], id_key: str) -> pl.DataFrame:
    schema = {c.key: DTYPES[c.kind] for c in columns}
    frame = pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)
    return frame.with_columns(
        pl.col(id_key)
        .str.slice(0, 18)
        .alias(f"{id_key}_person" if id_key != "id_number" else "person_key"),
        pl.Series("_row", range(2, len(rows) + 2), dtype=pl.Int64),
    )


def package(
    households: list[dict[str, Any]],
    members: list[dict[str, Any]],
    *,
    household_errors: list[Issue] | None = None,
    member_errors: list[Issue] | None = None,
    absent: tuple[str, ...] = (),
    file_name: str = "test.xlsx",
) -> ParsedPackage:
    """A parsed package of these rows (typed as the reader types them). The head's id and the
    household size default to the members'."""
    households = [dict(h) for h in households]
    for h in households:
        own = [m for m in members if m["household_no"] == h["household_no"]]
        if h.get("head_id_number") is None:
            heads = [m for m in own if m["relation"] == "head"]
            h["head_id_number"] = heads[0]["id_number"] if heads else person_id()
        if h.get("household_size") is None:
            h["household_size"] = len(own)
    hh = _frame(households, HOUSEHOLD_COLUMNS, "head_id_number")
    mm = _frame(members, MEMBER_COLUMNS, "id_number")
    return ParsedPackage(
        file_name=file_name,
        sha256="0" * 64,
        container="xlsx",
        encoding="xlsx",
        households=ParsedSheet(
            HOUSEHOLD_SHEET,
            HOUSEHOLD_SHEET,
            hh,
            frozenset(c.key for c in HOUSEHOLD_COLUMNS if c.key not in absent),
            list(household_errors or []),
        ),
        members=ParsedSheet(
            MEMBER_SHEET,
            MEMBER_SHEET,
            mm,
            frozenset(c.key for c in MEMBER_COLUMNS if c.key not in absent),
            list(member_errors or []),
        ),
    )
