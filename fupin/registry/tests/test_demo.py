"""The demo city generator: a small run must be as valid as data entered through the services."""

import collections
import datetime as dt
import io
from decimal import Decimal

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from fupin.accounts.models import User
from fupin.core.code_lists import code_lists
from fupin.core.models import AuditEvent
from fupin.divisions.models import Division
from fupin.registry.access import access_household_by_no
from fupin.registry.demo import (
    DEMO_PASSWORD,
    POVERTY_LINES,
    DemoError,
    generate_demo,
    id_numbers,
)
from fupin.registry.idnumbers import make_id_number, parse_id_number
from fupin.registry.models import Household, Member, YearlyRecord
from fupin.registry.pinyin import name_initials
from fupin.registry.selectors import HouseholdFilters, household_before_after, household_list
from fupin.registry.services import HOUSEHOLD_DIVISION_LEVELS
from fupin.registry.validation import (
    HOUSEHOLD_LISTS,
    MEMBER_LISTS,
    RECORD_LISTS,
    HouseholdData,
    MemberData,
    RecordData,
    validate_household,
    validate_member,
    validate_record,
)

HOUSEHOLDS = 300
SEED = 7


@pytest.fixture
def demo(db):
    return generate_demo(households=HOUSEHOLDS, seed=SEED)


def per_capita(record: YearlyRecord) -> Decimal:
    return record.per_capita_net_income


def test_it_writes_the_households_members_and_records_it_reports(demo):
    assert Household.objects.count() == HOUSEHOLDS == demo.households
    assert Member.objects.count() == demo.members
    assert YearlyRecord.objects.count() == demo.records
    # About 2.9 people per household, 1 to 7 each.
    assert 2.4 < demo.members / HOUSEHOLDS < 3.4
    sizes = collections.Counter(Member.objects.values_list("household_id", flat=True))
    assert set(sizes.values()) <= set(range(1, 8))


def test_villages_hang_under_every_township_with_correct_paths(demo):
    townships = Division.objects.filter(level="township")
    assert townships.count() == 136
    villages = Division.objects.filter(level="village").select_related("parent")
    assert villages.count() == demo.villages
    per_township = collections.Counter(v.parent.code for v in villages if v.parent)
    assert set(per_township) == set(townships.values_list("code", flat=True))
    assert min(per_township.values()) >= 35
    assert max(per_township.values()) <= 55
    for village in villages:
        assert village.parent is not None
        assert village.code[:9] == village.parent.code[:9]
        assert int(village.code[9:]) >= 201
        assert village.path == f"{village.parent.path}{village.code}/"
        assert village.name.endswith("村")
    for household in Household.objects.select_related("division"):
        assert household.division.level in HOUSEHOLD_DIVISION_LEVELS
        assert len(household.household_no) == 17
        assert household.household_no.startswith(household.division.code)


def test_every_id_number_is_valid_unique_and_agrees_with_sex_and_birth_date(demo):
    members = list(Member.objects.all())
    for member in members:
        parsed = parse_id_number(member.id_number)
        assert parsed.person_key == member.person_key
        assert parsed.sex == member.sex
        assert parsed.birth_date == member.birth_date
        assert member.person_key[:2] == "37"
        if len(member.id_number) == 20:
            assert member.health == "disabled"
            assert parsed.disability_category is not None
    assert len({m.person_key for m in members}) == len(members)
    assert len({m.public_id for m in members}) == len(members)
    # Most people born before 1997 carry an old 3725xx code of the 聊城地区.
    older = [m for m in members if m.birth_date.year < 1997]
    assert sum(m.person_key.startswith("3725") for m in older) > 0.7 * len(older)


def test_vectorised_id_numbers_equal_make_id_number():
    births = np.array(
        ["1949-12-31", "1980-01-01", "2004-02-29", "2016-07-01"], dtype="datetime64[D]"
    )
    addresses = np.array([372501, 371502, 372528, 371581])
    sequences = np.array([1, 2, 999, 100])
    ids = id_numbers(addresses, births, sequences)
    built = [bytes(row).decode() for row in ids]
    assert built == [
        make_id_number(str(a), dt.date.fromisoformat(str(b)), int(s))
        for a, b, s in zip(addresses, births, sequences, strict=True)
    ]


def test_the_data_passes_the_validation_of_the_registry(demo):
    lists = code_lists(*HOUSEHOLD_LISTS, *MEMBER_LISTS, *RECORD_LISTS)
    member_fields = list(MemberData.__dataclass_fields__)
    record_fields = list(RecordData.__dataclass_fields__)
    for household in Household.objects.select_related("division"):
        household_data = HouseholdData(
            division_code=household.division.code,
            identified_year=household.identified_year,
            standard=household.standard,
            category=household.category,
            main_cause=household.main_cause,
            status=household.status,
            other_causes=household.other_causes,
            exit_year=household.exit_year,
            phone=household.phone,
        )
        assert not validate_household(household_data, lists).items, household.household_no
    for member in Member.objects.all():
        errors, _ = validate_member(
            MemberData(**{f: getattr(member, f) for f in member_fields}), lists
        )
        assert not errors.items, (member.name, errors.items)
        if member.work_place == "none":
            assert member.work_months == 0
    for record in YearlyRecord.objects.select_related("household"):
        data = RecordData(**{f: getattr(record, f) for f in record_fields})
        errors = validate_record(
            data, identified_year=record.household.identified_year, lists=lists
        )
        assert not errors.items, errors.items
        for f in (
            "wage_income",
            "business_income",
            "property_income",
            "transfer_income",
            "business_cost",
            "excluded_income",
        ):
            assert getattr(record, f).as_tuple().exponent >= -2


def test_each_household_has_one_head_whose_name_it_mirrors(demo):
    heads = {m.household_id: m for m in Member.objects.filter(relation="head")}
    counts = collections.Counter(Member.objects.values_list("household_id", flat=True))
    assert len(heads) == HOUSEHOLDS
    for household in Household.objects.all():
        head = heads[household.pk]
        assert household.head_name == head.name
        assert household.head_name_initials == name_initials(head.name)
        records = list(household.records.order_by("survey_year"))
        assert [r.survey_year for r in records] == list(range(household.identified_year, 2021))
        assert {r.household_size for r in records} == {counts[household.pk]}


def test_families_are_plausible(demo):
    by_household = collections.defaultdict(list)
    for member in Member.objects.all():
        by_household[member.household_id].append(member)
    for members in by_household.values():
        head = next(m for m in members if m.relation == "head")
        for m in members:
            if m.relation in ("son", "daughter", "grandson", "granddaughter"):
                assert m.birth_date > head.birth_date, "a child is younger than the head"
            if m.relation in ("son", "daughter") and head.sex == "male":
                assert m.name[0] == head.name[0], "children share the head's surname"
            if m.relation in ("father", "mother"):
                assert m.birth_date < head.birth_date
            if m.relation == "spouse":
                assert m.sex != head.sex
    pupils = [
        m
        for m in Member.objects.all()
        if 7 <= (dt.date(2020, 7, 1) - m.birth_date).days / 365.25 < 15
    ]
    assert sum(m.schooling in ("primary", "junior") for m in pupils) >= 0.9 * len(pupils)


def test_incomes_rise_and_the_status_follows_the_records(demo):
    rising = 0
    statuses: collections.Counter[str] = collections.Counter()
    for household in Household.objects.prefetch_related("records"):
        records = sorted(household.records.all(), key=lambda r: r.survey_year)
        values = [per_capita(r) for r in records]
        rising += values[-1] > values[0]
        assert values[0] < POVERTY_LINES[household.identified_year]
        above = [
            r.survey_year
            for r, v in zip(records, values, strict=True)
            if v > POVERTY_LINES[r.survey_year]
        ]
        last_above = values[-1] > POVERTY_LINES[2020]
        statuses[household.status] += 1
        if household.status == "not_out":
            assert above == [] and household.exit_year is None
        else:
            assert household.exit_year == above[0]
            assert household.exit_year >= household.identified_year
            assert last_above == (household.status == "exited")
            exit_record = records[household.exit_year - household.identified_year]
            assert exit_record.housing_grade in ("A", "B")
            assert (
                exit_record.safe_water and exit_record.food_secure and exit_record.clothing_secure
            )
            assert all(m.basic_medical for m in household.members.all())
    assert rising > 0.9 * HOUSEHOLDS
    assert statuses["exited"] > 0.8 * HOUSEHOLDS
    assert statuses["not_out"] > 0


def test_illness_is_the_most_common_cause_and_causes_are_consistent(demo):
    causes = collections.Counter(Household.objects.values_list("main_cause", flat=True))
    assert causes.most_common(1)[0][0] == "illness"
    assert 0.3 < causes["illness"] / HOUSEHOLDS < 0.55
    for household in Household.objects.all():
        assert household.main_cause not in household.other_causes
        assert len(household.other_causes) <= 2
        assert len(set(household.other_causes)) == len(household.other_causes)
        if household.main_cause in ("marriage", "funeral"):
            assert household.identified_year >= 2016
        if household.main_cause == "illness":
            assert household.members.filter(health__in=["chronic", "serious_illness"]).exists()
        members = household.members.all()
        assert all(m.dibao == (household.category == "dibao") for m in members)
        assert all(m.tekun == (household.category == "tekun") for m in members)


def test_the_same_seed_gives_the_same_city(db):
    def snapshot():
        return (
            list(
                Household.objects.order_by("household_no").values_list(
                    "household_no", "head_name", "status"
                )
            ),
            list(
                Member.objects.order_by("person_key").values_list(
                    "person_key", "id_number", "name", "public_id"
                )
            ),
            list(
                YearlyRecord.objects.order_by("household__household_no", "survey_year").values_list(
                    "survey_year", "wage_income", "transfer_income"
                )
            ),
        )

    generate_demo(households=120, seed=11)
    first = snapshot()
    generate_demo(households=120, seed=11, replace=True)
    assert snapshot() == first
    generate_demo(households=120, seed=12, replace=True)
    assert snapshot()[1] != first[1]


def test_it_refuses_to_add_to_an_existing_registry_unless_replacing(demo):
    with pytest.raises(DemoError):
        generate_demo(households=10, seed=SEED)
    result = generate_demo(households=25, seed=SEED, replace=True)
    assert Household.objects.count() == 25 == result.households


def test_it_refuses_fewer_than_one_household(db):
    with pytest.raises(DemoError):
        generate_demo(households=0)


def test_one_audit_event_records_the_whole_generation(demo):
    events = AuditEvent.objects.filter(action="demo.generate")
    assert events.count() == 1
    event = events.get()
    assert event.after["households"] == HOUSEHOLDS
    assert event.after["seed"] == SEED
    assert event.source == "command"
    # Besides the one summary event, each household gets only its registration event.
    assert AuditEvent.objects.filter(action__startswith="household.").count() == HOUSEHOLDS
    assert not AuditEvent.objects.filter(action__startswith="member.").exists()


def test_demo_accounts_sign_in_and_see_their_own_area(demo):
    accounts = {a.username: a for a in demo.accounts}
    assert len(accounts) == 9
    for username in accounts:
        assert User.objects.get(username=username).check_password(DEMO_PASSWORD)
    city_admin = User.objects.get(username="demo_city_admin")
    assert household_list(actor=city_admin).count() == HOUSEHOLDS
    township = User.objects.get(username="demo_township_a")
    visible = list(household_list(actor=township))
    assert all(h.household_no.startswith("371502001") for h in visible)
    cadre = User.objects.get(username="demo_village_cadre")
    assert accounts["demo_village_cadre"].division_code == "371502001201"
    assert all(h.division.code == "371502001201" for h in household_list(actor=cadre))
    household = household_list(actor=city_admin, filters=HouseholdFilters(status="exited")).first()
    assert household is not None
    found = access_household_by_no(city_admin, household.household_no)
    comparison = household_before_after(found)
    assert comparison.first is not None and comparison.latest is not None
    assert comparison.latest.survey_year == 2020
    # A second run keeps the existing accounts.
    again = generate_demo(households=5, seed=SEED, replace=True)
    assert not any(a.created for a in again.accounts)


def test_the_command_prints_progress_and_the_accounts(db):
    out = io.StringIO()
    call_command("generate_demo", households=40, seed=5, stdout=out)
    text = out.getvalue()
    assert "members (write)" in text
    assert "demo_city_admin" in text and DEMO_PASSWORD in text and "聊城市" in text
    assert Household.objects.count() == 40
    with pytest.raises(CommandError, match="--replace"):
        call_command("generate_demo", households=40, stdout=io.StringIO())
    out = io.StringIO()
    call_command("generate_demo", households=40, if_empty=True, stdout=out)
    assert "not generated again" in out.getvalue()
    call_command("generate_demo", households=30, replace=True, stdout=io.StringIO())
    assert Household.objects.count() == 30


def test_each_demo_household_has_its_registration_in_the_history(transactional_db):
    from fupin.core.models import AuditEvent
    from fupin.registry.demo import generate_demo
    from fupin.registry.models import Household

    generate_demo(households=30, seed=7)
    numbers = set(Household.objects.values_list("household_no", flat=True))
    events = AuditEvent.objects.filter(action="household.register")
    assert set(events.values_list("household_no", flat=True)) == numbers
    event = events.first()
    assert event is not None and event.source == "command" and event.after["seed"] == 7
    assert event.division_path.endswith(
        Household.objects.get(household_no=event.household_no).division.code + "/"
    )
