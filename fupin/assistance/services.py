"""Every write of assistance: the catalogue, measures and their stages and photos, projects with
their budget, disbursements, milestones, beneficiaries and benefit payments.

Each service checks the actor's rights, validates all of its input before writing (errors keyed
by field, with stable codes), runs in one transaction and writes the audit trail. Measures and
beneficiaries carry the household number, so they appear in the household's history.
"""

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.accounts.roles import Role
from fupin.accounts.scope import actor_scope
from fupin.assistance.access import (
    CATALOGUE_MESSAGE,
    CATALOGUE_ROLES,
    READ_ONLY_MESSAGE,
    can_edit_catalogue,
    project_visible,
)
from fupin.assistance.catalogue import CODE, clean_extra, validate_field_specs
from fupin.assistance.models import (
    MILESTONE_ORDER,
    STAGE_ORDER,
    BenefitPayment,
    Disbursement,
    Family,
    FundSource,
    IncomeComponent,
    Measure,
    MeasureStage,
    MeasureType,
    Milestone,
    MilestoneKind,
    Photo,
    Project,
    ProjectBeneficiary,
    ProjectCategory,
    ProjectFunding,
    ProjectVillage,
    Stage,
)
from fupin.assistance.photos import SUFFIX, NotAnImageError, inspect_image
from fupin.core.audit import ChangeSource, audit_record, changed_fields
from fupin.core.errors import NotFound, PermissionDenied
from fupin.divisions.models import Division, Level
from fupin.registry.models import Household, Member
from fupin.registry.validation import Errors

MONEY_LIMIT = Decimal("9999999999.99")
FIRST_YEAR = 2013
# Roles that verify a measure (核实): the township and above, never the village itself.
VERIFIER_ROLES = frozenset({Role.CITY_ADMIN, Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN})
PROJECT_DIVISION_LEVELS = (Level.CITY, Level.COUNTY, Level.TOWNSHIP, Level.VILLAGE)
Status = Measure.Status
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.PLANNED: frozenset({Status.UNDER_WAY, Status.DONE}),
    Status.UNDER_WAY: frozenset({Status.PLANNED, Status.DONE}),
    Status.DONE: frozenset({Status.UNDER_WAY, Status.VERIFIED}),
    Status.VERIFIED: frozenset(),
}


# ---------------------------------------------------------------------------------------------
# Shared checks


def _today() -> dt.date:
    return timezone.localdate()


def _check_money(
    errors: Errors, key: str, value: Decimal | None, *, required: bool = False
) -> None:
    if value is None:
        if required:
            errors.add(key, _("This field is required."), "required")
        return
    if value < 0:
        errors.add(key, _("The amount cannot be negative."), "negative_amount")
    elif value > MONEY_LIMIT:
        errors.add(key, _("The amount is too large."), "out_of_range")
    elif int(value.as_tuple().exponent) < -2:
        errors.add(key, _("At most 2 decimal places."), "bad_format")


def _check_past(errors: Errors, key: str, value: dt.date | None, *, required: bool = False) -> None:
    if value is None:
        if required:
            errors.add(key, _("This field is required."), "required")
        return
    if value > _today():
        errors.add(key, _("The date cannot be in the future."), "future_date")
    elif value.year < FIRST_YEAR:
        errors.add(
            key, _("The date cannot be before %(year)s.") % {"year": FIRST_YEAR}, "out_of_range"
        )


def _check_text(
    errors: Errors, key: str, value: str, limit: int, *, required: bool = False
) -> None:
    text = value.strip()
    if required and not text:
        errors.add(key, _("This field is required."), "required")
    elif len(text) > limit:
        errors.add(key, _("At most %(n)s characters.") % {"n": limit}, "too_long")


def _check_choice(
    errors: Errors, key: str, value: str, choices: Iterable[str], *, required: bool = True
) -> None:
    if not value:
        if required:
            errors.add(key, _("This field is required."), "required")
        return
    if value not in set(choices):
        errors.add(key, _("“%(value)s” is not a valid choice.") % {"value": value}, "bad_code")


def _require_household_edit(actor: Any, household: Household) -> None:
    scope = actor_scope(actor)
    if not scope.can_see(household.division.path):
        raise NotFound
    if not scope.can_edit(household.division.path):
        raise PermissionDenied(str(READ_ONLY_MESSAGE))


def _require_project_edit(actor: Any, project: Project) -> None:
    scope = actor_scope(actor)
    if not project_visible(scope, project):
        raise NotFound
    if not scope.can_edit(project.division.path):
        raise PermissionDenied(str(READ_ONLY_MESSAGE))


def _money_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _date_text(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


# ---------------------------------------------------------------------------------------------
# The catalogue


@dataclass
class MeasureTypeData:
    code: str
    family: str
    name_zh: str
    name_en: str
    description: str = ""
    target: str = MeasureType.Target.HOUSEHOLD
    fields: list[dict[str, Any]] = field(default_factory=list)
    has_stages: bool = False
    income_component: str = IncomeComponent.NONE
    default_income: Decimal | None = None
    is_active: bool = True


def measure_type_snapshot(t: MeasureType) -> dict[str, Any]:
    return {
        "code": t.code,
        "family": t.family,
        "name_zh": t.name_zh,
        "name_en": t.name_en,
        "description": t.description,
        "target": t.target,
        "fields": list(t.fields),
        "has_stages": t.has_stages,
        "income_component": t.income_component,
        "default_income": _money_text(t.default_income),
        "is_active": t.is_active,
    }


def _validate_measure_type(data: MeasureTypeData) -> tuple[list[dict[str, Any]], Errors]:
    specs, errors = validate_field_specs(data.fields)
    _check_choice(errors, "family", data.family, Family.values)
    _check_choice(errors, "target", data.target, MeasureType.Target.values)
    _check_choice(errors, "income_component", data.income_component, IncomeComponent.values)
    _check_text(errors, "name_zh", data.name_zh, 60, required=True)
    _check_text(errors, "name_en", data.name_en, 100, required=True)
    _check_text(errors, "description", data.description, 2000)
    _check_money(errors, "default_income", data.default_income)
    return specs, errors


def _catalogue_path(actor: Any) -> str:
    paths = actor_scope(actor).paths(CATALOGUE_ROLES)
    return paths[0] if paths else ""


@transaction.atomic
def measure_type_create(*, actor: Any, source: ChangeSource, data: MeasureTypeData) -> MeasureType:
    """Add a measure type to the catalogue (city administrators only)."""
    if not can_edit_catalogue(actor):
        raise PermissionDenied(str(CATALOGUE_MESSAGE))
    specs, errors = _validate_measure_type(data)
    if not CODE.match(data.code):
        errors.add(
            "code", _("Use 2–40 lower-case letters, digits and _ (a letter first)."), "bad_format"
        )
    elif MeasureType.objects.filter(code=data.code).exists():
        errors.add("code", _("This code is taken."), "duplicate")
    errors.raise_if_any()
    last = MeasureType.objects.filter(family=data.family).aggregate(n=Max("sort_order"))["n"]
    measure_type = MeasureType.objects.create(
        code=data.code,
        family=data.family,
        name_zh=data.name_zh.strip(),
        name_en=data.name_en.strip(),
        description=data.description.strip(),
        target=data.target,
        fields=specs,
        has_stages=data.has_stages,
        income_component=data.income_component,
        default_income=data.default_income,
        is_active=data.is_active,
        sort_order=(last or 0) + 1,
    )
    audit_record(
        actor=actor,
        action="measure_type.create",
        entity="measure_type",
        entity_key=measure_type.code,
        division_path=_catalogue_path(actor),
        source=source,
        after=measure_type_snapshot(measure_type),
    )
    return measure_type


@transaction.atomic
def measure_type_update(
    *, actor: Any, source: ChangeSource, measure_type: MeasureType, data: MeasureTypeData
) -> MeasureType:
    """Change a catalogue entry. Fields that measures use stay; a used type keeps its target."""
    if not can_edit_catalogue(actor):
        raise PermissionDenied(str(CATALOGUE_MESSAGE))
    specs, errors = _validate_measure_type(data)
    if data.code != measure_type.code:
        errors.add("code", _("The code of a measure type does not change."), "read_only")
    used = Measure.objects.filter(type=measure_type)
    removed = {f["key"] for f in measure_type.fields} - {f["key"] for f in specs}
    for key in sorted(removed):
        if used.filter(extra__has_key=key).exists():
            errors.add(
                "fields",
                _("The field %(key)s holds values of existing measures; it cannot be removed.")
                % {"key": key},
                "field_in_use",
            )
    if data.target != measure_type.target and used.exists():
        errors.add(
            "target", _("Measures of this type exist; who it is given to stays."), "type_in_use"
        )
    if (
        measure_type.has_stages
        and not data.has_stages
        and MeasureStage.objects.filter(measure__type=measure_type).exists()
    ):
        errors.add("has_stages", _("Measures of this type have recorded stages."), "type_in_use")
    errors.raise_if_any()
    before = measure_type_snapshot(measure_type)
    measure_type.family = data.family
    measure_type.name_zh = data.name_zh.strip()
    measure_type.name_en = data.name_en.strip()
    measure_type.description = data.description.strip()
    measure_type.target = data.target
    measure_type.fields = specs
    measure_type.has_stages = data.has_stages
    measure_type.income_component = data.income_component
    measure_type.default_income = data.default_income
    measure_type.is_active = data.is_active
    measure_type.save()
    old, new = changed_fields(before, measure_type_snapshot(measure_type))
    if old or new:
        audit_record(
            actor=actor,
            action="measure_type.update",
            entity="measure_type",
            entity_key=measure_type.code,
            division_path=_catalogue_path(actor),
            source=source,
            before=old,
            after=new,
        )
    return measure_type


# ---------------------------------------------------------------------------------------------
# Measures


@dataclass
class MeasureData:
    """The facts of a measure as given by a person or a system (status dates included)."""

    type_code: str
    content: str
    year: int
    quarter: int | None = None
    member_id: str = ""
    planned_amount: Decimal = Decimal(0)
    actual_amount: Decimal | None = None
    fund_source: str = ""
    responsible_unit: str = ""
    responsible_person: str = ""
    expected_income: Decimal | None = None
    recorded_income: Decimal | None = None
    project_code: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    status: str = Status.PLANNED
    started_on: dt.date | None = None
    completed_on: dt.date | None = None


def measure_snapshot(m: Measure) -> dict[str, Any]:
    return {
        "type": m.type.code,
        "member_name": m.member.name if m.member_id and m.member else "",
        "content": m.content,
        "year": m.year,
        "quarter": m.quarter,
        "planned_amount": _money_text(m.planned_amount),
        "actual_amount": _money_text(m.actual_amount),
        "fund_source": m.fund_source,
        "responsible_unit": m.responsible_unit,
        "responsible_person": m.responsible_person,
        "status": m.status,
        "started_on": _date_text(m.started_on),
        "completed_on": _date_text(m.completed_on),
        "verified_on": _date_text(m.verified_on),
        "expected_income": _money_text(m.expected_income),
        "recorded_income": _money_text(m.recorded_income),
        "project": m.project.code if m.project_id and m.project else "",
        "extra": dict(m.extra),
        "notes": m.notes,
    }


@dataclass
class _Resolved:
    measure_type: MeasureType | None = None
    member: Member | None = None
    project: Project | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _validate_measure(
    actor: Any, household: Household, data: MeasureData, *, current: Measure | None = None
) -> tuple[_Resolved, Errors]:
    errors = Errors()
    out = _Resolved()
    measure_type = MeasureType.objects.filter(code=data.type_code).first()
    if measure_type is None:
        errors.add("type", _("Unknown measure type."), "bad_code")
    elif not measure_type.is_active and (current is None or current.type_id != measure_type.pk):
        errors.add("type", _("This measure type is no longer in use."), "inactive_type")
    out.measure_type = measure_type
    _check_text(errors, "content", data.content, 500, required=True)
    this_year = _today().year
    if data.year is None or not FIRST_YEAR <= data.year <= this_year + 1:
        errors.add(
            "year",
            _("The year must be between %(low)s and %(high)s.")
            % {"low": FIRST_YEAR, "high": this_year + 1},
            "out_of_range",
        )
    if data.quarter is not None and not 1 <= data.quarter <= 4:
        errors.add("quarter", _("The quarter is 1 to 4."), "out_of_range")
    for key in ("planned_amount", "actual_amount", "expected_income", "recorded_income"):
        _check_money(errors, key, getattr(data, key), required=key == "planned_amount")
    _check_choice(errors, "fund_source", data.fund_source, FundSource.values, required=False)
    _check_text(errors, "responsible_unit", data.responsible_unit, 100)
    _check_text(errors, "responsible_person", data.responsible_person, 50)
    _check_text(errors, "notes", data.notes, 2000)
    if data.member_id:
        member_key = _uuid_or_none(data.member_id)
        member = (
            Member.objects.filter(public_id=member_key, household=household).first()
            if member_key
            else None
        )
        if member is None:
            errors.add("member", _("This person is not a member of the household."), "bad_code")
        elif not member.is_active and (current is None or current.member_id != member.pk):
            errors.add("member", _("This member has left the household."), "inactive")
        out.member = member
    elif measure_type is not None and measure_type.target == MeasureType.Target.MEMBER:
        errors.add("member", _("This measure is given to a member: choose one."), "required")
    if data.project_code:
        project = Project.objects.select_related("division").filter(code=data.project_code).first()
        if project is None or not project_visible(actor_scope(actor), project):
            errors.add("project", _("Unknown project."), "bad_code")
        elif not ProjectVillage.objects.filter(
            project=project, village__in=_household_villages(household)
        ).exists():
            errors.add(
                "project",
                _("The household's village is not one of the project's villages."),
                "not_in_project_villages",
            )
        else:
            out.project = project
    if measure_type is not None:
        out.extra, extra_errors = clean_extra(measure_type.fields, data.extra)
        errors.merge(extra_errors)
    # Status and its dates.
    if data.status not in (Status.PLANNED, Status.UNDER_WAY, Status.DONE):
        errors.add(
            "status",
            _("A measure is planned, under way or done; a township verifies it."),
            "bad_transition",
        )
    _check_past(errors, "started_on", data.started_on, required=data.status == Status.UNDER_WAY)
    _check_past(errors, "completed_on", data.completed_on, required=data.status == Status.DONE)
    if data.status == Status.DONE and data.actual_amount is None:
        errors.add("actual_amount", _("A done measure needs its actual amount."), "required")
    if (
        data.started_on
        and data.completed_on
        and data.completed_on < data.started_on
        and "completed_on" not in errors.items
    ):
        errors.add("completed_on", _("The measure cannot end before it started."), "out_of_range")
    return out, errors


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _household_villages(household: Household) -> list[int]:
    """The household's division and, for a village group, its village."""
    ids = [household.division_id]
    if household.division.parent_id:
        ids.append(household.division.parent_id)
    return ids


def _apply_measure(measure: Measure, data: MeasureData, resolved: _Resolved) -> None:
    assert resolved.measure_type is not None
    measure.type = resolved.measure_type
    measure.member = resolved.member
    measure.project = resolved.project
    measure.content = data.content.strip()
    measure.year = data.year
    measure.quarter = data.quarter
    measure.planned_amount = data.planned_amount
    measure.actual_amount = data.actual_amount
    measure.fund_source = data.fund_source
    measure.responsible_unit = data.responsible_unit.strip()
    measure.responsible_person = data.responsible_person.strip()
    measure.expected_income = data.expected_income
    measure.recorded_income = data.recorded_income
    measure.extra = resolved.extra
    measure.notes = data.notes.strip()
    measure.status = data.status
    measure.started_on = data.started_on
    measure.completed_on = data.completed_on
    if data.status == Status.PLANNED:
        measure.started_on = measure.completed_on = None
    elif data.status == Status.UNDER_WAY:
        measure.completed_on = None


def _audit_measure(
    actor: Any,
    source: ChangeSource,
    measure: Measure,
    action: str,
    *,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    audit_record(
        actor=actor,
        action=action,
        entity="measure",
        entity_key=str(measure.public_id),
        household_no=measure.household.household_no,
        division_path=measure.household.division.path,
        source=source,
        before=before,
        after=after,
    )


@transaction.atomic
def measure_create(
    *, actor: Any, source: ChangeSource, household: Household, data: MeasureData
) -> Measure:
    """Give a household (or one of its members) a measure. It starts planned, under way or done;
    verification is a separate step for the township."""
    _require_household_edit(actor, household)
    resolved, errors = _validate_measure(actor, household, data)
    errors.raise_if_any()
    measure = Measure(household=household)
    _apply_measure(measure, data, resolved)
    measure.save()
    # Only the facts given: a create event lists what was filled in.
    given = {k: v for k, v in measure_snapshot(measure).items() if v not in (None, "", {}, [])}
    _audit_measure(actor, source, measure, "measure.create", before={}, after=given)
    return measure


@transaction.atomic
def measure_update(
    *, actor: Any, source: ChangeSource, measure: Measure, data: MeasureData
) -> Measure:
    """Change a measure's facts. A verified measure is closed."""
    household = measure.household
    _require_household_edit(actor, household)
    if measure.status == Status.VERIFIED:
        raise ValidationError(_("A verified measure no longer changes."), code="verified_locked")
    resolved, errors = _validate_measure(actor, household, data, current=measure)
    if data.status != measure.status and data.status not in TRANSITIONS[measure.status]:
        errors.add("status", _("This change of status is not allowed."), "bad_transition")
    if (
        resolved.measure_type is not None
        and resolved.measure_type.pk != measure.type_id
        and measure.stages.exists()
    ):
        errors.add("type", _("The measure has recorded stages; its type stays."), "type_in_use")
    errors.raise_if_any()
    before = measure_snapshot(measure)
    _apply_measure(measure, data, resolved)
    measure.save()
    old, new = changed_fields(before, measure_snapshot(measure))
    if old or new:
        _audit_measure(actor, source, measure, "measure.update", before=old, after=new)
    return measure


@transaction.atomic
def measure_set_status(
    *,
    actor: Any,
    source: ChangeSource,
    measure: Measure,
    status: str,
    on: dt.date | None = None,
    actual_amount: Decimal | None = None,
    recorded_income: Decimal | None = None,
) -> Measure:
    """Move a measure along planned → under way → done → verified (or one step back before
    verification). Verifying needs a township-level role or above over the household."""
    household = measure.household
    _require_household_edit(actor, household)
    errors = Errors()
    if status not in Status.values:
        errors.add("status", _("Unknown status."), "bad_code")
        errors.raise_if_any()
    if status not in TRANSITIONS[measure.status]:
        errors.add(
            "status",
            _("A measure that is %(current)s cannot become %(new)s.")
            % {"current": Status(measure.status).label, "new": Status(status).label},
            "bad_transition",
        )
        errors.raise_if_any()
    if status == Status.VERIFIED and not actor_scope(actor).covers(
        household.division.path, VERIFIER_ROLES
    ):
        raise PermissionDenied(_("Only the township or a higher level verifies a measure."))
    day = on or _today()
    _check_past(errors, "on", day)
    _check_money(errors, "actual_amount", actual_amount)
    _check_money(errors, "recorded_income", recorded_income)
    if status == Status.DONE and actual_amount is None and measure.actual_amount is None:
        errors.add("actual_amount", _("A done measure needs its actual amount."), "required")
    if status == Status.DONE and measure.started_on and day < measure.started_on:
        errors.add("on", _("The measure cannot end before it started."), "out_of_range")
    if status == Status.VERIFIED and measure.completed_on and day < measure.completed_on:
        errors.add("on", _("A measure is verified after it is done."), "out_of_range")
    errors.raise_if_any()
    before = measure_snapshot(measure)
    if status == Status.PLANNED:
        measure.started_on = measure.completed_on = None
    elif status == Status.UNDER_WAY:
        measure.started_on = measure.started_on or day
        measure.completed_on = None
    elif status == Status.DONE:
        measure.started_on = measure.started_on or day
        measure.completed_on = day
    else:
        measure.verified_on = day
        measure.verified_by = actor if getattr(actor, "pk", None) else None
    if actual_amount is not None:
        measure.actual_amount = actual_amount
    if recorded_income is not None:
        measure.recorded_income = recorded_income
    measure.status = status
    measure.save()
    old, new = changed_fields(before, measure_snapshot(measure))
    action = "measure.verify" if status == Status.VERIFIED else "measure.status"
    _audit_measure(actor, source, measure, action, before=old, after=new)
    return measure


@transaction.atomic
def measure_stage_record(
    *,
    actor: Any,
    source: ChangeSource,
    measure: Measure,
    stage: str,
    on: dt.date,
    note: str = "",
) -> MeasureStage:
    """Record a construction stage (开工 / 竣工 / 验收 / 入住) of a measure with stages, in order."""
    household = measure.household
    _require_household_edit(actor, household)
    errors = Errors()
    if not measure.type.has_stages:
        errors.add("stage", _("This kind of measure has no construction stages."), "no_stages")
        errors.raise_if_any()
    if measure.status == Status.VERIFIED:
        raise ValidationError(_("A verified measure no longer changes."), code="verified_locked")
    _check_choice(errors, "stage", stage, Stage.values)
    _check_past(errors, "on", on, required=True)
    _check_text(errors, "note", note, 200)
    errors.raise_if_any()
    recorded = {s.stage: s for s in measure.stages.all()}
    position = STAGE_ORDER.index(stage)
    for earlier in STAGE_ORDER[:position]:
        if earlier not in recorded:
            errors.add(
                "stage",
                _("Record “%(stage)s” first.") % {"stage": Stage(earlier).label},
                "stage_order",
            )
            break
        if recorded[earlier].on > on:
            errors.add(
                "on",
                _("This stage cannot come before “%(stage)s” (%(date)s).")
                % {"stage": Stage(earlier).label, "date": recorded[earlier].on.isoformat()},
                "stage_order",
            )
            break
    for later in STAGE_ORDER[position + 1 :]:
        if later in recorded and recorded[later].on < on:
            errors.add(
                "on",
                _("This stage cannot come after “%(stage)s” (%(date)s).")
                % {"stage": Stage(later).label, "date": recorded[later].on.isoformat()},
                "stage_order",
            )
            break
    errors.raise_if_any()
    existing = recorded.get(stage)
    before = (
        {"stage": stage, "on": existing.on.isoformat(), "note": existing.note} if existing else {}
    )
    if existing is None:
        existing = MeasureStage(measure=measure, stage=stage)
    existing.on = on
    existing.note = note.strip()
    existing.save()
    after = {"stage": stage, "on": on.isoformat(), "note": existing.note}
    old, new = changed_fields(before, after)
    if old or new:
        _audit_measure(
            actor, source, measure, "measure.stage", before=old, after={**new, "stage": stage}
        )
    return existing


# ---------------------------------------------------------------------------------------------
# Photos


@dataclass
class PhotoData:
    phase: str = Photo.Phase.EVIDENCE
    taken_at: dt.datetime | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    caption: str = ""


def photo_max_bytes() -> int:
    return int(getattr(settings, "PHOTO_MAX_BYTES", 8 * 1024 * 1024))


def _read_upload(upload: IO[bytes] | bytes, limit: int) -> bytes | None:
    """The upload's bytes, or None when it is over ``limit`` (read no further than that)."""
    if isinstance(upload, bytes | bytearray):
        return bytes(upload) if len(upload) <= limit else None
    size = getattr(upload, "size", None)
    if isinstance(size, int) and size > limit:
        return None
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(limit + 1)
    return data if len(data) <= limit else None


@transaction.atomic
def photo_add(
    *,
    actor: Any,
    source: ChangeSource,
    upload: IO[bytes] | bytes,
    data: PhotoData,
    measure: Measure | None = None,
    project: Project | None = None,
) -> Photo:
    """Add an evidence photo to a measure or a project.

    The file must be a JPEG or PNG within ``settings.PHOTO_MAX_BYTES``. When the photo carries
    its time or GPS position in EXIF, those are kept (they are the stronger evidence); otherwise
    the entered values are. Nothing is stored when anything is wrong.
    """
    if (measure is None) == (project is None):
        msg = "a photo belongs to exactly one measure or project"
        raise ValueError(msg)
    if measure is not None:
        _require_household_edit(actor, measure.household)
    else:
        assert project is not None
        _require_project_edit(actor, project)
    errors = Errors()
    _check_choice(errors, "phase", data.phase, Photo.Phase.values)
    if data.phase != Photo.Phase.EVIDENCE and measure is not None and not measure.type.has_stages:
        errors.add(
            "phase", _("Before/during/after photos belong to measures with stages."), "no_stages"
        )
    _check_text(errors, "caption", data.caption, 200)
    if data.taken_at is not None and data.taken_at > timezone.now():
        errors.add("taken_at", _("The photo cannot be taken in the future."), "future_date")
    if (data.latitude is None) != (data.longitude is None):
        errors.add(
            "longitude" if data.longitude is None else "latitude",
            _("Give both latitude and longitude."),
            "required",
        )
    if data.latitude is not None and not -90 <= data.latitude <= 90:
        errors.add("latitude", _("The latitude is between -90 and 90."), "out_of_range")
    if data.longitude is not None and not -180 <= data.longitude <= 180:
        errors.add("longitude", _("The longitude is between -180 and 180."), "out_of_range")
    limit = photo_max_bytes()
    content = _read_upload(upload, limit)
    facts = None
    if content is None:
        errors.add(
            "file",
            _("The photo is larger than %(mb)s MB.") % {"mb": f"{limit / 1024 / 1024:.1f}"},
            "too_large",
        )
    elif not content:
        errors.add("file", _("The file is empty."), "required")
    else:
        try:
            facts = inspect_image(content)
        except NotAnImageError:
            errors.add("file", _("The file is not a JPEG or PNG image."), "not_an_image")
    if facts is not None and facts.taken_at is not None and facts.taken_at > timezone.now():
        # A camera clock set in the future is no evidence of anything: keep what was entered.
        facts = replace(facts, taken_at=None)
    errors.raise_if_any()
    assert content is not None and facts is not None
    photo = Photo(
        measure=measure,
        project=project,
        phase=data.phase,
        content_type=facts.content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        width=facts.width,
        height=facts.height,
        caption=data.caption.strip(),
        uploaded_by=actor if getattr(actor, "pk", None) else None,
    )
    if facts.taken_at is not None:
        photo.taken_at, photo.taken_at_origin = facts.taken_at, Photo.Origin.EXIF
    elif data.taken_at is not None:
        photo.taken_at, photo.taken_at_origin = data.taken_at, Photo.Origin.ENTERED
    if facts.latitude is not None and facts.longitude is not None:
        photo.latitude, photo.longitude = facts.latitude, facts.longitude
        photo.position_origin = Photo.Origin.EXIF
    elif data.latitude is not None and data.longitude is not None:
        photo.latitude, photo.longitude = data.latitude, data.longitude
        photo.position_origin = Photo.Origin.ENTERED
    photo.file.save(f"photo{SUFFIX[facts.content_type]}", ContentFile(content), save=False)
    try:
        photo.save()
    except Exception:
        photo.file.delete(save=False)
        raise
    after = {
        "photo": str(photo.public_id),
        "phase": photo.phase,
        "taken_at": photo.taken_at.isoformat() if photo.taken_at else None,
        "caption": photo.caption,
    }
    if measure is not None:
        _audit_measure(actor, source, measure, "measure.photo", before={}, after=after)
    else:
        assert project is not None
        _audit_project(actor, source, project, "project.photo", before={}, after=after)
    return photo


# ---------------------------------------------------------------------------------------------
# Projects


@dataclass
class ProjectData:
    name: str
    category: str
    year: int
    division_code: str
    village_codes: list[str]
    responsible_unit: str
    responsible_person: str
    content: str = ""
    expected_benefit: str = ""
    progress: int = 0


def project_snapshot(p: Project) -> dict[str, Any]:
    return {
        "code": p.code,
        "name": p.name,
        "category": p.category,
        "year": p.year,
        "division_code": p.division.code,
        "villages": sorted(
            ProjectVillage.objects.filter(project=p).values_list("village__code", flat=True)
        ),
        "responsible_unit": p.responsible_unit,
        "responsible_person": p.responsible_person,
        "content": p.content,
        "expected_benefit": p.expected_benefit,
        "progress": p.progress,
    }


def _audit_project(
    actor: Any,
    source: ChangeSource,
    project: Project,
    action: str,
    *,
    before: dict[str, Any],
    after: dict[str, Any],
    household: Household | None = None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        entity="project",
        entity_key=project.code,
        household_no=household.household_no if household else "",
        division_path=household.division.path if household else project.division.path,
        source=source,
        before=before,
        after=after,
    )


def _validate_project(
    actor: Any, data: ProjectData, *, current: Project | None = None
) -> tuple[Division | None, list[Division], Errors]:
    errors = Errors()
    scope = actor_scope(actor)
    _check_text(errors, "name", data.name, 120, required=True)
    _check_choice(errors, "category", data.category, ProjectCategory.values)
    this_year = _today().year
    if data.year is None or not FIRST_YEAR <= data.year <= this_year + 1:
        errors.add(
            "year",
            _("The year must be between %(low)s and %(high)s.")
            % {"low": FIRST_YEAR, "high": this_year + 1},
            "out_of_range",
        )
    _check_text(errors, "responsible_unit", data.responsible_unit, 100, required=True)
    _check_text(errors, "responsible_person", data.responsible_person, 50, required=True)
    _check_text(errors, "content", data.content, 4000)
    _check_text(errors, "expected_benefit", data.expected_benefit, 4000)
    if data.progress is None or not 0 <= data.progress <= 100:
        errors.add("progress", _("Progress is between 0 and 100 per cent."), "out_of_range")
    division = Division.objects.filter(code=data.division_code).first()
    if division is None or not scope.can_see(division.path):
        errors.add("division_code", _("Unknown division code."), "unknown_division")
        division = None
    elif not scope.can_edit(division.path):
        errors.add("division_code", _("You may not manage projects of this division."), "forbidden")
        division = None
    elif division.level not in PROJECT_DIVISION_LEVELS:
        errors.add(
            "division_code",
            _("A project belongs to a city, county, township or village."),
            "bad_level",
        )
        division = None
    if current is not None and division is not None and division.pk != current.division_id:
        errors.add(
            "division_code", _("The owning division of a project does not change."), "read_only"
        )
    codes = list(dict.fromkeys(c.strip() for c in data.village_codes if c.strip()))
    villages = list(Division.objects.filter(code__in=codes, level=Level.VILLAGE))
    found = {v.code for v in villages}
    if not codes:
        errors.add("village_codes", _("Name at least one village."), "required")
    for code in codes:
        if code not in found:
            errors.add(
                "village_codes",
                _("%(code)s is not a village.") % {"code": code},
                "unknown_division",
            )
    if division is not None:
        for village in villages:
            if not village.path.startswith(division.path):
                errors.add(
                    "village_codes",
                    _("%(name)s is outside the project's division.") % {"name": village.name},
                    "not_in_division",
                )
    if current is not None:
        kept = {v.pk for v in villages}
        orphaned = (
            ProjectBeneficiary.objects.filter(project=current)
            .exclude(household__division__in=kept)
            .exclude(household__division__parent__in=kept)
            .exists()
        )
        if orphaned:
            errors.add(
                "village_codes",
                _("Beneficiary households live in a village you are removing."),
                "villages_in_use",
            )
    return division, villages, errors


def _next_project_code(year: int, division: Division) -> str:
    prefix = f"XM{year}-{division.code[:6]}-"
    last = (
        Project.objects.filter(code__startswith=prefix)
        .order_by("-code")
        .values_list("code", flat=True)
        .first()
    )
    serial = int(last.rsplit("-", 1)[1]) + 1 if last and last.rsplit("-", 1)[1].isdigit() else 1
    return f"{prefix}{serial:04d}"


@transaction.atomic
def project_create(
    *,
    actor: Any,
    source: ChangeSource,
    data: ProjectData,
    funding: Mapping[str, Decimal] | None = None,
    planned: Mapping[str, dt.date] | None = None,
) -> Project:
    """Add a project to the library, with its budget by fund source and its planned milestone
    dates. The code (XM<year>-<county>-<serial>) is given by the system."""
    division, villages, errors = _validate_project(actor, data)
    errors.merge(_validate_funding(funding or {}))
    for kind in planned or {}:
        _check_choice(errors, "milestones", kind, MilestoneKind.values)
    errors.raise_if_any()
    assert division is not None
    project = Project.objects.create(
        code=_next_project_code(data.year, division),
        name=data.name.strip(),
        category=data.category,
        year=data.year,
        division=division,
        responsible_unit=data.responsible_unit.strip(),
        responsible_person=data.responsible_person.strip(),
        content=data.content.strip(),
        expected_benefit=data.expected_benefit.strip(),
        progress=data.progress,
    )
    ProjectVillage.objects.bulk_create(ProjectVillage(project=project, village=v) for v in villages)
    ProjectFunding.objects.bulk_create(
        ProjectFunding(project=project, source=s, amount=a) for s, a in (funding or {}).items()
    )
    Milestone.objects.bulk_create(
        Milestone(project=project, kind=k, planned_on=d) for k, d in (planned or {}).items()
    )
    _audit_project(
        actor,
        source,
        project,
        "project.create",
        before={},
        after={
            **project_snapshot(project),
            "funding": {s: _money_text(a) for s, a in (funding or {}).items()},
            "milestones": {k: _date_text(d) for k, d in (planned or {}).items()},
        },
    )
    return project


@transaction.atomic
def project_update(
    *, actor: Any, source: ChangeSource, project: Project, data: ProjectData
) -> Project:
    """Change a project's facts and villages; its owning division stays."""
    _require_project_edit(actor, project)
    _division, villages, errors = _validate_project(actor, data, current=project)
    errors.raise_if_any()
    before = project_snapshot(project)
    project.name = data.name.strip()
    project.category = data.category
    project.year = data.year
    project.responsible_unit = data.responsible_unit.strip()
    project.responsible_person = data.responsible_person.strip()
    project.content = data.content.strip()
    project.expected_benefit = data.expected_benefit.strip()
    project.progress = data.progress
    project.save()
    wanted = {v.pk for v in villages}
    ProjectVillage.objects.filter(project=project).exclude(village__in=wanted).delete()
    present = set(
        ProjectVillage.objects.filter(project=project).values_list("village_id", flat=True)
    )
    ProjectVillage.objects.bulk_create(
        ProjectVillage(project=project, village_id=pk) for pk in wanted - present
    )
    old, new = changed_fields(before, project_snapshot(project))
    if old or new:
        _audit_project(actor, source, project, "project.update", before=old, after=new)
    return project


def _validate_funding(funding: Mapping[str, Decimal]) -> Errors:
    errors = Errors()
    for key, amount in funding.items():
        if key not in FundSource.values:
            errors.add("funding", _("Unknown fund source %(s)s.") % {"s": key}, "bad_code")
            continue
        _check_money(errors, f"funding.{key}", amount, required=True)
    return errors


def _disbursed_by_source(project: Project) -> dict[str, Decimal]:
    rows = (
        Disbursement.objects.filter(project=project)
        .values("source")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {r["source"]: r["total"] for r in rows}


@transaction.atomic
def project_set_funding(
    *, actor: Any, source: ChangeSource, project: Project, funding: Mapping[str, Decimal]
) -> dict[str, Decimal]:
    """Replace the project's budget by fund source (a source left out has no budget)."""
    _require_project_edit(actor, project)
    errors = _validate_funding(funding)
    disbursed = _disbursed_by_source(project)
    for key, paid in disbursed.items():
        budget = funding.get(key)
        if budget is not None and budget < 0:
            continue
        if (budget or Decimal(0)) < paid:
            errors.add(
                f"funding.{key}",
                _("%(amount)s yuan has been paid from this source already.")
                % {"amount": f"{paid:,.2f}"},
                "below_disbursed",
            )
    errors.raise_if_any()
    before = {
        f.source: _money_text(f.amount) for f in ProjectFunding.objects.filter(project=project)
    }
    ProjectFunding.objects.filter(project=project).delete()
    ProjectFunding.objects.bulk_create(
        ProjectFunding(project=project, source=s, amount=a) for s, a in funding.items() if a
    )
    after = {s: _money_text(a) for s, a in funding.items() if a}
    old, new = changed_fields(before, after)
    if old or new:
        _audit_project(
            actor,
            source,
            project,
            "project.funding",
            before={"funding": old},
            after={"funding": new},
        )
    return {s: a for s, a in funding.items() if a}


@dataclass
class DisbursementData:
    source: str
    amount: Decimal
    paid_on: dt.date
    note: str = ""


@transaction.atomic
def disbursement_add(
    *, actor: Any, source: ChangeSource, project: Project, data: DisbursementData
) -> Disbursement:
    """Record money paid out for the project; a source cannot pay out more than its budget."""
    _require_project_edit(actor, project)
    errors = Errors()
    _check_choice(errors, "source", data.source, FundSource.values)
    _check_money(errors, "amount", data.amount, required=True)
    if data.amount is not None and data.amount == 0:
        errors.add("amount", _("The amount must be above zero."), "out_of_range")
    _check_past(errors, "paid_on", data.paid_on, required=True)
    _check_text(errors, "note", data.note, 200)
    if not errors and data.source in FundSource.values:
        budget = (
            ProjectFunding.objects.filter(project=project, source=data.source)
            .values_list("amount", flat=True)
            .first()
        )
        paid = _disbursed_by_source(project).get(data.source, Decimal(0))
        if budget is None:
            errors.add("source", _("The project has no budget from this source."), "over_budget")
        elif paid + data.amount > budget:
            errors.add(
                "amount",
                _("Only %(left)s yuan of this source's budget is left.")
                % {"left": f"{budget - paid:,.2f}"},
                "over_budget",
            )
    errors.raise_if_any()
    disbursement = Disbursement.objects.create(
        project=project,
        source=data.source,
        amount=data.amount,
        paid_on=data.paid_on,
        note=data.note.strip(),
    )
    _audit_project(
        actor,
        source,
        project,
        "project.disbursement",
        before={},
        after={
            "source": data.source,
            "amount": _money_text(data.amount),
            "paid_on": data.paid_on.isoformat(),
            "note": disbursement.note,
        },
    )
    return disbursement


@transaction.atomic
def milestone_set(
    *,
    actor: Any,
    source: ChangeSource,
    project: Project,
    kind: str,
    planned_on: dt.date | None,
    actual_on: dt.date | None,
    note: str = "",
) -> Milestone:
    """Set a milestone's planned and actual dates. An actual date is never in the future, and
    milestones are reached in order (立项 → 报备 → 招标 → 开工 → 竣工 → 验收)."""
    _require_project_edit(actor, project)
    errors = Errors()
    _check_choice(errors, "kind", kind, MilestoneKind.values)
    errors.raise_if_any()
    _check_past(errors, "actual_on", actual_on)
    if planned_on is not None and planned_on.year < FIRST_YEAR:
        errors.add(
            "planned_on",
            _("The date cannot be before %(year)s.") % {"year": FIRST_YEAR},
            "out_of_range",
        )
    _check_text(errors, "note", note, 200)
    others = {m.kind: m for m in Milestone.objects.filter(project=project).exclude(kind=kind)}
    position = MILESTONE_ORDER.index(kind)
    if actual_on is not None and "actual_on" not in errors.items:
        for earlier in MILESTONE_ORDER[:position]:
            reached = others.get(earlier)
            if reached is None or reached.actual_on is None:
                errors.add(
                    "actual_on",
                    _("“%(m)s” has not been reached yet.") % {"m": MilestoneKind(earlier).label},
                    "earlier_milestone_missing",
                )
                break
            if reached.actual_on > actual_on:
                errors.add(
                    "actual_on",
                    _("This cannot come before “%(m)s” (%(date)s).")
                    % {"m": MilestoneKind(earlier).label, "date": reached.actual_on.isoformat()},
                    "milestone_order",
                )
                break
    for later in MILESTONE_ORDER[position + 1 :]:
        reached = others.get(later)
        if reached is None or reached.actual_on is None:
            continue
        if actual_on is None:
            errors.add(
                "actual_on",
                _("“%(m)s” has been reached, so this one has too.")
                % {"m": MilestoneKind(later).label},
                "milestone_order",
            )
            break
        if reached.actual_on < actual_on:
            errors.add(
                "actual_on",
                _("This cannot come after “%(m)s” (%(date)s).")
                % {"m": MilestoneKind(later).label, "date": reached.actual_on.isoformat()},
                "milestone_order",
            )
            break
    errors.raise_if_any()
    milestone = Milestone.objects.filter(project=project, kind=kind).first()
    before = (
        {
            "kind": kind,
            "planned_on": _date_text(milestone.planned_on),
            "actual_on": _date_text(milestone.actual_on),
            "note": milestone.note,
        }
        if milestone
        else {}
    )
    if milestone is None:
        milestone = Milestone(project=project, kind=kind)
    milestone.planned_on = planned_on
    milestone.actual_on = actual_on
    milestone.note = note.strip()
    milestone.save()
    after = {
        "kind": kind,
        "planned_on": _date_text(planned_on),
        "actual_on": _date_text(actual_on),
        "note": milestone.note,
    }
    old, new = changed_fields(before, after)
    if old or new:
        _audit_project(
            actor, source, project, "project.milestone", before=old, after={**new, "kind": kind}
        )
    return milestone


HOUSEHOLD_NO_SPLIT = re.compile(r"[\s,，;；、]+")


def split_household_numbers(text: str) -> list[str]:
    return [n for n in HOUSEHOLD_NO_SPLIT.split(text) if n]


@transaction.atomic
def beneficiaries_add(
    *,
    actor: Any,
    source: ChangeSource,
    project: Project,
    household_nos: list[str],
    expected_benefit: Decimal | None = None,
    added_on: dt.date | None = None,
) -> list[ProjectBeneficiary]:
    """Add beneficiary households (受益户). Each must live in one of the project's villages and
    be visible to the actor; households already listed are left as they are."""
    _require_project_edit(actor, project)
    errors = Errors()
    scope = actor_scope(actor)
    numbers = list(dict.fromkeys(n.strip() for n in household_nos if n.strip()))
    if not numbers:
        errors.add("household_nos", _("Name at least one household."), "required")
    if len(numbers) > 5000:
        errors.add("household_nos", _("At most 5,000 households at once."), "out_of_range")
    _check_money(errors, "expected_benefit", expected_benefit)
    _check_past(errors, "added_on", added_on)
    found = {
        h.household_no: h
        for h in Household.objects.select_related("division").filter(household_no__in=numbers)
    }
    villages = set(
        ProjectVillage.objects.filter(project=project).values_list("village_id", flat=True)
    )
    for number in numbers:
        household = found.get(number)
        if household is None or not scope.can_see(household.division.path):
            errors.add(
                "household_nos",
                _("Unknown household %(no)s.") % {"no": number},
                "unknown_household",
            )
        elif not villages & set(_household_villages(household)):
            errors.add(
                "household_nos",
                _("Household %(no)s does not live in one of the project's villages.")
                % {"no": number},
                "not_in_project_villages",
            )
    errors.raise_if_any()
    present = set(
        ProjectBeneficiary.objects.filter(project=project).values_list(
            "household__household_no", flat=True
        )
    )
    day = added_on or _today()
    created = ProjectBeneficiary.objects.bulk_create(
        ProjectBeneficiary(
            project=project,
            household=found[n],
            expected_benefit=expected_benefit,
            added_on=day,
        )
        for n in numbers
        if n not in present
    )
    for beneficiary in created:
        _audit_project(
            actor,
            source,
            project,
            "project.beneficiary_add",
            before={},
            after={
                "project": project.code,
                "name": project.name,
                "expected_benefit": _money_text(expected_benefit),
            },
            household=beneficiary.household,
        )
    return created


@transaction.atomic
def benefits_distribute(
    *,
    actor: Any,
    source: ChangeSource,
    project: Project,
    year: int,
    paid_on: dt.date,
    amounts: Mapping[str, Decimal],
) -> list[BenefitPayment]:
    """Record the benefit paid to beneficiary households for a year (收益分配), by household
    number. A household is paid once per project and year."""
    _require_project_edit(actor, project)
    errors = Errors()
    if year is None or not FIRST_YEAR <= year <= _today().year:
        errors.add(
            "year",
            _("The year must be between %(low)s and %(high)s.")
            % {"low": FIRST_YEAR, "high": _today().year},
            "out_of_range",
        )
    _check_past(errors, "paid_on", paid_on, required=True)
    if not amounts:
        errors.add("amounts", _("Name at least one household."), "required")
    beneficiaries = {
        b.household.household_no: b
        for b in ProjectBeneficiary.objects.select_related("household__division").filter(
            project=project, household__household_no__in=list(amounts)
        )
    }
    scope = actor_scope(actor)
    for number, amount in amounts.items():
        b = beneficiaries.get(number)
        if b is None or not scope.can_see(b.household.division.path):
            errors.add(
                f"amounts.{number}",
                _("Household %(no)s is not a beneficiary of the project.") % {"no": number},
                "not_a_beneficiary",
            )
            continue
        _check_money(errors, f"amounts.{number}", amount, required=True)
        if amount is not None and amount == 0:
            errors.add(f"amounts.{number}", _("The amount must be above zero."), "out_of_range")
    if not errors:
        paid = set(
            BenefitPayment.objects.filter(
                project=project, year=year, household__household_no__in=list(amounts)
            ).values_list("household__household_no", flat=True)
        )
        for number in sorted(paid):
            errors.add(
                f"amounts.{number}",
                _("Household %(no)s has been paid for %(year)s already.")
                % {"no": number, "year": year},
                "already_paid",
            )
    errors.raise_if_any()
    payments = BenefitPayment.objects.bulk_create(
        BenefitPayment(
            project=project,
            household=beneficiaries[n].household,
            year=year,
            amount=a,
            paid_on=paid_on,
        )
        for n, a in amounts.items()
    )
    for payment in payments:
        _audit_project(
            actor,
            source,
            project,
            "project.benefit",
            before={},
            after={
                "project": project.code,
                "name": project.name,
                "year": year,
                "amount": _money_text(payment.amount),
                "paid_on": paid_on.isoformat(),
            },
            household=payment.household,
        )
    return payments
