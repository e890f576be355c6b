"""Hand-computed boundary cases (issue 4, "Done when"). Each is evaluated both ways, one
household at a time (the explanation) and in bulk, and both must agree.

2016: national line 2,952 yuan; 2020: national and provincial lines 4,000, Shandong's monitoring
range 6,000 (the bundled policy values)."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from fupin.divisions.models import Division
from fupin.policy.services import housing_renovation_record
from fupin.policy.tests.helpers import (
    SOURCE,
    criterion,
    evaluate_both,
    income,
    make_household,
    member,
)

NATIONAL: dict[str, Any] = {"standard": "national"}


@pytest.fixture
def cadre(personas):
    return personas["village_cadre_a1"]


# --- Income: "above the line" ---------------------------------------------------------------


def test_income_exactly_at_the_line_does_not_exit(cadre):
    h = make_household(cadre, first_year=2016, records={2016: income("2952.00")}, **NATIONAL)
    explanation, _row = evaluate_both(h, 2016)
    assert explanation.outcome == "still_poor"
    assert explanation.failed == ["income_above_line"]
    c = criterion(explanation, "exit", "income_above_line")
    assert (c.value, c.threshold, c.passed) == (Decimal("2952.00"), Decimal("2952.00"), False)
    assert c.sources[0].parameter == "poverty_line" and c.sources[0].qualifier == "national"
    assert "Yearbook" in c.sources[0].note


def test_one_fen_above_the_line_exits(cadre):
    h = make_household(cadre, first_year=2016, records={2016: income("2952.01")}, **NATIONAL)
    explanation, _row = evaluate_both(h, 2016)
    assert explanation.outcome == "exit_qualified"
    assert explanation.failed == []
    assert criterion(explanation, "exit", "income_above_line").value == Decimal("2952.01")


def test_excluded_income_does_not_count(cadre):
    # 3,000 yuan of which 100 are short-term aid: 2,900 counted, under the line.
    record = income("2900.00", excluded_income=Decimal("100.00"))
    h = make_household(cadre, first_year=2016, records={2016: record}, **NATIONAL)
    explanation, _row = evaluate_both(h, 2016)
    assert explanation.outcome == "still_poor"
    assert explanation.per_capita_income == Decimal("2900.00")


def test_per_capita_income_rounds_half_up_to_the_fen(cadre):
    # 8,856.03 for 3 people = 2,952.01 exactly; 8,856.02 → 2,952.0067 → 2,952.01 (half up);
    # 8,856.01 → 2,952.0033 → 2,952.00, at the line.
    people = [member(relation="head"), member(), member(relation="son")]
    for total, outcome in (("8856.02", "exit_qualified"), ("8856.01", "still_poor")):
        record = income("0", size=3) | {"wage_income": Decimal(total)}
        h = make_household(
            cadre,
            first_year=2016,
            records={2016: record},
            members=[member(relation=m.relation) for m in people],
            **NATIONAL,
        )
        explanation, _row = evaluate_both(h, 2016)
        assert explanation.outcome == outcome, total


def test_the_line_follows_the_identification_standard(cadre):
    # 3,000 yuan is above the national line of 2016 (2,952) but not the provincial one (3,372).
    national = make_household(cadre, first_year=2016, records={2016: income("3000")}, **NATIONAL)
    provincial = make_household(
        cadre, first_year=2016, records={2016: income("3000")}, standard="provincial"
    )
    assert evaluate_both(national, 2016)[0].outcome == "exit_qualified"
    assert evaluate_both(provincial, 2016)[0].outcome == "still_poor"


# --- Compulsory education -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "schooling", "health", "fails"),
    [
        (dt.date(2001, 1, 1), "not_student", "healthy", True),  # 15 on 2016-12-31
        (dt.date(2001, 1, 1), "not_student", "disabled", False),  # excused: disabled
        (dt.date(2001, 1, 1), "not_student", "serious_illness", False),  # excused: ill
        (dt.date(2001, 1, 1), "not_student", "chronic", True),  # a chronic illness is no excuse
        (dt.date(2001, 1, 1), "junior", "healthy", False),  # in school
        (dt.date(2000, 12, 31), "not_student", "healthy", False),  # 16 on 2016-12-31
        (dt.date(2010, 12, 31), "not_student", "healthy", True),  # 6
        (dt.date(2011, 1, 1), "not_student", "healthy", False),  # 5
    ],
)
def test_a_child_of_compulsory_school_age_out_of_school(cadre, born, schooling, health, fails):
    child = member(born=born, relation="son", schooling=schooling, health=health, labour="none")
    h = make_household(
        cadre,
        first_year=2016,
        records={2016: income("3500", size=2)},
        members=[member(relation="head"), child],
        **NATIONAL,
    )
    explanation, _row = evaluate_both(h, 2016)
    assert ("compulsory_education" in explanation.failed) is fails
    assert explanation.outcome == ("still_poor" if fails else "exit_qualified")
    assert [m["name"] for m in explanation.out_of_school] == ([child.name] if fails else [])


# --- Housing ----------------------------------------------------------------------------------


def test_housing_grade_c_fails_until_a_renovation_is_accepted(cadre):
    record = income("3500") | {"housing_grade": "C"}
    h = make_household(cadre, first_year=2016, records={2016: record}, **NATIONAL)
    explanation, _row = evaluate_both(h, 2016)
    assert explanation.failed == ["housing_safe"]

    # Accepted after the year's reference day (31 December): still unsafe for 2016.
    housing_renovation_record(
        actor=cadre,
        source=SOURCE,
        household_no=h.household_no,
        kind="reinforced",
        accepted_on=dt.date(2017, 3, 1),
    )
    assert evaluate_both(h, 2016)[0].failed == ["housing_safe"]

    housing_renovation_record(
        actor=cadre,
        source=SOURCE,
        household_no=h.household_no,
        kind="reinforced",
        accepted_on=dt.date(2016, 9, 30),
    )
    explanation, _row = evaluate_both(h, 2016)
    assert explanation.outcome == "exit_qualified"
    housing = criterion(explanation, "exit", "housing_safe")
    assert (housing.value, housing.passed, housing.details) == ("C", True, {"renovated": True})
    assert explanation.renovation is not None
    assert explanation.renovation["accepted_on"] == "2016-09-30"


@pytest.mark.parametrize(("grade", "safe"), [("A", True), ("B", True), ("C", False), ("D", False)])
def test_housing_grades(cadre, grade, safe):
    record = income("3500") | {"housing_grade": grade}
    h = make_household(cadre, first_year=2016, records={2016: record}, **NATIONAL)
    assert ("housing_safe" in evaluate_both(h, 2016)[0].failed) is not safe


def test_every_condition_of_two_no_worries_three_guarantees_is_checked(cadre):
    record = income("3500", size=2)
    record |= {"food_secure": False, "clothing_secure": False, "safe_water": False}
    uninsured = member(basic_medical=False)
    h = make_household(
        cadre,
        first_year=2016,
        records={2016: record},
        members=[member(relation="head"), uninsured],
        **NATIONAL,
    )
    explanation, _row = evaluate_both(h, 2016)
    assert explanation.failed == ["food_secure", "clothing_secure", "basic_medical", "safe_water"]


# --- Monitoring -------------------------------------------------------------------------------


def exited(cadre, records, members=None, **extra):
    return make_household(
        cadre,
        first_year=2018,
        records=records,
        members=members,
        status="exited",
        exit_year=2019,
        **extra,
    )


def test_income_within_the_range_puts_an_exited_household_under_monitoring(cadre):
    h = exited(cadre, {2018: income("2500"), 2019: income("5000"), 2020: income("5500")})
    explanation, _row = evaluate_both(h, 2020)
    assert (explanation.outcome, explanation.category) == ("monitoring", "unstable")
    # Why it stays: income not above the range for six months.
    assert explanation.failed == ["income_above_range_stable"]
    c = criterion(explanation, "monitoring", "income_within_range")
    assert (c.value, c.threshold, c.passed) == (Decimal("5500.00"), Decimal("6000.00"), True)
    assert c.sources[0].qualifier == "370000000000"


def test_income_back_above_the_range_eliminates_the_risk(cadre):
    h = exited(cadre, {2018: income("2500"), 2019: income("5000"), 2020: income("8000")})
    explanation, _row = evaluate_both(h, 2020)
    assert explanation.outcome == "risk_eliminated"
    stable = criterion(explanation, "elimination", "income_above_range_stable")
    assert (stable.value, stable.threshold, stable.passed) == (12, 6, True)


def test_a_household_without_labour_capacity_is_never_risk_eliminated(cadre):
    people = [
        member(relation="head", born=dt.date(1940, 3, 1), labour="none"),
        member(born=dt.date(1942, 3, 1), labour="lost", sex="female"),
    ]
    records = {y: income(v, size=2) for y, v in ((2018, "2500"), (2019, "5000"), (2020, "9000"))}
    h = exited(cadre, records, members=people)
    explanation, _row = evaluate_both(h, 2020)
    assert (explanation.outcome, explanation.category) == ("monitoring", "unstable")
    assert explanation.failed == ["labour_capacity"]
    assert "lack_labour" in [r["code"] for r in explanation.risks]
    labour = criterion(explanation, "elimination", "labour_capacity")
    assert (labour.value, labour.passed) == (0, False)


def test_a_weak_labourer_counts_as_labour_capacity(cadre):
    people = [member(relation="head", born=dt.date(1950, 3, 1), labour="weak")]
    h = exited(cadre, {2018: income("2500"), 2019: income("5000"), 2020: income("9000")}, people)
    assert evaluate_both(h, 2020)[0].outcome == "risk_eliminated"


def test_a_sharp_income_drop_is_a_sudden_hardship(cadre):
    # 14,000 → 6,500: above the range but 53.6% less.
    h = exited(cadre, {2018: income("2500"), 2019: income("14000"), 2020: income("6500")})
    explanation, _row = evaluate_both(h, 2020)
    assert (explanation.outcome, explanation.category) == ("monitoring", "sudden")
    assert "income_drop" in [r["code"] for r in explanation.risks]
    drop = criterion(explanation, "monitoring", "sharp_income_drop")
    assert drop.passed and drop.value == pytest.approx(53.57, abs=0.01)


def test_a_serious_illness_keeps_the_rigid_expenditure_unresolved(cadre):
    people = [member(relation="head", health="serious_illness", labour="weak")]
    h = exited(cadre, {2018: income("2500"), 2019: income("5000"), 2020: income("8000")}, people)
    explanation, _row = evaluate_both(h, 2020)
    assert explanation.outcome == "monitoring"
    assert explanation.failed == ["rigid_expenditure_resolved"]


def test_before_monitoring_existed_an_exited_household_under_the_line_has_returned(cadre):
    h = make_household(
        cadre,
        first_year=2016,
        records={2016: income("3100"), 2017: income("2900")},
        status="exited",
        exit_year=2016,
        **NATIONAL,
    )
    assert evaluate_both(h, 2017)[0].outcome == "returned"
    assert evaluate_both(h, 2016)[0].outcome == "stable"


# --- Identification and missing data ------------------------------------------------------------


def test_a_household_not_registered_as_poor_under_the_line_qualifies_for_identification(cadre):
    record = income("2000") | {"housing_grade": "D"}
    h = make_household(cadre, first_year=2016, records={2016: record}, status="cancelled")
    explanation, _row = evaluate_both(h, 2016)
    assert explanation.outcome == "identified"
    # Housing is taken into account (shown and listed), the income decides.
    assert explanation.failed == ["housing_safe"]
    housing = criterion(explanation, "identification", "housing_safe")
    assert housing.decisive is False


def test_without_a_record_of_the_year_there_is_no_result(cadre):
    h = make_household(cadre, first_year=2016, records={2016: income("2000")})
    explanation, _row = evaluate_both(h, 2017)
    assert explanation.outcome == "no_record"
    assert explanation.failed == []


# --- Village and county exit ------------------------------------------------------------------


def test_village_exit_needs_an_incidence_below_two_percent(cadre):
    from fupin.policy.services import evaluate

    make_household(
        cadre,
        first_year=2016,
        records={2016: income("2000", size=2)},
        members=[member(relation="head"), member()],
    )
    village = Division.objects.get(code="371502001201")
    for population, qualifies in ((100, False), (101, True)):
        Division.objects.filter(pk=village.pk).update(rural_population=population)
        result, _p, _v, _s = evaluate(year=2016, division=None)
        row = result.divisions.filter(result.divisions["division_id"] == village.pk).to_dicts()[0]
        assert (row["poor_people"], row["population"], row["qualifies"]) == (
            2,
            population,
            qualifies,
        )
    # The county's figure is the sum of its villages': unknown while one village lacks it.
    county = result.divisions.filter(result.divisions["code"] == "371502000000").to_dicts()[0]
    assert county["population"] is None and county["qualifies"] is False
    Division.objects.filter(code__in=["371502001202", "371502002201"]).update(rural_population=50)
    result, _p, _v, _s = evaluate(year=2016, division=None)
    county = result.divisions.filter(result.divisions["code"] == "371502000000").to_dicts()[0]
    assert (county["poor_people"], county["population"], county["qualifies"]) == (2, 201, True)
