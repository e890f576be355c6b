"""Building households for policy tests through the registry's services, and evaluating them
both ways (bulk and one by one)."""

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import polars as pl

from fupin.core.audit import ChangeSource
from fupin.policy.evaluation import BulkResult
from fupin.policy.explain import Explanation, explain_household
from fupin.policy.services import evaluate
from fupin.registry.models import Household
from fupin.registry.services import record_save
from fupin.registry.tests.factories import MemberDataFactory, RecordDataFactory, register_household
from fupin.registry.validation import RecordData

_numbers = itertools.count(1)
SOURCE = ChangeSource.command("test")


def member(*, born: dt.date = dt.date(1970, 5, 17), relation: str = "spouse", **fields: Any) -> Any:
    sex = fields.pop("sex", "male")
    return MemberDataFactory(born=born, relation=relation, sex=sex, **fields)


def income(per_capita: str | Decimal, size: int = 1, **extra: Any) -> dict[str, Any]:
    """Record fields whose counted per-capita net income is exactly ``per_capita`` yuan."""
    total = Decimal(per_capita) * size
    return {
        "household_size": size,
        "wage_income": total + Decimal(extra.get("excluded_income", 0)),
        "business_income": Decimal(0),
        "property_income": Decimal(0),
        "transfer_income": Decimal(0),
        "business_cost": Decimal(0),
        **extra,
    }


def make_household(
    actor: Any,
    *,
    first_year: int,
    records: dict[int, dict[str, Any]],
    members: list[Any] | None = None,
    division_code: str = "371502001201",
    **household: Any,
) -> Household:
    """A household identified in ``first_year`` with a yearly record for each given year
    (``records[first_year]`` is required: registration takes the first record)."""
    members = members or [member(relation="head")]
    first = dict(records[first_year])
    first.pop("household_size", None)  # registration sets it to the number of members
    household_no = household.pop("household_no", f"P{next(_numbers):06d}")
    h = register_household(
        actor,
        division_code=division_code,
        household_no=household_no,
        members=members,
        identified_year=first_year,
        record=first,
        **household,
    )
    for year, fields in sorted(records.items()):
        if year == first_year:
            continue
        data = RecordDataFactory(survey_year=year, household_size=len(members))
        for key, value in fields.items():
            setattr(data, key, value)
        assert isinstance(data, RecordData)
        record_save(actor=actor, source=SOURCE, household=h, data=data)
    return Household.objects.select_related("division").get(pk=h.pk)


def bulk_row(result: BulkResult, household: Household) -> dict[str, Any]:
    rows = result.households.filter(pl.col("household_id") == household.pk).to_dicts()
    assert len(rows) == 1
    return rows[0]


def evaluate_both(household: Household, year: int) -> tuple[Explanation, dict[str, Any]]:
    """The explanation and the bulk result of one household; they must agree."""
    explanation = explain_household(household, year)
    result, _params, _version, _seconds = evaluate(year=year, division=None)
    row = bulk_row(result, household)
    failed = [c for c in row["failed"].split(",") if c]
    risks = [c for c in row["risks"].split(",") if c]
    assert (row["outcome"], row["category"], failed, risks) == (
        explanation.outcome,
        explanation.category,
        explanation.failed,
        [r["code"] for r in explanation.risks],
    )
    return explanation, row


def criterion(explanation: Explanation, test: str, code: str) -> Any:
    for t in explanation.tests:
        if t.code == test:
            for c in t.criteria:
                if c.code == code:
                    return c
    raise AssertionError(f"no criterion {test}/{code}")
