"""Rules across rows and against the registry (import_validate.py), on hand-built parsed
packages: each error's code, place and household, and what may still be applied."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import VILLAGE_A1, VILLAGE_A2, VILLAGE_B1
from fupin.exchange.columns import HOUSEHOLD_SHEET, MEMBER_SHEET
from fupin.exchange.import_issues import Issue
from fupin.exchange.import_validate import validate_package
from fupin.exchange.tests.parsed_frames import family, household_row, member_row, package

pytestmark = pytest.mark.django_db


def places(validation):
    return [(e.sheet, e.row, e.column, e.code, e.household_no) for e in validation.errors]


def test_a_clean_package_passes_whole(division_tree):
    h1, m1 = family("H1", 3)
    h2, m2 = family("H2", 1, division_code=VILLAGE_A2)
    v = validate_package(package([h1, h2], m1 + m2), actor=None)
    assert v.errors == []
    assert v.households["household_no"].to_list() == ["H1", "H2"]
    assert v.members.height == 4
    assert v.households["division_path"].null_count() == 0
    assert (v.rejected_households, v.rejected_members) == (0, 0)


def test_a_household_number_twice_rejects_both_rows_and_their_members(division_tree):
    h1, m1 = family("H1", 2)
    h2, m2 = family("H2", 1)
    v = validate_package(package([h1, h2, dict(h1)], m1 + m2), actor=None)
    assert places(v) == [
        (HOUSEHOLD_SHEET, 2, "户编号", "duplicate_household", "H1"),
        (HOUSEHOLD_SHEET, 4, "户编号", "duplicate_household", "H1"),
    ]
    assert v.errors[0].detail == "另见第 4 行"
    assert v.errors[0].value == "H1"
    assert v.households["household_no"].to_list() == ["H2"]
    assert (v.rejected_households, v.rejected_members) == (2, 2)


def test_a_person_twice_is_reported_on_every_row(division_tree):
    h1, m1 = family("H1", 2)
    h2, m2 = family("H2", 2)
    m2[1]["id_number"] = m1[1]["id_number"]
    v = validate_package(package([h1, h2], m1 + m2), actor=None)
    assert places(v) == [
        (MEMBER_SHEET, 3, "证件号码", "duplicate_person", "H1"),
        (MEMBER_SHEET, 5, "证件号码", "duplicate_person", "H2"),
    ]
    assert v.errors[0].value == ""  # an id number is personal data
    assert v.households.height == 0


def test_the_same_person_with_a_disability_number_is_still_the_same_person(division_tree):
    h1, m1 = family("H1", 2)
    m1.append(dict(m1[1], id_number=m1[1]["id_number"] + "23"))
    h1["household_size"] = 3
    v = validate_package(package([h1], m1), actor=None)
    assert {e.code for e in v.errors} == {"duplicate_person"}


def test_members_of_a_household_not_in_the_household_sheet_are_orphans(division_tree):
    h1, m1 = family("H1", 1)
    m1.append(member_row("H9", "孤儿", "head"))
    v = validate_package(package([h1], m1), actor=None)
    assert places(v) == [(MEMBER_SHEET, 3, "户编号", "orphan_member", "H9")]
    assert v.errors[0].value == "H9"
    assert v.households["household_no"].to_list() == ["H1"]
    assert v.rejected_members == 1


def test_heads_none_or_several(division_tree):
    h1, m1 = family("H1", 2)
    m1[0]["relation"] = "spouse"
    h2, m2 = family("H2", 2)
    m2[1]["relation"] = "head"
    v = validate_package(package([h1, h2], m1 + m2), actor=None)
    assert places(v) == [
        (HOUSEHOLD_SHEET, 2, "", "no_head", "H1"),
        (MEMBER_SHEET, 4, "与户主关系", "multiple_heads", "H2"),
        (MEMBER_SHEET, 5, "与户主关系", "multiple_heads", "H2"),
    ]


def test_no_head_is_not_guessed_when_a_relation_could_not_be_read(division_tree):
    h1, m1 = family("H1", 1)
    m1[0]["relation"] = None
    bad = Issue(MEMBER_SHEET, 2, "与户主关系", "bad_code", "户长", household_no="H1")
    v = validate_package(package([h1], m1, member_errors=[bad]), actor=None)
    assert [e.code for e in v.errors] == ["bad_code"]
    assert v.rejected_households == 1


def test_the_head_columns_must_repeat_the_head_member(division_tree):
    h1, m1 = family("H1", 2, head_name="王建国")
    h1["head_name"] = "王建军"
    h1["head_id_number"] = m1[1]["id_number"]
    v = validate_package(package([h1], m1), actor=None)
    assert places(v) == [
        (HOUSEHOLD_SHEET, 2, "户主姓名", "head_mismatch", "H1"),
        (HOUSEHOLD_SHEET, 2, "户主证件号码", "head_mismatch", "H1"),
    ]


def test_the_head_id_may_be_given_as_the_disability_number(division_tree):
    h1, m1 = family("H1", 1)
    m1[0]["id_number"] += "11"
    h1["head_id_number"] = m1[0]["id_number"][:18]
    assert validate_package(package([h1], m1), actor=None).errors == []


def test_the_household_size_must_count_the_member_rows(division_tree):
    h1, m1 = family("H1", 2, household_size=3)
    v = validate_package(package([h1], m1), actor=None)
    assert places(v) == [(HOUSEHOLD_SHEET, 2, "家庭人口", "size_mismatch", "H1")]
    assert (v.errors[0].value, v.errors[0].detail) == ("3", "成员信息中有 2 行")


def test_exit_years(division_tree):
    rows = [
        family("H1", 1, status="exited")[0],
        family("H2", 1, status="exited", exit_year=2014)[0],
        family("H3", 1, survey_year=2014)[0],
        family("H4", 1, status="exited", exit_year=2016, survey_year=2016)[0],
    ]
    members = [member_row(h["household_no"]) for h in rows]
    for h, m in zip(rows, members, strict=True):
        h["head_id_number"] = m["id_number"]
    v = validate_package(package(rows, members), actor=None)
    assert places(v) == [
        (HOUSEHOLD_SHEET, 2, "脱贫年度", "exit_year_missing", "H1"),
        (HOUSEHOLD_SHEET, 3, "脱贫年度", "out_of_range", "H2"),
        (HOUSEHOLD_SHEET, 4, "年度", "out_of_range", "H3"),
    ]
    assert v.errors[1].value == "2014"


def test_a_cell_the_reader_found_wrong_is_not_reported_again(division_tree):
    h1, m1 = family("H1", 1, status="exited", exit_year=None)
    bad = Issue(HOUSEHOLD_SHEET, 2, "脱贫年度", "bad_format", "二〇一六")
    v = validate_package(package([h1], m1, household_errors=[bad]), actor=None)
    assert [(e.code, e.household_no) for e in v.errors] == [("bad_format", "H1")]


def test_a_cell_error_in_a_member_row_rejects_the_whole_household(division_tree):
    h1, m1 = family("H1", 3)
    h2, m2 = family("H2", 1)
    bad = Issue(MEMBER_SHEET, 4, "健康状况", "bad_code", "很好")
    v = validate_package(package([h1, h2], m1 + m2, member_errors=[bad]), actor=None)
    assert v.errors[0].household_no == "H1"
    assert v.households["household_no"].to_list() == ["H2"]
    assert (v.rejected_households, v.rejected_members) == (1, 3)


def test_an_error_about_a_whole_sheet_rejects_the_package(division_tree):
    h1, m1 = family("H1", 1)
    missing = Issue(MEMBER_SHEET, 1, "健康状况", "missing_column")
    v = validate_package(package([h1], m1, member_errors=[missing]), actor=None)
    assert v.package_rejected
    assert v.households.height == 0
    assert (v.rejected_households, v.rejected_members) == (1, 1)


def test_errors_the_reader_stopped_listing_reject_the_package(division_tree):
    h1, m1 = family("H1", 1)
    h2, m2 = family("H2", 1)
    errors = [
        Issue(MEMBER_SHEET, 2, "健康状况", "bad_code", "很好"),
        Issue(MEMBER_SHEET, 2, "", "too_many_errors", detail="100,001"),
    ]
    v = validate_package(package([h1, h2], m1 + m2, member_errors=errors), actor=None)
    assert v.package_rejected and v.households.height == 0


def test_rows_that_must_agree(division_tree):
    h1, m1 = family("H1", 1, other_causes=["illness", "disability"])
    m1[0].update(work_place="none", work_months=5)
    v = validate_package(package([h1], m1), actor=None)
    assert places(v) == [
        (HOUSEHOLD_SHEET, 2, "其他致贫原因", "bad_code", "H1"),
        (MEMBER_SHEET, 2, "务工时间", "out_of_range", "H1"),
    ]


def test_divisions_must_be_villages_or_groups_of_the_registry(division_tree):
    rows = [
        family("H1", 1, division_code="371502001299")[0],
        family("H2", 1, division_code="371502001000")[0],
    ]
    members = [member_row("H1"), member_row("H2")]
    rows[0]["head_id_number"], rows[1]["head_id_number"] = (m["id_number"] for m in members)
    v = validate_package(package(rows, members), actor=None)
    assert [(e.row, e.code, e.value) for e in v.errors] == [
        (2, "unknown_division", "371502001299"),
        (3, "unknown_division", "371502001000"),
    ]


def test_a_township_imports_only_into_its_own_villages(personas):
    h1, m1 = family("H1", 1, division_code=VILLAGE_A1)
    h2, m2 = family("H2", 1, division_code=VILLAGE_B1)
    h3, m3 = family("H3", 1, division_code="371521001201")
    v = validate_package(package([h1, h2, h3], m1 + m2 + m3), actor=personas["township_admin_a"])
    # Township A sees neither B1 (another township) nor C1: both are unknown to it.
    assert [(e.row, e.code) for e in v.errors] == [(3, "unknown_division"), (4, "unknown_division")]
    v = validate_package(package([h1, h2], m1 + m2), actor=personas["county_admin"])
    assert v.errors == []
    v = validate_package(package([h1], m1), actor=personas["leader"])
    assert [e.code for e in v.errors] == ["out_of_scope"]


def test_an_existing_household_outside_the_area_cannot_be_moved_into_it(household_b1, personas):
    h1, m1 = family("B1-0001", 1, division_code=VILLAGE_A1)
    v = validate_package(package([h1], m1), actor=personas["township_admin_a"])
    assert places(v) == [(HOUSEHOLD_SHEET, 2, "户编号", "out_of_scope", "B1-0001")]


def test_a_person_of_a_household_the_file_does_not_hold_stays_there(household_a1, personas):
    spouse = household_a1.members.get(relation="spouse")
    h1, m1 = family("H1", 2)
    m1[1].update(id_number=spouse.id_number, sex="female", birth_date=spouse.birth_date)
    v = validate_package(package([h1], m1), actor=personas["township_admin_a"])
    assert places(v) == [(MEMBER_SHEET, 3, "证件号码", "person_in_other_household", "H1")]
    assert v.errors[0].detail == "该人员现为户 A1-0001 的成员"
    assert v.moves.height == 0
    # Someone who may not see that household learns nothing about it.
    v = validate_package(package([h1], m1), actor=personas["outsider"])
    codes = {e.code: e for e in v.errors}
    assert codes["person_in_other_household"].detail == ""


def test_a_person_moves_when_the_file_holds_both_households(household_a1):
    spouse = household_a1.members.get(relation="spouse")
    head = household_a1.members.get(relation="head")
    old = household_row("A1-0001", head_name=head.name, household_size=1)
    old_members = [member_row("A1-0001", head.name, id_number=head.id_number)]
    new, new_members = family("H1", 2)
    new_members[1].update(
        id_number=spouse.id_number, sex="female", birth_date=spouse.birth_date, relation="spouse"
    )
    v = validate_package(package([old, new], old_members + new_members), actor=None)
    assert v.errors == []
    assert v.moves.select("from_household_no", "to_household_no").rows() == [("A1-0001", "H1")]
    # Still listed in the old household: the file holds the person twice.
    old_members.append(
        member_row(
            "A1-0001",
            spouse.name,
            "spouse",
            id_number=spouse.id_number,
            sex="female",
            birth_date=spouse.birth_date,
        )
    )
    old["household_size"] = 2
    v = validate_package(package([old, new], old_members + new_members), actor=None)
    assert {e.code for e in v.errors} == {"duplicate_person"}


def test_a_move_out_of_a_rejected_household_rejects_the_new_household(household_a1):
    spouse = household_a1.members.get(relation="spouse")
    head = household_a1.members.get(relation="head")
    old = household_row("A1-0001", head_name=head.name, household_size=1, housing_grade=None)
    old_members = [member_row("A1-0001", head.name, id_number=head.id_number)]
    new, new_members = family("H1", 2)
    new_members[1].update(id_number=spouse.id_number, sex="female", birth_date=spouse.birth_date)
    third, third_members = family("H2", 1)
    bad = Issue(HOUSEHOLD_SHEET, 2, "住房安全等级", "required")
    v = validate_package(
        package(
            [old, new, third], old_members + new_members + third_members, household_errors=[bad]
        ),
        actor=None,
    )
    assert places(v) == [
        (HOUSEHOLD_SHEET, 2, "住房安全等级", "required", "A1-0001"),
        (MEMBER_SHEET, 4, "证件号码", "person_in_other_household", "H1"),
    ]
    assert v.households["household_no"].to_list() == ["H2"]
    assert v.moves.height == 0


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sizes=st.lists(st.integers(1, 4), min_size=1, max_size=6), drop=st.integers(0, 30))
def test_rejected_rows_and_applied_rows_add_up(division_tree, sizes, drop):
    households, members = [], []
    for i, size in enumerate(sizes):
        h, m = family(f"P{i}", size)
        households.append(h)
        members += m
    # Break one member row (if any): its household alone is rejected.
    broken = drop % len(members)
    members[broken]["relation"] = "head"
    v = validate_package(package(households, members), actor=None)
    assert v.households.height + v.rejected_households == len(households)
    assert v.members.height + v.rejected_members == len(members)
    assert set(v.households["household_no"]).isdisjoint({e.household_no for e in v.errors})
