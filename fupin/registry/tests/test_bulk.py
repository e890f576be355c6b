"""The bulk writer (registry/bulk.py): the database state and the history it leaves must be the
ones the per-household services leave."""

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from django.db import IntegrityError

from conftest import VILLAGE_A1, VILLAGE_A2
from fupin.core.audit import ChangeSource
from fupin.core.models import AuditEvent
from fupin.divisions.models import Division
from fupin.registry.bulk import (
    HOUSEHOLD_SCHEMA,
    MEMBER_SCHEMA,
    BulkCounts,
    registry_bulk_upsert,
)
from fupin.registry.models import Household, Member, YearlyRecord
from fupin.registry.pinyin import name_initials
from fupin.registry.services import household_snapshot, member_snapshot, record_snapshot
from fupin.registry.tests.factories import MemberDataFactory, register_household, valid_id_number

pytestmark = pytest.mark.django_db

SOURCE = ChangeSource.import_file(file_name="test.xlsx", checksum="ab" * 32)


def household(no: str, village: str = VILLAGE_A1, **values: Any) -> dict[str, Any]:
    division = Division.objects.get(code=village)
    row: dict[str, Any] = {
        "household_no": no,
        "division_id": division.pk,
        "division_code": division.code,
        "division_path": division.path,
        "head_name": "王建国",
        "phone": "13812345678",
        "identified_year": 2015,
        "standard": "provincial",
        "category": "general",
        "main_cause": "illness",
        "other_causes": [],
        "status": "not_out",
        "exit_year": None,
        "survey_year": 2015,
        "household_size": 1,
        "wage_income": 200000,
        "business_income": 80000,
        "property_income": 0,
        "transfer_income": 60000,
        "business_cost": 30000,
        "excluded_income": 0,
        "farmland_mu": None,
        "housing_grade": "B",
        "safe_water": True,
        "food_secure": True,
        "clothing_secure": True,
        "has_electricity": None,
    }
    row.update(values)
    return row


def member(no: str, name: str = "王建国", relation: str = "head", **values: Any) -> dict[str, Any]:
    sex = values.pop("sex", "male")
    birth = values.pop("birth_date", dt.date(1970, 5, 17))
    id_number = values.pop("id_number", None) or valid_id_number(birth=birth, sex=sex)
    row: dict[str, Any] = {
        "household_no": no,
        "name": name,
        "id_number": id_number,
        "person_key": id_number[:18],
        "sex": sex,
        "birth_date": birth,
        "relation": relation,
        "health": "healthy",
        "labour": "ordinary",
        "basic_medical": True,
        "ethnicity": "01",
        "education": "junior",
        "schooling": "not_student",
        "work_place": "none",
        "work_months": 0,
        "critical_illness": None,
        "pension": None,
        "dibao": None,
        "tekun": None,
    }
    row.update(values)
    return row


def upsert(
    households: list[dict[str, Any]],
    members: list[dict[str, Any]],
    *,
    actor: Any = None,
    write: bool = True,
    keep: frozenset[str] = frozenset(),
) -> BulkCounts:
    return registry_bulk_upsert(
        actor=actor,
        source=SOURCE,
        households=pl.DataFrame(households, schema=HOUSEHOLD_SCHEMA),
        members=pl.DataFrame(members, schema=MEMBER_SCHEMA),
        left_reason="import",
        keep=keep,
        write=write,
    )


@pytest.fixture
def family(division_tree):
    """A household of three as rows: head, spouse, son."""
    return (
        [household("H1", household_size=3, other_causes=["disability"], farmland_mu=150)],
        [
            member("H1", "王建国"),
            member("H1", "李秀英", "spouse", sex="female"),
            member("H1", "王小明", "son", birth_date=dt.date(2005, 3, 1), schooling="junior"),
        ],
    )


def test_bulk_upsert_creates_households_members_and_records(family):
    counts = upsert(*family)
    assert (counts.households_created, counts.members_created) == (1, 3)
    h = Household.objects.get(household_no="H1")
    assert h.division.code == VILLAGE_A1
    assert (h.head_name, h.head_name_initials) == ("王建国", name_initials("王建国"))
    assert h.other_causes == ["disability"]
    assert h.phone == "13812345678"
    assert h.exit_year is None
    members = list(h.members.order_by("id"))
    assert [m.name for m in members] == ["王建国", "李秀英", "王小明"]
    assert all(m.is_active and m.left_reason == "" and m.left_on is None for m in members)
    assert members[2].birth_date == dt.date(2005, 3, 1)
    assert members[0].critical_illness is None
    assert Member.objects.filter(public_id=members[1].public_id).get() == members[1]
    record = h.records.get()
    assert record.wage_income == Decimal("2000.00")
    assert record.farmland_mu == Decimal("1.50")
    assert record.excluded_income == Decimal(0)
    assert record.per_capita_net_income == Decimal("1033.33")
    event = AuditEvent.objects.get(household_no="H1")
    assert (event.action, event.entity, event.entity_key) == (
        "household.register",
        "household",
        "H1",
    )
    assert event.source == "import"
    assert event.source_detail == {"file_name": "test.xlsx", "sha256": "ab" * 32}
    assert event.division_path == h.division.path
    assert event.after["members"][1] == member_snapshot(members[1])
    # The whole event is what household_register would write (services' snapshots).
    assert event.after == {
        **household_snapshot(h),
        "members": [member_snapshot(m) for m in members],
        "record": record_snapshot(record),
    }
    assert event.after["record"]["wage_income"] == "2000.00"
    assert event.after["record"]["farmland_mu"] == "1.50"
    assert event.after["other_causes"] == ["disability"]


def test_bulk_upsert_twice_changes_nothing_the_second_time(family):
    upsert(*family)
    events = AuditEvent.objects.count()
    stamps = list(Member.objects.values_list("updated_at", flat=True))
    counts = upsert(*family)
    assert counts == BulkCounts(households_unchanged=1, members_unchanged=3)
    assert AuditEvent.objects.count() == events
    assert list(Member.objects.values_list("updated_at", flat=True)) == stamps


def test_a_household_registered_by_the_services_is_unchanged_by_the_same_rows(personas):
    actor = personas["village_cadre_a1"]
    head = MemberDataFactory(name="赵大海", relation="head", work_months=None, ethnicity="")
    spouse = MemberDataFactory(name="钱小红", relation="spouse", sex="female", dibao=True)
    register_household(
        actor, household_no="S1", members=[head, spouse], other_causes=["disability"], phone=""
    )
    rows = [
        member(
            "S1",
            m.name,
            m.relation,
            id_number=m.id_number,
            sex=m.sex,
            birth_date=m.birth_date,
            work_months=m.work_months,
            ethnicity=m.ethnicity,
            dibao=m.dibao,
        )
        for m in (head, spouse)
    ]
    h = household("S1", head_name="赵大海", household_size=2, other_causes=["disability"], phone="")
    counts = upsert([h], rows, actor=actor)
    assert counts == BulkCounts(households_unchanged=1, members_unchanged=2)


def test_bulk_upsert_updates_only_what_changed_and_says_so(family):
    upsert(*family)
    households, members = family
    households[0]["phone"] = "13900001111"
    members[2]["schooling"] = "senior"
    counts = upsert(households, members)
    assert (counts.households_updated, counts.members_updated, counts.members_unchanged) == (
        1,
        1,
        2,
    )
    assert Household.objects.get().phone == "13900001111"
    update = AuditEvent.objects.get(action="household.update")
    assert (update.before, update.after) == ({"phone": "13812345678"}, {"phone": "13900001111"})
    son = Member.objects.get(name="王小明")
    event = AuditEvent.objects.get(action="member.update")
    assert event.entity_key == str(son.public_id)
    assert (event.before, event.after) == ({"schooling": "junior"}, {"schooling": "senior"})
    assert not AuditEvent.objects.filter(action__startswith="record.").exists()


def test_a_member_absent_from_the_rows_leaves_and_a_new_one_joins(family):
    upsert(*family)
    households, members = family
    son = members.pop()
    members.append(member("H1", "王小红", "daughter", sex="female", birth_date=dt.date(2008, 1, 1)))
    counts = upsert(households, members)
    assert (counts.members_left, counts.members_created, counts.members_unchanged) == (1, 1, 2)
    left = Member.objects.get(person_key=son["person_key"])
    assert not left.is_active
    assert left.left_reason == "import"
    assert left.left_on is not None
    assert Member.objects.filter(household__household_no="H1", is_active=True).count() == 3
    leave = AuditEvent.objects.get(action="member.leave")
    assert leave.before["is_active"] is True
    assert leave.after == member_snapshot(left)
    add = AuditEvent.objects.get(action="member.add")
    assert add.after == member_snapshot(Member.objects.get(name="王小红"))


def test_a_new_head_takes_over_inside_the_household(family):
    upsert(*family)
    households, members = family
    members[0]["relation"] = "spouse"
    members[1]["relation"] = "head"
    households[0]["head_name"] = "李秀英"
    counts = upsert(households, members)
    assert counts.members_updated == 2
    h = Household.objects.get()
    assert (h.head_name, h.head_name_initials) == ("李秀英", name_initials("李秀英"))
    assert h.members.get(is_active=True, relation="head").name == "李秀英"
    update = AuditEvent.objects.get(action="household.update")
    assert update.after == {"head_name": "李秀英"}


def test_the_head_leaving_with_a_member_becoming_head(family):
    upsert(*family)
    households, members = family
    members.pop(0)
    members[0]["relation"] = "head"
    households[0].update(head_name="李秀英", household_size=2)
    upsert(households, members)
    assert Household.objects.get().members.get(is_active=True, relation="head").name == "李秀英"


def test_a_new_year_adds_a_record_and_keeps_the_old_one(family):
    upsert(*family)
    households, members = family
    households[0].update(survey_year=2016, wage_income=300050, farmland_mu=None)
    counts = upsert(households, members)
    assert counts.households_updated == 1
    assert list(YearlyRecord.objects.values_list("survey_year", flat=True)) == [2015, 2016]
    record = YearlyRecord.objects.get(survey_year=2016)
    assert record.wage_income == Decimal("3000.50")
    event = AuditEvent.objects.get(action="record.create")
    assert event.entity_key == "H1/2016"
    assert event.after["wage_income"] == "3000.50"
    assert "farmland_mu" not in event.after and event.before == {}
    households[0]["wage_income"] = 300051
    upsert(households, members)
    event = AuditEvent.objects.get(action="record.update")
    assert (event.before, event.after) == ({"wage_income": "3000.50"}, {"wage_income": "3000.51"})


def test_a_person_moves_between_two_households_of_the_same_call(family):
    households, members = family
    households.append(household("H2", VILLAGE_A2, head_name="张伟"))
    members.append(member("H2", "张伟"))
    upsert(households, members)
    # The son marries into H2.
    son = members.pop(2)
    son.update(household_no="H2", relation="son_in_law")
    members.append(son)
    households[0]["household_size"] = 2
    households[1]["household_size"] = 2
    counts = upsert(households, members)
    assert (counts.members_moved, counts.members_left, counts.members_created) == (1, 1, 1)
    old = Member.objects.get(person_key=son["person_key"], is_active=False)
    new = Member.objects.get(person_key=son["person_key"], is_active=True)
    assert old.household.household_no == "H1" and new.household.household_no == "H2"
    assert old.left_reason.endswith("H2") and "H2" in old.left_reason
    assert new.relation == "son_in_law"
    out = AuditEvent.objects.get(action="member.move_out")
    assert (out.household_no, out.entity_key) == ("H1", str(old.public_id))
    assert out.after == {"person": "王小明", "from": "H1", "to": "H2"}
    assert out.before["household"] == "H1"
    came = AuditEvent.objects.get(action="member.move_in")
    assert (came.household_no, came.entity_key) == ("H2", str(new.public_id))
    assert came.after["to"] == "H2" and came.after["member"] == str(new.public_id)
    assert not AuditEvent.objects.filter(action="member.leave").exists()


def test_absent_optional_columns_keep_the_registry_values(family):
    upsert(*family)
    households, members = family
    households[0].update(phone=None, other_causes=None, farmland_mu=None)
    for row in members:
        row.update(ethnicity=None, schooling=None, work_months=None)
    keep = frozenset(
        {"phone", "other_causes", "farmland_mu", "ethnicity", "schooling", "work_months"}
    )
    assert upsert(households, members, keep=keep).households_unchanged == 1
    counts = upsert(households, members)
    assert counts.households_updated == 1
    h = Household.objects.get()
    assert (h.phone, h.other_causes) == ("", [])
    assert set(h.members.values_list("schooling", flat=True)) == {""}


def test_without_writing_it_only_counts(family):
    events = AuditEvent.objects.count()
    counts = upsert(*family, write=False)
    assert (counts.households_created, counts.members_created) == (1, 3)
    assert not Household.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_person_active_in_a_household_outside_the_call_is_refused(family, personas):
    households, members = family
    other = register_household(personas["village_cadre_a1"], household_no="X1")
    members[1]["id_number"] = members[1]["person_key"] = other.members.get().person_key
    members[1]["sex"] = "male"
    with pytest.raises(IntegrityError):
        upsert(households, members)
