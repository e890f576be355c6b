"""Assistance services against the database, with the personas of two sibling townships: rights,
validation before any write (nothing saved on bad input), one audit row per change."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from conftest import VILLAGE_A1, VILLAGE_A2, VILLAGE_B1
from fupin.assistance.catalogue import (
    catalogue_load_bundled,
    clean_extra,
    read_bundled,
    validate_field_specs,
)
from fupin.assistance.models import (
    BenefitPayment,
    Disbursement,
    Measure,
    MeasureStage,
    MeasureType,
    Milestone,
    Photo,
    Project,
    ProjectBeneficiary,
)
from fupin.assistance.services import (
    DisbursementData,
    MeasureTypeData,
    PhotoData,
    beneficiaries_add,
    benefits_distribute,
    disbursement_add,
    measure_set_status,
    measure_stage_record,
    measure_type_create,
    measure_type_update,
    measure_update,
    milestone_set,
    photo_add,
    project_set_funding,
    project_update,
)
from fupin.assistance.tests.factories import (
    SOURCE,
    MeasureDataFactory,
    ProjectDataFactory,
    make_measure,
    make_project,
)
from fupin.assistance.tests.images import jpeg, png
from fupin.core.errors import NotFound, PermissionDenied
from fupin.core.models import AuditEvent

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
TOMORROW = TODAY + dt.timedelta(days=1)


def codes(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return {k: [e.code or "" for e in v] for k, v in exc.value.error_dict.items()}


def evidence_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "evidence"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- the catalogue ----------------------------------------------------------------------------


def test_bundled_catalogue_is_loaded_after_migrate_and_covers_the_families():
    types = {t.code: t for t in MeasureType.objects.all()}
    assert len(types) == len(read_bundled()) >= 25
    families = {t.family for t in types.values()}
    assert families == {
        "industry",
        "employment",
        "relocation",
        "ecology",
        "education",
        "health",
        "social_security",
        "housing",
        "finance",
    }
    for code in (
        "donkey_price_gap",
        "donkey_foster",
        "vegetable_greenhouse",
        "pv_dividend",
        "public_welfare_job",
        "yulu_plan",
        "dibao",
        "tekun",
        "microcredit",
        "housing_renovation",
        "relocation",
        "ecological_compensation",
    ):
        assert code in types
    assert types["housing_renovation"].has_stages
    assert types["yulu_plan"].income_component == "excluded"
    assert types["pv_dividend"].default_income == Decimal("500.00")


def test_reloading_the_catalogue_keeps_a_city_administrators_changes(personas):
    pv = MeasureType.objects.get(code="pv_dividend")
    measure_type_update(
        actor=personas["city_admin"],
        source=SOURCE,
        measure_type=pv,
        data=MeasureTypeData(
            code="pv_dividend",
            family="industry",
            name_zh="光伏收益（本市）",
            name_en="PV",
            fields=pv.fields,
            income_component="property",
            default_income=Decimal("600"),
        ),
    )
    assert catalogue_load_bundled() == 0
    pv.refresh_from_db()
    assert pv.name_zh == "光伏收益（本市）" and pv.default_income == Decimal("600.00")
    MeasureType.objects.filter(code="dibao").delete()
    assert catalogue_load_bundled() == 1


@pytest.mark.parametrize(
    "spec",
    [
        "not a list",
        [{"key": "Bad Key", "type": "text", "label_zh": "甲"}],
        [{"key": "a", "type": "colour", "label_zh": "甲"}],
        [{"key": "a", "type": "text"}],
        [{"key": "a", "type": "choice", "label_zh": "甲", "choices": []}],
        [{"key": "a", "type": "integer", "label_zh": "甲", "min": 5, "max": 1}],
        [
            {"key": "a", "type": "text", "label_zh": "甲"},
            {"key": "a", "type": "text", "label_zh": "乙"},
        ],
    ],
)
def test_field_specs_are_checked(spec):
    _specs, errors = validate_field_specs(spec)
    assert errors


def test_extra_values_are_typed_and_checked():
    specs, errors = validate_field_specs(
        [
            {"key": "n", "type": "integer", "label_zh": "数", "required": True, "min": 1, "max": 5},
            {"key": "amount", "type": "decimal", "label_zh": "额"},
            {"key": "on", "type": "date", "label_zh": "日"},
            {"key": "ok", "type": "boolean", "label_zh": "是否"},
            {"key": "c", "type": "choice", "label_zh": "选", "choices": [{"value": "x"}]},
        ]
    )
    assert not errors
    clean, errors = clean_extra(
        specs, {"n": "3", "amount": "12.5", "on": "2016-01-02", "ok": "是", "c": "x"}
    )
    assert not errors
    assert clean == {"n": 3, "amount": "12.50", "on": "2016-01-02", "ok": True, "c": "x"}
    _clean, errors = clean_extra(
        specs,
        {"n": "9", "amount": "-1", "on": TOMORROW.isoformat(), "ok": "maybe", "c": "y", "zz": 1},
    )
    found = {k: [e.code for e in v] for k, v in errors.items.items()}
    assert found == {
        "extra.zz": ["unknown_field"],
        "extra.n": ["out_of_range"],
        "extra.amount": ["negative_amount"],
        "extra.on": ["future_date"],
        "extra.ok": ["bad_format"],
        "extra.c": ["bad_code"],
    }
    _clean, errors = clean_extra(specs, {})
    assert [e.code for e in errors.items["extra.n"]] == ["required"]


def test_only_a_city_administrator_adds_measure_types(personas):
    data = MeasureTypeData(
        code="cattle_loan",
        family="finance",
        name_zh="养牛贷款",
        name_en="Cattle loan",
        fields=[{"key": "head", "type": "integer", "label_zh": "头数", "min": 1}],
    )
    with pytest.raises(PermissionDenied):
        measure_type_create(actor=personas["county_admin"], source=SOURCE, data=data)
    created = measure_type_create(actor=personas["city_admin"], source=SOURCE, data=data)
    assert created.fields[0]["key"] == "head" and not created.is_bundled
    event = AuditEvent.objects.get(action="measure_type.create")
    assert event.entity_key == "cattle_loan" and event.division_path.startswith("370000000000/")
    with pytest.raises(ValidationError) as exc:
        measure_type_create(actor=personas["city_admin"], source=SOURCE, data=data)
    assert codes(exc) == {"code": ["duplicate"]}


def test_a_field_that_measures_use_cannot_be_removed(personas, household_a1):
    make_measure(personas["village_cadre_a1"], household_a1)
    pv = MeasureType.objects.get(code="pv_dividend")
    data = MeasureTypeData(
        code="pv_dividend",
        family="industry",
        name_zh=pv.name_zh,
        name_en=pv.name_en,
        fields=[f for f in pv.fields if f["key"] != "station"],
        income_component=pv.income_component,
    )
    with pytest.raises(ValidationError) as exc:
        measure_type_update(actor=personas["city_admin"], source=SOURCE, measure_type=pv, data=data)
    assert codes(exc) == {"fields": ["field_in_use"]}


# --- measures ---------------------------------------------------------------------------------


def test_a_cadre_gives_a_household_a_measure_with_its_details(personas, household_a1):
    measure = make_measure(
        personas["village_cadre_a1"],
        household_a1,
        type_code="donkey_price_gap",
        content="差价送驴2头",
        planned_amount=Decimal("3000.00"),
        expected_income=Decimal("2000.00"),
    )
    assert measure.status == Measure.Status.PLANNED
    assert measure.extra == {"donkeys": 2, "cooperative": "东阿阿胶合作社"}
    event = AuditEvent.objects.get(action="measure.create")
    assert event.household_no == "A1-0001"
    assert event.entity_key == str(measure.public_id)
    assert event.after["type"] == "donkey_price_gap"
    assert event.after["planned_amount"] == "3000.00"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"planned_amount": Decimal("-1")}, {"planned_amount": ["negative_amount"]}),
        ({"actual_amount": Decimal("-0.01")}, {"actual_amount": ["negative_amount"]}),
        ({"expected_income": Decimal("-500")}, {"expected_income": ["negative_amount"]}),
        ({"status": "under_way", "started_on": TOMORROW}, {"started_on": ["future_date"]}),
        (
            {
                "status": "done",
                "started_on": TODAY,
                "completed_on": TOMORROW,
                "actual_amount": Decimal(1),
            },
            {"completed_on": ["future_date"]},
        ),
        ({"status": "done", "completed_on": TODAY}, {"actual_amount": ["required"]}),
        ({"status": "verified"}, {"status": ["bad_transition"]}),
        ({"year": 2010}, {"year": ["out_of_range"]}),
        ({"quarter": 5}, {"quarter": ["out_of_range"]}),
        ({"type_code": "nope"}, {"type": ["bad_code"]}),
        ({"content": " "}, {"content": ["required"]}),
        (
            {"extra": {"station": "", "capacity_kw": "abc"}},
            {"extra.station": ["required"], "extra.capacity_kw": ["bad_format"]},
        ),
        ({"fund_source": "moon"}, {"fund_source": ["bad_code"]}),
        ({"type_code": "public_welfare_job"}, {"member": ["required"]}),
    ],
)
def test_bad_measure_input_is_refused_at_the_field_and_nothing_is_saved(
    personas, household_a1, values, expected
):
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as exc:
        make_measure(personas["village_cadre_a1"], household_a1, **values)
    assert codes(exc) == expected
    assert Measure.objects.count() == 0
    assert AuditEvent.objects.count() == before


def test_a_member_measure_names_a_member_of_the_household(personas, household_a1, household_b1):
    cadre = personas["village_cadre_a1"]
    spouse = household_a1.members.get(relation="spouse")
    measure = make_measure(
        cadre, household_a1, type_code="public_welfare_job", member_id=str(spouse.public_id)
    )
    assert measure.member == spouse
    stranger = household_b1.members.get()
    with pytest.raises(ValidationError) as exc:
        make_measure(
            cadre, household_a1, type_code="public_welfare_job", member_id=str(stranger.public_id)
        )
    assert codes(exc) == {"member": ["bad_code"]}


def test_measures_follow_the_household_scope(personas, household_a1, household_b1):
    with pytest.raises(NotFound):
        make_measure(personas["village_cadre_a1"], household_b1)
    with pytest.raises(PermissionDenied):
        make_measure(personas["leader"], household_a1)
    assert Measure.objects.count() == 0


def test_status_moves_planned_under_way_done_and_the_township_verifies(personas, household_a1):
    cadre = personas["village_cadre_a1"]
    measure = make_measure(cadre, household_a1)
    day = TODAY - dt.timedelta(days=30)
    measure_set_status(actor=cadre, source=SOURCE, measure=measure, status="under_way", on=day)
    measure_set_status(
        actor=cadre,
        source=SOURCE,
        measure=measure,
        status="done",
        on=TODAY,
        actual_amount=Decimal("0"),
        recorded_income=Decimal("520"),
    )
    assert (measure.started_on, measure.completed_on) == (day, TODAY)
    with pytest.raises(PermissionDenied):
        measure_set_status(actor=cadre, source=SOURCE, measure=measure, status="verified")
    measure.refresh_from_db()
    assert measure.status == "done"
    measure_set_status(
        actor=personas["township_admin_a"], source=SOURCE, measure=measure, status="verified"
    )
    measure.refresh_from_db()
    assert measure.status == "verified"
    assert measure.verified_by == personas["township_admin_a"]
    assert measure.recorded_income == Decimal("520.00")
    assert [e.action for e in AuditEvent.objects.filter(entity="measure").order_by("id")] == [
        "measure.create",
        "measure.status",
        "measure.status",
        "measure.verify",
    ]
    # Verified is final.
    with pytest.raises(ValidationError) as exc:
        measure_update(actor=cadre, source=SOURCE, measure=measure, data=MeasureDataFactory())
    assert exc.value.code == "verified_locked"
    with pytest.raises(ValidationError):
        measure_set_status(
            actor=personas["county_admin"], source=SOURCE, measure=measure, status="done"
        )


def test_a_measure_cannot_skip_to_verified_or_be_done_in_the_future(personas, household_a1):
    measure = make_measure(personas["township_admin_a"], household_a1)
    with pytest.raises(ValidationError) as exc:
        measure_set_status(
            actor=personas["township_admin_a"], source=SOURCE, measure=measure, status="verified"
        )
    assert codes(exc) == {"status": ["bad_transition"]}
    with pytest.raises(ValidationError) as exc:
        measure_set_status(
            actor=personas["township_admin_a"],
            source=SOURCE,
            measure=measure,
            status="done",
            on=TOMORROW,
            actual_amount=Decimal(0),
        )
    assert codes(exc) == {"on": ["future_date"]}
    measure.refresh_from_db()
    assert measure.status == "planned" and measure.completed_on is None


def test_housing_renovation_stages_come_in_order(personas, household_a1):
    cadre = personas["village_cadre_a1"]
    measure = make_measure(
        cadre, household_a1, type_code="housing_renovation", content="D级危房拆除重建"
    )
    start = TODAY - dt.timedelta(days=90)
    with pytest.raises(ValidationError) as exc:
        measure_stage_record(
            actor=cadre, source=SOURCE, measure=measure, stage="completed", on=start
        )
    assert codes(exc) == {"stage": ["stage_order"]}
    measure_stage_record(actor=cadre, source=SOURCE, measure=measure, stage="started", on=start)
    with pytest.raises(ValidationError) as exc:
        measure_stage_record(
            actor=cadre,
            source=SOURCE,
            measure=measure,
            stage="completed",
            on=start - dt.timedelta(days=1),
        )
    assert codes(exc) == {"on": ["stage_order"]}
    with pytest.raises(ValidationError) as exc:
        measure_stage_record(
            actor=cadre, source=SOURCE, measure=measure, stage="completed", on=TOMORROW
        )
    assert codes(exc) == {"on": ["future_date"]}
    for stage, days in (("completed", 40), ("accepted", 30), ("moved_in", 10)):
        measure_stage_record(
            actor=cadre,
            source=SOURCE,
            measure=measure,
            stage=stage,
            on=TODAY - dt.timedelta(days=days),
        )
    assert [s.stage for s in MeasureStage.objects.filter(measure=measure).order_by("on")] == [
        "started",
        "completed",
        "accepted",
        "moved_in",
    ]
    other = make_measure(cadre, household_a1)
    with pytest.raises(ValidationError) as exc:
        measure_stage_record(actor=cadre, source=SOURCE, measure=other, stage="started", on=start)
    assert codes(exc) == {"stage": ["no_stages"]}


# --- photos -----------------------------------------------------------------------------------


def test_a_photo_keeps_its_exif_time_and_position(personas, household_a1):
    cadre = personas["village_cadre_a1"]
    measure = make_measure(cadre, household_a1, type_code="housing_renovation")
    data = jpeg(
        taken="2016:05:03 10:20:30", latitude=Decimal("36.456789"), longitude=Decimal("115.985432")
    )
    photo = photo_add(
        actor=cadre,
        source=SOURCE,
        upload=data,
        data=PhotoData(
            phase="before", taken_at=timezone.now() - dt.timedelta(days=3), caption="改造前"
        ),
        measure=measure,
    )
    assert photo.content_type == "image/jpeg" and (photo.width, photo.height) == (2, 2)
    assert photo.taken_at_origin == "exif"
    assert photo.taken_at == dt.datetime(
        2016, 5, 3, 10, 20, 30, tzinfo=timezone.get_default_timezone()
    )
    assert (photo.latitude, photo.longitude) == (Decimal("36.456789"), Decimal("115.985432"))
    assert photo.position_origin == "exif"
    stored = Path(photo.file.path)
    assert stored.read_bytes() == data
    assert stored.is_relative_to(Path(settings.MEDIA_ROOT) / "evidence")
    assert AuditEvent.objects.filter(action="measure.photo", household_no="A1-0001").exists()


def test_without_exif_the_entered_time_and_position_are_kept(personas, household_a1):
    cadre = personas["village_cadre_a1"]
    measure = make_measure(cadre, household_a1)
    taken = timezone.now() - dt.timedelta(hours=2)
    photo = photo_add(
        actor=cadre,
        source=SOURCE,
        upload=png(),
        data=PhotoData(taken_at=taken, latitude=Decimal("36.4"), longitude=Decimal("115.9")),
        measure=measure,
    )
    assert photo.content_type == "image/png"
    assert (photo.taken_at, photo.taken_at_origin) == (taken, "entered")
    assert photo.position_origin == "entered"


@pytest.mark.parametrize(
    ("upload", "data", "expected"),
    [
        (b"GIF89a not what we take", PhotoData(), {"file": ["not_an_image"]}),
        (b"%PDF-1.7\n", PhotoData(), {"file": ["not_an_image"]}),
        (b"\xff\xd8\xff\xe0 truncated", PhotoData(), {"file": ["not_an_image"]}),
        (png()[:-6], PhotoData(), {"file": ["not_an_image"]}),
        (b"", PhotoData(), {"file": ["required"]}),
        (jpeg(padding=5000), PhotoData(), {"file": ["too_large"]}),
        (
            png(),
            PhotoData(taken_at=timezone.now() + dt.timedelta(days=1)),
            {"taken_at": ["future_date"]},
        ),
        (
            png(),
            PhotoData(latitude=Decimal("95"), longitude=Decimal("1")),
            {"latitude": ["out_of_range"]},
        ),
        (png(), PhotoData(latitude=Decimal("36")), {"longitude": ["required"]}),
        (png(), PhotoData(phase="before"), {"phase": ["no_stages"]}),
    ],
)
def test_a_bad_photo_is_refused_and_nothing_is_stored(
    personas, household_a1, settings, upload, data, expected
):
    settings.PHOTO_MAX_BYTES = 4096
    measure = make_measure(personas["village_cadre_a1"], household_a1)
    with pytest.raises(ValidationError) as exc:
        photo_add(
            actor=personas["village_cadre_a1"],
            source=SOURCE,
            upload=upload,
            data=data,
            measure=measure,
        )
    assert codes(exc) == expected
    assert Photo.objects.count() == 0
    assert evidence_files() == []


# --- projects ---------------------------------------------------------------------------------


def test_a_project_is_created_with_budget_and_planned_milestones(personas):
    project = make_project(
        personas["township_admin_a"],
        village_codes=[VILLAGE_A1, VILLAGE_A2],
        funding={
            "central": Decimal("300000"),
            "county": Decimal("50000"),
            "self_raised": Decimal("1000"),
        },
        planned={"approval": dt.date(2016, 3, 1), "start": dt.date(2016, 5, 1)},
    )
    assert project.code == "XM2016-371502-0001"
    assert make_project(personas["township_admin_a"]).code == "XM2016-371502-0002"
    assert project.funding.count() == 3
    assert set(Milestone.objects.filter(project=project).values_list("kind", flat=True)) == {
        "approval",
        "start",
    }
    event = AuditEvent.objects.get(action="project.create", entity_key=project.code)
    assert event.after["funding"]["central"] == "300000.00"


def test_project_villages_lie_inside_its_division(personas):
    with pytest.raises(ValidationError) as exc:
        make_project(personas["township_admin_a"], village_codes=[VILLAGE_B1])
    assert codes(exc) == {"village_codes": ["not_in_division"]}
    with pytest.raises(ValidationError) as exc:
        make_project(
            personas["township_admin_a"], division_code="371502002000", village_codes=[VILLAGE_B1]
        )
    assert codes(exc) == {"division_code": ["unknown_division"]}
    with pytest.raises(ValidationError) as exc:
        make_project(personas["township_admin_a"], funding={"central": Decimal("-5")})
    assert codes(exc) == {"funding.central": ["negative_amount"]}
    assert Project.objects.count() == 0


def test_disbursements_stay_within_the_budget_of_their_source(personas):
    admin = personas["township_admin_a"]
    project = make_project(admin, funding={"central": Decimal("1000")})
    day = TODAY - dt.timedelta(days=1)
    disbursement_add(
        actor=admin,
        source=SOURCE,
        project=project,
        data=DisbursementData("central", Decimal("600"), day),
    )
    for data, expected in (
        (DisbursementData("central", Decimal("400.01"), day), {"amount": ["over_budget"]}),
        (DisbursementData("county", Decimal("1"), day), {"source": ["over_budget"]}),
        (DisbursementData("central", Decimal("-1"), day), {"amount": ["negative_amount"]}),
        (DisbursementData("central", Decimal("1"), TOMORROW), {"paid_on": ["future_date"]}),
    ):
        with pytest.raises(ValidationError) as exc:
            disbursement_add(actor=admin, source=SOURCE, project=project, data=data)
        assert codes(exc) == expected
    assert Disbursement.objects.count() == 1
    with pytest.raises(ValidationError) as exc:
        project_set_funding(
            actor=admin, source=SOURCE, project=project, funding={"central": Decimal("500")}
        )
    assert codes(exc) == {"funding.central": ["below_disbursed"]}
    project_set_funding(
        actor=admin,
        source=SOURCE,
        project=project,
        funding={"central": Decimal("800"), "city": Decimal("200")},
    )
    assert dict(project.funding.values_list("source", "amount")) == {
        "central": Decimal("800.00"),
        "city": Decimal("200.00"),
    }


def test_milestones_are_reached_in_order_and_never_in_the_future(personas):
    admin = personas["township_admin_a"]
    project = make_project(admin)
    day = TODAY - dt.timedelta(days=100)
    with pytest.raises(ValidationError) as exc:
        milestone_set(
            actor=admin,
            source=SOURCE,
            project=project,
            kind="start",
            planned_on=None,
            actual_on=day,
        )
    assert codes(exc) == {"actual_on": ["earlier_milestone_missing"]}
    milestone_set(
        actor=admin, source=SOURCE, project=project, kind="approval", planned_on=day, actual_on=day
    )
    with pytest.raises(ValidationError) as exc:
        milestone_set(
            actor=admin,
            source=SOURCE,
            project=project,
            kind="filing",
            planned_on=None,
            actual_on=TOMORROW,
        )
    assert codes(exc) == {"actual_on": ["future_date"]}
    with pytest.raises(ValidationError) as exc:
        milestone_set(
            actor=admin,
            source=SOURCE,
            project=project,
            kind="filing",
            planned_on=None,
            actual_on=day - dt.timedelta(days=1),
        )
    assert codes(exc) == {"actual_on": ["milestone_order"]}
    milestone_set(
        actor=admin, source=SOURCE, project=project, kind="filing", planned_on=None, actual_on=day
    )
    assert Milestone.objects.filter(project=project, actual_on__isnull=False).count() == 2


def test_beneficiaries_live_in_the_project_villages_and_are_paid_once_a_year(
    personas, household_a1, household_b1
):
    admin = personas["county_admin"]
    project = make_project(admin, division_code="371502000000", village_codes=[VILLAGE_A1])
    with pytest.raises(ValidationError) as exc:
        beneficiaries_add(actor=admin, source=SOURCE, project=project, household_nos=["B1-0001"])
    assert codes(exc) == {"household_nos": ["not_in_project_villages"]}
    with pytest.raises(ValidationError) as exc:
        beneficiaries_add(actor=admin, source=SOURCE, project=project, household_nos=["NOPE"])
    assert codes(exc) == {"household_nos": ["unknown_household"]}
    added = beneficiaries_add(
        actor=admin,
        source=SOURCE,
        project=project,
        household_nos=["A1-0001"],
        expected_benefit=Decimal("500"),
    )
    assert len(added) == 1
    assert (
        beneficiaries_add(actor=admin, source=SOURCE, project=project, household_nos=["A1-0001"])
        == []
    )
    assert (
        AuditEvent.objects.filter(action="project.beneficiary_add", household_no="A1-0001").count()
        == 1
    )
    day = TODAY - dt.timedelta(days=2)
    benefits_distribute(
        actor=admin,
        source=SOURCE,
        project=project,
        year=TODAY.year,
        paid_on=day,
        amounts={"A1-0001": Decimal("500")},
    )
    with pytest.raises(ValidationError) as exc:
        benefits_distribute(
            actor=admin,
            source=SOURCE,
            project=project,
            year=TODAY.year,
            paid_on=day,
            amounts={"A1-0001": Decimal("500")},
        )
    assert codes(exc) == {"amounts.A1-0001": ["already_paid"]}
    with pytest.raises(ValidationError) as exc:
        benefits_distribute(
            actor=admin,
            source=SOURCE,
            project=project,
            year=TODAY.year - 1,
            paid_on=day,
            amounts={"A1-0001": Decimal("-3"), "B1-0001": Decimal("5")},
        )
    assert codes(exc) == {
        "amounts.A1-0001": ["negative_amount"],
        "amounts.B1-0001": ["not_a_beneficiary"],
    }
    assert BenefitPayment.objects.count() == 1
    # The village of a beneficiary cannot leave the project.
    with pytest.raises(ValidationError) as exc:
        project_update(
            actor=admin,
            source=SOURCE,
            project=project,
            data=ProjectDataFactory(division_code="371502000000", village_codes=[VILLAGE_A2]),
        )
    assert codes(exc) == {"village_codes": ["villages_in_use"]}
    assert ProjectBeneficiary.objects.count() == 1


def test_a_measure_may_name_a_project_of_its_village(personas, household_a1):
    cadre = personas["township_admin_a"]
    project = make_project(personas["township_admin_a"], village_codes=[VILLAGE_A2])
    with pytest.raises(ValidationError) as exc:
        make_measure(cadre, household_a1, project_code=project.code)
    assert codes(exc) == {"project": ["not_in_project_villages"]}
    own = make_project(personas["township_admin_a"])
    assert make_measure(cadre, household_a1, project_code=own.code).project == own
