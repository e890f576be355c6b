import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from conftest import VILLAGE_A1, VILLAGE_A2, VILLAGE_B1
from fupin.core.audit import ChangeSource
from fupin.core.errors import NotFound, PermissionDenied
from fupin.core.models import AuditEvent
from fupin.registry.models import Household, Member, YearlyRecord
from fupin.registry.services import (
    household_update,
    member_add,
    member_leave,
    member_move,
    member_update,
    record_save,
)
from fupin.registry.tests.factories import (
    HouseholdDataFactory,
    MemberDataFactory,
    RecordDataFactory,
    register_household,
    valid_id_number,
)

SOURCE = ChangeSource.command("test")


def error_codes(exc: ValidationError) -> dict[str, set[str]]:
    return {k: {str(e.code) for e in v} for k, v in exc.error_dict.items()}


def test_register_writes_household_members_record_and_audit(household_a1):
    household = Household.objects.get(household_no="A1-0001")
    assert household.head_name == "王建国"
    assert household.head_name_initials == "wjg"
    assert household.members.filter(is_active=True).count() == 2
    record = household.records.get()
    assert record.per_capita_net_income == Decimal("1550.00")  # (2000+800+0+600-300)/2
    event = AuditEvent.objects.get(action="household.register")
    assert event.household_no == "A1-0001"
    assert event.actor_username == "village_cadre_a1"
    assert event.after["members"][0]["name"] == "王建国"
    assert event.division_path.endswith(f"{VILLAGE_A1}/")


def test_register_generates_a_household_number_in_the_village(personas):
    household = register_household(personas["village_cadre_a1"])
    assert household.household_no == f"{VILLAGE_A1}00001"
    second = register_household(personas["village_cadre_a1"])
    assert second.household_no == f"{VILLAGE_A1}00002"


@pytest.mark.parametrize(
    ("members", "record", "household", "field", "code"),
    [
        (lambda: [MemberDataFactory(relation="spouse")], {}, {}, "members", "no_head"),
        (lambda: [MemberDataFactory(), MemberDataFactory()], {}, {}, "members", "multiple_heads"),
        (
            lambda: [MemberDataFactory(id_number="371502197005170012")],
            {},
            {},
            "members.0.id_number",
            "id_checksum",
        ),
        (
            lambda: [MemberDataFactory(id_number="37150219700517001")],
            {},
            {},
            "members.0.id_number",
            "id_invalid",
        ),
        (
            lambda: [MemberDataFactory(id_number=valid_id_number(sex="male"), sex="female")],
            {},
            {},
            "members.0.sex",
            "id_sex_mismatch",
        ),
        (
            lambda: [
                MemberDataFactory(id_number=valid_id_number(), birth_date=dt.date(1970, 5, 18))
            ],
            {},
            {},
            "members.0.birth_date",
            "id_birth_mismatch",
        ),
        (lambda: [MemberDataFactory(health="robust")], {}, {}, "members.0.health", "bad_code"),
        (lambda: None, {"wage_income": Decimal("-1")}, {}, "wage_income", "out_of_range"),
        (lambda: None, {"housing_grade": "E"}, {}, "housing_grade", "bad_code"),
        (lambda: None, {}, {"main_cause": "laziness"}, "main_cause", "bad_code"),
        (lambda: None, {}, {"status": "exited"}, "exit_year", "exit_year_missing"),
        (lambda: None, {}, {"phone": "12345"}, "phone", "bad_format"),
        (lambda: None, {}, {"other_causes": ["illness"]}, "other_causes", "bad_code"),
    ],
)
def test_register_rejects_bad_input_and_saves_nothing(
    personas, members, record, household, field, code
):
    with pytest.raises(ValidationError) as exc:
        register_household(
            personas["village_cadre_a1"], members=members(), record=record, **household
        )
    assert code in error_codes(exc.value)[field]
    assert Household.objects.count() == 0
    assert Member.objects.count() == 0
    assert YearlyRecord.objects.count() == 0
    assert not AuditEvent.objects.filter(action="household.register").exists()


def test_register_rejects_a_size_that_differs_from_the_members(personas):
    from fupin.registry.services import household_register

    with pytest.raises(ValidationError) as exc:
        household_register(
            actor=personas["village_cadre_a1"],
            source=SOURCE,
            household=HouseholdDataFactory(),
            members=[MemberDataFactory()],
            record=RecordDataFactory(household_size=3),
        )
    assert "size_mismatch" in error_codes(exc.value)["household_size"]


def test_a_person_belongs_to_one_active_household(household_a1, personas):
    head = household_a1.members.get(relation="head")
    with pytest.raises(ValidationError) as exc:
        register_household(
            personas["village_cadre_a1"],
            members=[MemberDataFactory(id_number=head.id_number, birth_date=head.birth_date)],
        )
    assert "person_in_other_household" in error_codes(exc.value)["members.0.id_number"]
    # The database enforces it too, whatever writes.
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.create(
            household=Household.objects.create(
                household_no="X",
                division=household_a1.division,
                head_name="x",
                identified_year=2015,
                standard="national",
                category="general",
                main_cause="illness",
                status="not_out",
            ),
            name="x",
            id_number=head.id_number,
            person_key=head.person_key,
            sex="male",
            birth_date=head.birth_date,
            relation="head",
            health="healthy",
            labour="ordinary",
            basic_medical=True,
        )


def test_village_cadre_cannot_register_in_another_village(personas):
    with pytest.raises(ValidationError) as exc:
        register_household(personas["village_cadre_a1"], division_code=VILLAGE_A2)
    assert "unknown_division" in error_codes(exc.value)["division_code"]
    with pytest.raises(ValidationError) as exc:
        register_household(personas["leader"], division_code=VILLAGE_A2)
    assert "forbidden" in error_codes(exc.value)["division_code"]
    with pytest.raises(ValidationError) as exc:
        register_household(personas["village_cadre_a1"], division_code=VILLAGE_B1)
    assert "unknown_division" in error_codes(exc.value)["division_code"]


@pytest.mark.parametrize("persona", ["leader", "auditor", "department_user"])
def test_read_only_roles_cannot_change_a_household_they_see(household_a1, personas, persona):
    data = HouseholdDataFactory(main_cause="disability")
    with pytest.raises(PermissionDenied):
        household_update(actor=personas[persona], source=SOURCE, household=household_a1, data=data)


def test_outsider_gets_not_found_when_changing(household_a1, personas):
    with pytest.raises(NotFound):
        household_update(
            actor=personas["outsider"],
            source=SOURCE,
            household=household_a1,
            data=HouseholdDataFactory(),
        )


def test_update_audits_only_changed_fields(household_a1, personas):
    data = HouseholdDataFactory(main_cause="disability", other_causes=["lack_funds"])
    household_update(
        actor=personas["township_admin_a"],
        source=ChangeSource.web(),
        household=household_a1,
        data=data,
    )
    event = AuditEvent.objects.get(action="household.update")
    assert event.before == {"main_cause": "illness", "other_causes": []}
    assert event.after == {"main_cause": "disability", "other_causes": ["lack_funds"]}
    assert event.source == "web"


def test_member_add_update_leave(household_a1, personas):
    actor = personas["village_cadre_a1"]
    child = member_add(
        actor=actor,
        source=SOURCE,
        household=household_a1,
        data=MemberDataFactory(
            name="王小明",
            relation="son",
            born=dt.date(2012, 3, 1),
            schooling="primary",
            labour="none",
            education="primary",
        ),
    )
    assert household_a1.members.filter(is_active=True).count() == 3
    data = MemberDataFactory(
        name="王小明",
        relation="son",
        id_number=child.id_number,
        birth_date=child.birth_date,
        schooling="junior",
        labour="none",
        education="primary",
    )
    member_update(actor=actor, source=SOURCE, member=child, data=data)
    assert AuditEvent.objects.get(action="member.update").after == {"schooling": "junior"}
    member_leave(actor=actor, source=SOURCE, member=child, reason="外出求学落户")
    child.refresh_from_db()
    assert not child.is_active and child.left_reason == "外出求学落户"
    assert household_a1.members.filter(is_active=True).count() == 2


def test_head_cannot_leave_and_a_second_head_is_refused(household_a1, personas):
    actor = personas["village_cadre_a1"]
    head = household_a1.members.get(relation="head")
    with pytest.raises(ValidationError):
        member_leave(actor=actor, source=SOURCE, member=head, reason="x")
    with pytest.raises(ValidationError) as exc:
        member_add(
            actor=actor,
            source=SOURCE,
            household=household_a1,
            data=MemberDataFactory(relation="head"),
        )
    assert "multiple_heads" in error_codes(exc.value)["relation"]


def test_member_move_is_recorded_in_both_households(household_a1, personas):
    actor = personas["county_admin"]
    other = register_household(
        personas["township_admin_a"], division_code=VILLAGE_A2, household_no="A2-0001"
    )
    spouse = household_a1.members.get(relation="spouse")
    moved = member_move(
        actor=actor, source=SOURCE, member=spouse, to_household=other, relation="spouse"
    )
    assert moved.household == other and moved.is_active and moved.person_key == spouse.person_key
    spouse.refresh_from_db()
    assert not spouse.is_active
    assert AuditEvent.objects.filter(household_no="A1-0001", action="member.move_out").exists()
    assert AuditEvent.objects.filter(household_no="A2-0001", action="member.move_in").exists()


def test_record_save_adds_a_year_and_keeps_the_first(household_a1, personas):
    actor = personas["village_cadre_a1"]
    data = RecordDataFactory(
        survey_year=2019, household_size=2, wage_income=Decimal("9000"), housing_grade="A"
    )
    record_save(actor=actor, source=SOURCE, household=household_a1, data=data)
    years = list(household_a1.records.values_list("survey_year", flat=True))
    assert years == [2015, 2019]
    assert AuditEvent.objects.filter(action="record.create").count() == 1
    data.wage_income = Decimal("9500")
    record_save(actor=actor, source=SOURCE, household=household_a1, data=data)
    event = AuditEvent.objects.get(action="record.update")
    assert event.before == {"wage_income": "9000.00"} and event.after == {"wage_income": "9500.00"}


def test_record_save_rejects_negative_income_and_wrong_size(household_a1, personas):
    data = RecordDataFactory(survey_year=2019, household_size=5, business_cost=Decimal("-3"))
    with pytest.raises(ValidationError) as exc:
        record_save(
            actor=personas["village_cadre_a1"], source=SOURCE, household=household_a1, data=data
        )
    codes = error_codes(exc.value)
    assert "out_of_range" in codes["business_cost"]
    assert "size_mismatch" in codes["household_size"]
    assert household_a1.records.count() == 1


def test_disability_number_is_stored_as_given(personas):
    person = valid_id_number(sex="male")
    household = register_household(
        personas["village_cadre_a1"],
        members=[MemberDataFactory(id_number=person + "42", health="disabled")],
    )
    head = household.members.get()
    assert head.id_number == person + "42" and head.person_key == person
