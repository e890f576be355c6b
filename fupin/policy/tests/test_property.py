"""Property: on generated registries, the bulk evaluation (SQL + polars) and the explanation of
each household (Python) give the same outcome, category, failed criteria and risk types, and
the same pass or fail for every criterion."""

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fupin.divisions.models import Division
from fupin.policy.criteria import CRITERIA
from fupin.policy.evaluation import evaluate_household
from fupin.policy.explain import explain_household
from fupin.policy.inputs import read_household
from fupin.policy.models import HousingRenovation
from fupin.policy.parameters import parameters_for_year
from fupin.policy.services import evaluate
from fupin.policy.tests.helpers import make_household
from fupin.registry.tests.factories import MemberDataFactory

# Lines of the bundled values: (national, provincial) in the years tried; 2020 has monitoring.
LINES = {2016: (Decimal(2952), Decimal(3372)), 2020: (Decimal(4000), Decimal(4000))}
RANGE_2020 = Decimal(6000)

health = st.sampled_from(["healthy", "chronic", "serious_illness", "disabled"])
labour = st.sampled_from(["ordinary", "skilled", "weak", "lost", "none"])
schooling = st.sampled_from(["not_student", "primary", "junior", "senior", ""])


@st.composite
def people(draw: Any, year: int) -> list[Any]:
    count = draw(st.integers(1, 3))
    out = []
    for index in range(count):
        # Ages around the compulsory-school boundaries, and adults.
        age = draw(st.sampled_from([4, 5, 6, 7, 14, 15, 16, 17, 35, 35, 50, 70]))
        day = draw(st.sampled_from([(1, 1), (6, 15), (12, 31)]))
        born = dt.date(year - age, *day)
        out.append(
            MemberDataFactory(
                born=born,
                relation="head" if index == 0 else "son",
                sex="male",
                health=draw(health),
                labour=draw(labour),
                schooling=draw(schooling),
                basic_medical=draw(st.integers(0, 6)) > 0,
                education="",
                work_place="",
                work_months=None,
            )
        )
    return out


def amount(draw: Any, year: int, size: int) -> dict[str, Decimal]:
    """Record amounts whose counted per-capita income lies on, near or far from a line."""
    national, provincial = LINES[year]
    anchor = draw(st.sampled_from([national, provincial, RANGE_2020, Decimal(1500), Decimal(9000)]))
    per_capita = anchor + Decimal(draw(st.sampled_from([-100, -1, 0, 1, 100]))) / 100
    excluded = Decimal(draw(st.sampled_from([0, 0, 50, 333]))) / 100 * 100
    cost = Decimal(draw(st.sampled_from([0, 1234])))
    # A total that divides unevenly by the size, so the rounding of the per-capita value shows.
    total = per_capita * size + Decimal(draw(st.sampled_from([0, 1, 2]))) / 100
    return {
        "wage_income": total + excluded + cost,
        "business_income": Decimal(0),
        "property_income": Decimal(0),
        "transfer_income": Decimal(0),
        "business_cost": cost,
        "excluded_income": excluded,
    }


def amount_at(per_capita: Decimal, size: int) -> dict[str, Decimal]:
    return {
        "wage_income": per_capita * size,
        "business_income": Decimal(0),
        "property_income": Decimal(0),
        "transfer_income": Decimal(0),
        "business_cost": Decimal(0),
        "excluded_income": Decimal(0),
    }


@st.composite
def household(draw: Any, year: int) -> dict[str, Any]:
    members = draw(people(year))
    records: dict[int, dict[str, Any]] = {}
    first = year - 2
    for y in (first, year - 1, year):
        if y != first and not draw(st.booleans()) and y != year:
            continue
        if y == year and draw(st.integers(0, 9)) == 0:
            continue  # sometimes no record of the year
        records[y] = amount(draw, year, len(members)) | {
            "housing_grade": draw(st.sampled_from("AABBCD")),
            "safe_water": draw(st.integers(0, 5)) > 0,
            "food_secure": draw(st.integers(0, 5)) > 0,
            "clothing_secure": draw(st.integers(0, 5)) > 0,
        }
    status = draw(st.sampled_from(["not_out", "returned", "exited", "exited", "cancelled"]))
    if status == "exited" and year - 1 in records and year in records and draw(st.booleans()):
        # A recovering household: within the range last year, above it now, conditions met.
        records[year - 1] |= amount_at(Decimal(5000), len(members))
        records[year] |= amount_at(Decimal(9000), len(members)) | {
            "housing_grade": "B",
            "safe_water": True,
            "food_secure": True,
            "clothing_secure": True,
        }
    return {
        "members": members,
        "records": records,
        "first_year": first,
        "status": status,
        "exit_year": first if status == "exited" else None,
        "standard": draw(st.sampled_from(["national", "provincial", "city"])),
        "main_cause": draw(st.sampled_from(["illness", "disability", "schooling", "lack_funds"])),
        "renovated": draw(st.sampled_from([None, dt.date(year, 6, 1), dt.date(year + 1, 1, 1)])),
        "village": draw(st.sampled_from(["371502001201", "371502001202", "371502002201"])),
    }


registries = st.sampled_from([2016, 2020, 2020]).flatmap(
    lambda year: st.tuples(st.just(year), st.lists(household(year), min_size=1, max_size=6))
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(registry=registries)
def test_bulk_evaluation_equals_the_per_household_one(personas, registry):
    year, generated = registry
    actor = personas["county_admin"]
    with transaction.atomic():
        Division.objects.filter(level="village").update(rural_population=40)
        created = []
        for g in generated:
            h = make_household(
                actor,
                first_year=g["first_year"],
                records=g["records"],
                members=g["members"],
                division_code=g["village"],
                status=g["status"],
                exit_year=g["exit_year"],
                standard=g["standard"],
                main_cause=g["main_cause"],
                other_causes=[],
            )
            if g["renovated"]:
                HousingRenovation.objects.create(
                    household=h, kind="rebuilt", accepted_on=g["renovated"]
                )
            created.append(h)
        result, _params, _version, _seconds = evaluate(year=year, division=None)
        params = parameters_for_year(year).values
        bulk = {r["household_id"]: r for r in result.households.to_dicts()}
        for h in created:
            row = bulk[h.pk]
            one = evaluate_household(read_household(h, year), year, params)
            explanation = explain_household(h, year)
            assert row["outcome"] == one.outcome == explanation.outcome
            event(f"outcome {one.outcome}")
            assert row["category"] == one.category
            assert [c for c in row["failed"].split(",") if c] == one.failed
            assert [c for c in row["risks"].split(",") if c] == one.risks
            for code in CRITERIA:
                assert row[f"pass__{code}"] == one.row[f"pass__{code}"], code
            for fact in ("per_capita", "per_capita_1", "months_above_range", "out_of_school"):
                assert row[fact] == one.row[fact], fact
        # Village exit: the people still poor of each village, the same both ways.
        poor: dict[int, int] = {}
        for h in created:
            if bulk[h.pk]["poor_after"]:
                poor[h.division_id] = poor.get(h.division_id, 0) + bulk[h.pk]["members"]
        villages = result.divisions.filter(pl.col("level") == "village")
        for r in villages.iter_rows(named=True):
            assert r["poor_people"] == poor.get(r["division_id"], 0)
            assert r["qualifies"] == (r["poor_people"] * 100 < 2 * 40)
        transaction.set_rollback(True)
