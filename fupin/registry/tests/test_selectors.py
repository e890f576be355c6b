import pytest

from conftest import VILLAGE_A2
from fupin.registry import selectors
from fupin.registry.selectors import HouseholdFilters, household_list
from fupin.registry.tests.factories import MemberDataFactory, register_household


@pytest.fixture
def three_households(household_a1, household_b1, personas):
    register_household(
        personas["township_admin_a"],
        division_code=VILLAGE_A2,
        household_no="A2-0001",
        members=[MemberDataFactory(name="张三丰")],
        status="exited",
        exit_year=2018,
    )


@pytest.mark.parametrize("share", [0.0, 1.0], ids=["walk-household-index", "division-index"])
@pytest.mark.parametrize(
    ("persona", "filters", "expected"),
    [
        ("county_admin", HouseholdFilters(), ["A1-0001", "A2-0001", "B1-0001"]),
        ("township_admin_a", HouseholdFilters(), ["A1-0001", "A2-0001"]),
        ("village_cadre_a1", HouseholdFilters(), ["A1-0001"]),
        ("outsider", HouseholdFilters(), ["B1-0001"]),
        ("other_county_admin", HouseholdFilters(), []),
        ("county_admin", HouseholdFilters(status="exited"), ["A2-0001"]),
        ("county_admin", HouseholdFilters(division_code="371502001000"), ["A1-0001", "A2-0001"]),
        ("village_cadre_a1", HouseholdFilters(division_code="371502002000"), []),
        ("county_admin", HouseholdFilters(q="zsf"), ["A2-0001"]),
        ("county_admin", HouseholdFilters(q="张三"), ["A2-0001"]),
        ("county_admin", HouseholdFilters(q="李秀英"), ["A1-0001"]),  # a member's name
        ("county_admin", HouseholdFilters(survey_year=2015), ["A1-0001", "B1-0001", "A2-0001"]),
        ("county_admin", HouseholdFilters(survey_year=2019), []),
        (
            "county_admin",
            HouseholdFilters(ordering="-household_no"),
            ["B1-0001", "A2-0001", "A1-0001"],
        ),
    ],
)
def test_household_list_is_scoped_and_filtered_on_both_query_plans(
    three_households, personas, monkeypatch, share, persona, filters, expected
):
    monkeypatch.setattr(selectors, "LARGE_SCOPE_SHARE", share)
    found = [h.household_no for h in household_list(actor=personas[persona], filters=filters)]
    if filters.ordering == "household_no" and filters.survey_year:
        found, expected = sorted(found), sorted(expected)
    assert found == expected


def test_search_by_id_number_finds_the_household(household_a1, personas):
    spouse = household_a1.members.get(relation="spouse")
    found = household_list(
        actor=personas["township_admin_a"], filters=HouseholdFilters(q=spouse.id_number.lower())
    )
    assert [h.household_no for h in found] == ["A1-0001"]
    assert not household_list(
        actor=personas["outsider"], filters=HouseholdFilters(q=spouse.id_number)
    ).exists()
