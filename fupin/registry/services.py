"""Every write to the registry. Each service checks the actor's rights, validates everything
before writing, runs in one transaction and writes the audit trail with before/after."""

import uuid
from dataclasses import asdict
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.accounts.scope import actor_scope
from fupin.core.audit import ChangeSource, audit_record, changed_fields
from fupin.core.code_lists import code_lists
from fupin.core.errors import NotFound, PermissionDenied
from fupin.divisions.models import Division, Level
from fupin.registry.idnumbers import IdNumber
from fupin.registry.models import Household, Member, YearlyRecord
from fupin.registry.pinyin import name_initials
from fupin.registry.validation import (
    HOUSEHOLD_LISTS,
    HOUSEHOLD_NO,
    MEMBER_FIELDS,
    MEMBER_LISTS,
    RECORD_FIELDS,
    RECORD_LISTS,
    Errors,
    HouseholdData,
    MemberData,
    RecordData,
    validate_household,
    validate_member,
    validate_record,
)

HOUSEHOLD_DIVISION_LEVELS = (Level.VILLAGE, Level.GROUP)


def household_snapshot(h: Household) -> dict[str, Any]:
    return {
        "division_code": h.division.code,
        "head_name": h.head_name,
        "phone": h.phone,
        "identified_year": h.identified_year,
        "standard": h.standard,
        "category": h.category,
        "main_cause": h.main_cause,
        "other_causes": list(h.other_causes),
        "status": h.status,
        "exit_year": h.exit_year,
    }


def member_snapshot(m: Member) -> dict[str, Any]:
    fields = (*MEMBER_FIELDS, "is_active", "left_on", "left_reason")
    snap = {f: getattr(m, f) for f in fields}
    snap["birth_date"] = m.birth_date.isoformat() if m.birth_date else None
    snap["left_on"] = m.left_on.isoformat() if m.left_on else None
    snap["member"] = str(m.public_id)
    return snap


def record_snapshot(r: YearlyRecord) -> dict[str, Any]:
    fields = RECORD_FIELDS
    snap: dict[str, Any] = {}
    for f in fields:
        value = getattr(r, f)
        snap[f] = (
            str(value) if value is not None and f.endswith(("income", "cost", "_mu")) else value
        )
    return snap


def _division_for_edit(actor: Any, division_code: str, errors: Errors) -> Division | None:
    division = Division.objects.filter(code=division_code).first()
    scope = actor_scope(actor)
    if division is None or not scope.can_see(division.path):
        errors.add("division_code", _("Unknown division code."), "unknown_division")
        return None
    if not scope.can_edit(division.path):
        errors.add(
            "division_code", _("You may not register households in this division."), "forbidden"
        )
        return None
    if division.level not in HOUSEHOLD_DIVISION_LEVELS:
        errors.add(
            "division_code", _("A household belongs to a village or a village group."), "bad_level"
        )
        return None
    return division


def _require_edit(actor: Any, household: Household) -> None:
    scope = actor_scope(actor)
    if not scope.can_see(household.division.path):
        raise NotFound
    if not scope.can_edit(household.division.path):
        raise PermissionDenied(_("Your role may read this household but not change it."))


def _check_person_free(
    errors: Errors, field_name: str, parsed: IdNumber, *, except_member: Member | None = None
) -> None:
    others = Member.objects.filter(person_key=parsed.person_key, is_active=True)
    if except_member is not None:
        others = others.exclude(pk=except_member.pk)
    if others.exists():
        errors.add(
            field_name,
            _("This person is a member of another household."),
            "person_in_other_household",
        )


def _next_household_no(division: Division) -> str:
    prefix = division.code
    last = (
        Household.objects.filter(
            household_no__startswith=prefix, household_no__regex=r"^[0-9]{17}$"
        )
        .order_by("-household_no")
        .values_list("household_no", flat=True)
        .first()
    )
    serial = int(last[12:]) + 1 if last else 1
    return f"{prefix}{serial:05d}"


def _sync_head(household: Household) -> None:
    head = household.members.filter(is_active=True, relation="head").first()
    if head is None:
        raise ValidationError(
            {"relation": _("A household must have a head (户主).")}, code="no_head"
        )
    if household.head_name != head.name:
        household.head_name = head.name
        household.head_name_initials = name_initials(head.name)
        household.save(update_fields=["head_name", "head_name_initials", "updated_at"])


def _member_from(data: MemberData, parsed: IdNumber) -> dict[str, Any]:
    values = asdict(data)
    values["id_number"] = parsed.as_given
    values["person_key"] = parsed.person_key
    values["name"] = data.name.strip()
    return values


@transaction.atomic
def household_register(
    *,
    actor: Any,
    source: ChangeSource,
    household: HouseholdData,
    members: list[MemberData],
    record: RecordData,
    household_no: str = "",
) -> Household:
    """Register a household with its members (exactly one head) and its first yearly record."""
    lists = code_lists(*HOUSEHOLD_LISTS, *MEMBER_LISTS, *RECORD_LISTS)
    errors = validate_household(household, lists)
    division = _division_for_edit(actor, household.division_code, errors)
    if household_no:
        if not HOUSEHOLD_NO.match(household_no):
            errors.add("household_no", _("Use up to 32 letters, digits or hyphens."), "bad_format")
        elif Household.objects.filter(household_no=household_no).exists():
            errors.add("household_no", _("This household number is taken."), "duplicate_household")
    heads = [m for m in members if m.relation == "head"]
    if not heads:
        errors.add("members", _("A household must have a head (户主)."), "no_head")
    elif len(heads) > 1:
        errors.add("members", _("A household has exactly one head (户主)."), "multiple_heads")
    parsed_members: list[tuple[MemberData, IdNumber]] = []
    seen: set[str] = set()
    for index, member in enumerate(members):
        member_errors, parsed = validate_member(member, lists, prefix=f"members.{index}.")
        if parsed is not None:
            if parsed.person_key in seen:
                member_errors.add("id_number", _("This person appears twice."), "duplicate_person")
            seen.add(parsed.person_key)
            _check_person_free(member_errors, "id_number", parsed)
            parsed_members.append((member, parsed))
        errors.merge(member_errors)
    record_errors = validate_record(record, identified_year=household.identified_year, lists=lists)
    if record.household_size != len(members):
        record_errors.add(
            "household_size",
            _("The household size must equal the number of members."),
            "size_mismatch",
        )
    errors.merge(record_errors)
    errors.raise_if_any()
    assert division is not None
    head = heads[0]
    obj = Household.objects.create(
        household_no=household_no or _next_household_no(division),
        division=division,
        head_name=head.name.strip(),
        head_name_initials=name_initials(head.name.strip()),
        phone=household.phone,
        identified_year=household.identified_year,
        standard=household.standard,
        category=household.category,
        main_cause=household.main_cause,
        other_causes=household.other_causes,
        status=household.status,
        exit_year=household.exit_year,
    )
    created_members = [Member(household=obj, **_member_from(m, p)) for m, p in parsed_members]
    try:
        Member.objects.bulk_create(created_members)
    except IntegrityError:
        raise ValidationError(
            {"members": _("A member already belongs to another household.")},
            code="person_in_other_household",
        ) from None
    rec = YearlyRecord.objects.create(household=obj, **asdict(record))
    audit_record(
        actor=actor,
        action="household.register",
        entity="household",
        entity_key=obj.household_no,
        household_no=obj.household_no,
        division_path=division.path,
        source=source,
        after={
            **household_snapshot(obj),
            "members": [member_snapshot(m) for m in created_members],
            "record": record_snapshot(rec),
        },
    )
    return obj


@transaction.atomic
def household_update(
    *, actor: Any, source: ChangeSource, household: Household, data: HouseholdData
) -> Household:
    """Change a household's facts; moving it to another division needs rights on both."""
    _require_edit(actor, household)
    errors = validate_household(data)
    division = household.division
    if data.division_code != household.division.code:
        division = _division_for_edit(actor, data.division_code, errors) or division
    errors.raise_if_any()
    before = household_snapshot(household)
    household.division = division
    for key in (
        "phone",
        "identified_year",
        "standard",
        "category",
        "main_cause",
        "other_causes",
        "status",
        "exit_year",
    ):
        setattr(household, key, getattr(data, key))
    household.save()
    old, new = changed_fields(before, household_snapshot(household))
    if old or new:
        audit_record(
            actor=actor,
            action="household.update",
            entity="household",
            entity_key=household.household_no,
            household_no=household.household_no,
            division_path=division.path,
            source=source,
            before=old,
            after=new,
        )
    return household


@transaction.atomic
def member_add(
    *, actor: Any, source: ChangeSource, household: Household, data: MemberData
) -> Member:
    """Add a member to a household (a birth, a marriage, someone joining)."""
    _require_edit(actor, household)
    errors, parsed = validate_member(data)
    if parsed is not None:
        _check_person_free(errors, "id_number", parsed)
    if (
        data.relation == "head"
        and household.members.filter(is_active=True, relation="head").exists()
    ):
        errors.add("relation", _("The household already has a head (户主)."), "multiple_heads")
    errors.raise_if_any()
    assert parsed is not None
    member = Member.objects.create(household=household, **_member_from(data, parsed))
    audit_record(
        actor=actor,
        action="member.add",
        entity="member",
        entity_key=str(member.public_id),
        household_no=household.household_no,
        division_path=household.division.path,
        source=source,
        after=member_snapshot(member),
    )
    return member


@transaction.atomic
def member_update(*, actor: Any, source: ChangeSource, member: Member, data: MemberData) -> Member:
    """Correct or update a member's facts. The head may be changed only by making another member head first."""
    household = member.household
    _require_edit(actor, household)
    if not member.is_active:
        raise ValidationError(_("This member has left the household."), code="inactive")
    errors, parsed = validate_member(data)
    if parsed is not None:
        _check_person_free(errors, "id_number", parsed, except_member=member)
    if data.relation == "head" and member.relation != "head":
        errors.add("relation", _("The household already has a head (户主)."), "multiple_heads")
    if member.relation == "head" and data.relation != "head":
        errors.add("relation", _("A household must have a head (户主)."), "no_head")
    errors.raise_if_any()
    assert parsed is not None
    before = member_snapshot(member)
    for key, value in _member_from(data, parsed).items():
        setattr(member, key, value)
    member.save()
    _sync_head(household)
    old, new = changed_fields(before, member_snapshot(member))
    if old or new:
        audit_record(
            actor=actor,
            action="member.update",
            entity="member",
            entity_key=str(member.public_id),
            household_no=household.household_no,
            division_path=household.division.path,
            source=source,
            before=old,
            after=new,
        )
    return member


@transaction.atomic
def member_leave(
    *, actor: Any, source: ChangeSource, member: Member, reason: str, left_on: Any = None
) -> Member:
    """A member leaves the household (death, marriage out, moving away); the row is kept."""
    household = member.household
    _require_edit(actor, household)
    if not member.is_active:
        raise ValidationError(_("This member has already left."), code="inactive")
    if member.relation == "head":
        raise ValidationError(
            {"relation": _("The head cannot leave; make another member head first.")},
            code="no_head",
        )
    if not reason.strip():
        raise ValidationError({"left_reason": _("Give the reason for leaving.")}, code="required")
    before = member_snapshot(member)
    member.is_active = False
    member.left_on = left_on or timezone.localdate()
    member.left_reason = reason.strip()[:100]
    member.save()
    audit_record(
        actor=actor,
        action="member.leave",
        entity="member",
        entity_key=str(member.public_id),
        household_no=household.household_no,
        division_path=household.division.path,
        source=source,
        before=before,
        after=member_snapshot(member),
    )
    return member


@transaction.atomic
def member_move(
    *, actor: Any, source: ChangeSource, member: Member, to_household: Household, relation: str
) -> Member:
    """Move a person to another household: the old row leaves, a new active row joins.

    Both households' histories record the move.
    """
    old_household = member.household
    _require_edit(actor, old_household)
    _require_edit(actor, to_household)
    if not member.is_active:
        raise ValidationError(_("This member has already left."), code="inactive")
    if old_household.pk == to_household.pk:
        raise ValidationError(
            {"household_no": _("The member is already in this household.")}, code="same"
        )
    if member.relation == "head":
        raise ValidationError(
            {"relation": _("The head cannot leave; make another member head first.")},
            code="no_head",
        )
    lists = code_lists("relation")
    errors = Errors()
    _check_code(errors, lists, "relation", relation)
    if relation == "head":
        errors.add("relation", _("The household already has a head (户主)."), "multiple_heads")
    errors.raise_if_any()
    member.is_active = False
    member.left_on = timezone.localdate()
    member.left_reason = _("moved to household %(no)s") % {"no": to_household.household_no}
    member.save()
    moved = Member.objects.get(pk=member.pk)
    moved.pk = None
    moved.id = None

    moved.public_id = uuid.uuid4()
    moved.household = to_household
    moved.relation = relation
    moved.is_active = True
    moved.left_on = None
    moved.left_reason = ""
    moved.save()
    detail = {
        "person": member.name,
        "from": old_household.household_no,
        "to": to_household.household_no,
    }
    audit_record(
        actor=actor,
        action="member.move_out",
        entity="member",
        entity_key=str(member.public_id),
        household_no=old_household.household_no,
        division_path=old_household.division.path,
        source=source,
        before=member_snapshot(moved) | {"household": old_household.household_no},
        after=detail,
    )
    audit_record(
        actor=actor,
        action="member.move_in",
        entity="member",
        entity_key=str(moved.public_id),
        household_no=to_household.household_no,
        division_path=to_household.division.path,
        source=source,
        after=member_snapshot(moved) | detail,
    )
    return moved


def _check_code(errors: Errors, lists: Any, key: str, value: str) -> None:
    item = lists[key].codes.get(value)
    if item is None or not item.valid_on(timezone.localdate()):
        errors.add(key, _("“%(value)s” is not a valid choice.") % {"value": value}, "bad_code")


@transaction.atomic
def record_save(
    *, actor: Any, source: ChangeSource, household: Household, data: RecordData
) -> YearlyRecord:
    """Create or update the household's yearly record (入户核查) for ``data.survey_year``."""
    _require_edit(actor, household)
    errors = validate_record(data, identified_year=household.identified_year)
    active = household.members.filter(is_active=True).count()
    if data.household_size != active:
        errors.add(
            "household_size",
            _("The household size must equal the number of members (%(n)s).") % {"n": active},
            "size_mismatch",
        )
    errors.raise_if_any()
    record = YearlyRecord.objects.filter(household=household, survey_year=data.survey_year).first()
    before = record_snapshot(record) if record else {}
    if record is None:
        record = YearlyRecord(household=household)
    for key, value in asdict(data).items():
        setattr(record, key, value)
    record.save()
    record.refresh_from_db()
    old, new = changed_fields(before, record_snapshot(record))
    if old or new:
        audit_record(
            actor=actor,
            action="record.create" if not before else "record.update",
            entity="record",
            entity_key=f"{household.household_no}/{data.survey_year}",
            household_no=household.household_no,
            division_path=household.division.path,
            source=source,
            before=old,
            after=new,
        )
    return record
