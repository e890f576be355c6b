"""Every write to pairing data. Each service checks the actor's rights, validates everything
before writing, runs in one transaction and writes the audit trail.

Errors are ValidationErrors keyed by field with stable codes (``over_quota``, ``future_date``,
``not_an_image``, ``photo_too_large`` …), so interfaces show them at the field and tests assert
codes, not wording.
"""

import calendar
import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from fupin.accounts.models import Official, RoleAssignment
from fupin.accounts.roles import RankLevel, Role
from fupin.accounts.scope import actor_scope
from fupin.core.audit import ChangeSource, audit_record
from fupin.core.errors import PermissionDenied
from fupin.divisions.models import Division, Level
from fupin.pairing.access import PAIRING_ADMIN_ROLES, actor_official, can_manage, may_record_visit
from fupin.pairing.images import MAX_PHOTOS_PER_VISIT, CheckedImage, check_photo
from fupin.pairing.models import (
    Attendance,
    HelpUnit,
    KeyVillage,
    Pairing,
    QuotaRule,
    TeamMember,
    Visit,
    VisitPhoto,
)
from fupin.pairing.orphans import is_orphan
from fupin.pairing.policy import programme_statuses, quotas_on, today
from fupin.registry.models import Household, Member
from fupin.registry.validation import Errors


def _require_manage(actor: Any, division_path: str) -> None:
    """Commands and the system (no actor) may; people need an administrator role over it."""
    if actor is None:
        return
    if not can_manage(actor_scope(actor), division_path):
        raise PermissionDenied(_("Your role may read this but not change it."))


def pairing_snapshot(p: Pairing) -> dict[str, Any]:
    return {
        "pairing": str(p.public_id),
        "official": p.official.user.username,
        "official_name": p.official.full_name,
        "kind": p.kind,
        "member": str(p.member.public_id) if p.member_id and p.member else None,
        "started_on": p.started_on.isoformat(),
        "ended_on": p.ended_on.isoformat() if p.ended_on else None,
        "end_reason": p.end_reason,
        "origin": p.origin,
    }


# --- Pairing ------------------------------------------------------------------------------------


def is_pairing_official(official: Official) -> bool:
    return (
        official.user.is_active
        and RoleAssignment.objects.filter(user=official.user, role=Role.PAIRING_OFFICIAL).exists()
    )


def quota_check(errors: Errors, official: Official, kind: str, day: dt.date) -> None:
    """Add ``over_quota`` when one more pairing of this kind would pass the official's quota."""
    quota = quotas_on(day).get(official.rank_level)
    allowed = (
        0 if quota is None else (quota.orphans if kind == Pairing.Kind.ORPHAN else quota.households)
    )
    used = Pairing.objects.active().filter(official=official, kind=kind).count()
    if used + 1 > allowed:
        rank = (
            RankLevel(official.rank_level).label
            if official.rank_level in RankLevel.values
            else official.rank_level
        )
        if kind == Pairing.Kind.ORPHAN:
            message = _(
                "%(name)s (%(rank)s) may be paired with %(allowed)d orphan(s) and has %(used)d already."
            )
        else:
            message = _(
                "%(name)s (%(rank)s) may be responsible for %(allowed)d household(s) and has %(used)d already."
            )
        errors.add(
            "official",
            message % {"name": official.full_name, "rank": rank, "allowed": allowed, "used": used},
            "over_quota",
        )


@transaction.atomic
def pairing_assign(
    *,
    actor: Any,
    source: ChangeSource,
    official: Official,
    household: Household,
    kind: str = Pairing.Kind.HOUSEHOLD,
    member: Member | None = None,
    started_on: dt.date | None = None,
    origin: str = Pairing.Origin.MANUAL,
) -> Pairing:
    """Make ``official`` responsible for ``household`` (or for its orphan ``member``).

    Checks: an administrator over the household; the official holds the pairing role and has
    room in the quota of their rank level; the household is in the pairing programme and has no
    responsible official yet (one orphan pairing per child). Nothing is saved on any error.
    """
    _require_manage(actor, household.division.path)
    # Lock the official's row so two assignments cannot both take the last place (PostgreSQL;
    # SQLite serialises writing transactions anyway).
    Official.objects.select_for_update().filter(pk=official.pk).first()
    day = today()
    started_on = started_on or day
    errors = Errors()
    if kind not in Pairing.Kind.values:
        errors.add("kind", _("Unknown kind of pairing."), "unknown_kind")
        errors.raise_if_any()
    if not is_pairing_official(official):
        errors.add(
            "official", _("This person is not an active pairing official."), "not_pairing_official"
        )
    if started_on > day:
        errors.add("started_on", _("The start date cannot be in the future."), "future_date")
    if household.status not in programme_statuses(day):
        errors.add(
            "household",
            _("Households of this status are not in the pairing programme."),
            "not_in_programme",
        )
    if kind == Pairing.Kind.HOUSEHOLD:
        if member is not None:
            errors.add("member", _("A household pairing names no member."), "unexpected_member")
        elif Pairing.objects.active().filter(household=household, kind=kind).exists():
            errors.add(
                "household",
                _("This household has a responsible official already; end that pairing first."),
                "already_paired",
            )
    elif member is None or member.household_id != household.pk:
        errors.add("member", _("Choose a child of this household."), "unknown_member")
    elif not is_orphan(member, day):
        errors.add(
            "member",
            _("This member is not an orphan: under 18 with no parent in the household."),
            "not_an_orphan",
        )
    elif Pairing.objects.active().filter(member=member, kind=kind).exists():
        errors.add("member", _("This child has a paired official already."), "already_paired")
    if not errors.items.get("official"):
        quota_check(errors, official, kind, day)
    errors.raise_if_any()
    pairing = Pairing(
        official=official,
        household=household,
        member=member,
        kind=kind,
        origin=origin,
        started_on=started_on,
    )
    pairing.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            pairing.save()
    except IntegrityError:  # a concurrent assignment won the race
        raise ValidationError(
            {
                "household": ValidationError(
                    _("This household has a responsible official already; end that pairing first."),
                    code="already_paired",
                )
            }
        ) from None
    audit_record(
        actor=actor,
        action="pairing.assign",
        entity="pairing",
        entity_key=str(pairing.public_id),
        source=source,
        household_no=household.household_no,
        division_path=household.division.path,
        after=pairing_snapshot(pairing),
    )
    return pairing


@transaction.atomic
def pairing_end(
    *,
    actor: Any,
    source: ChangeSource,
    pairing: Pairing,
    ended_on: dt.date | None = None,
    reason: str = "",
) -> Pairing:
    """End an active pairing on ``ended_on`` (today by default); the row stays as history."""
    household = pairing.household
    _require_manage(actor, household.division.path)
    day = today()
    ended_on = ended_on or day
    errors = Errors()
    if pairing.ended_on is not None:
        errors.add("pairing", _("This pairing has ended already."), "already_ended")
    if ended_on > day:
        errors.add("ended_on", _("The end date cannot be in the future."), "future_date")
    elif ended_on < pairing.started_on:
        errors.add("ended_on", _("The end date is before the start date."), "before_start")
    if len(reason) > 200:
        errors.add("reason", _("At most 200 characters."), "too_long")
    errors.raise_if_any()
    before = pairing_snapshot(pairing)
    pairing.ended_on = ended_on
    pairing.end_reason = reason.strip()
    pairing.save(update_fields=["ended_on", "end_reason"])
    after = pairing_snapshot(pairing)
    audit_record(
        actor=actor,
        action="pairing.end",
        entity="pairing",
        entity_key=str(pairing.public_id),
        source=source,
        household_no=household.household_no,
        division_path=household.division.path,
        before={k: before[k] for k in ("ended_on", "end_reason")},
        after={
            "official": after["official"],
            "ended_on": after["ended_on"],
            "end_reason": after["end_reason"],
        },
    )
    return pairing


# --- Visits -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitData:
    visited_on: dt.date
    content: str
    next_steps: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None


def _validate_visit(errors: Errors, data: VisitData, pairing: Pairing | None) -> None:
    day = today()
    if data.visited_on > day:
        errors.add("visited_on", _("The visit date cannot be in the future."), "future_date")
    elif pairing is not None and (
        data.visited_on < pairing.started_on
        or (pairing.ended_on is not None and data.visited_on > pairing.ended_on)
    ):
        errors.add(
            "visited_on",
            _("On this date the official was not paired with the household."),
            "outside_pairing",
        )
    if not data.content.strip():
        errors.add("content", _("Say what was done at the visit."), "required")
    elif len(data.content) > 5000:
        errors.add("content", _("At most 5,000 characters."), "too_long")
    if len(data.next_steps) > 2000:
        errors.add("next_steps", _("At most 2,000 characters."), "too_long")
    if (data.latitude is None) != (data.longitude is None):
        errors.add("latitude", _("Give both latitude and longitude, or neither."), "gps_pair")
    if data.latitude is not None and not Decimal(-90) <= data.latitude <= Decimal(90):
        errors.add("latitude", _("Latitude lies between -90 and 90."), "out_of_range")
    if data.longitude is not None and not Decimal(-180) <= data.longitude <= Decimal(180):
        errors.add("longitude", _("Longitude lies between -180 and 180."), "out_of_range")


def _pairing_for_visit(official: Official, household: Household, day: dt.date) -> Pairing | None:
    """The official's pairing with the household that covers ``day`` (the latest one)."""
    return (
        Pairing.objects.filter(official=official, household=household, started_on__lte=day)
        .exclude(ended_on__lt=day)
        .order_by("kind", "-started_on")
        .first()
        or Pairing.objects.filter(official=official, household=household)
        .order_by("-started_on")
        .first()
    )


def _check_photos(errors: Errors, photos: Sequence[Any], existing: int = 0) -> list[CheckedImage]:
    checked: list[CheckedImage] = []
    if existing + len(photos) > MAX_PHOTOS_PER_VISIT:
        errors.add(
            "photos",
            _("At most %(n)d photos per visit.") % {"n": MAX_PHOTOS_PER_VISIT},
            "too_many_photos",
        )
        return checked
    for upload in photos:
        try:
            checked.append(check_photo(upload))
        except ValidationError as exc:
            for error in exc.error_dict["photos"]:
                errors.add("photos", str(error.message), str(error.code))
    return checked


VISIT_RECORDER_ROLES = frozenset(PAIRING_ADMIN_ROLES | {Role.VILLAGE_CADRE})


def _require_visit_rights(actor: Any, official: Official, household: Household) -> None:
    """The official themself, or an administrator or village cadre over the household."""
    if actor is None:
        return
    own = actor_official(actor)
    if own is not None and own.pk == official.pk and may_record_visit(actor, household):
        return
    if actor_scope(actor).covers(household.division.path, VISIT_RECORDER_ROLES):
        return
    raise PermissionDenied(_("Your role may read this but not change it."))


@transaction.atomic
def visit_log(
    *,
    actor: Any,
    source: ChangeSource,
    official: Official,
    household: Household,
    data: VisitData,
    photos: Sequence[Any] = (),
) -> Visit:
    """Record a visit of ``official`` to ``household``, with photos.

    The official must have been paired with the household on the visit date; the date may not
    be in the future; photos must be real JPEG/PNG/WebP images within the size limit. The actor
    is the official, or an editor of the household's division recording for them. Nothing is
    saved on any error (photo files written before a failure are removed).
    """
    _require_visit_rights(actor, official, household)
    errors = Errors()
    pairing = _pairing_for_visit(official, household, data.visited_on)
    if pairing is None:
        errors.add("official", _("This official is not paired with the household."), "not_paired")
    _validate_visit(errors, data, pairing)
    checked = _check_photos(errors, photos)
    errors.raise_if_any()
    assert pairing is not None
    visit = Visit(
        pairing=pairing,
        official=official,
        household=household,
        visited_on=data.visited_on,
        latitude=data.latitude,
        longitude=data.longitude,
        content=data.content.strip(),
        next_steps=data.next_steps.strip(),
        recorded_by=actor if getattr(actor, "pk", None) else None,
    )
    with _files_removed_on_error() as written:
        visit.save()
        saved = _store_photos(visit, checked, written)
        if pairing.last_visited_on is None or data.visited_on > pairing.last_visited_on:
            pairing.last_visited_on = data.visited_on
            pairing.save(update_fields=["last_visited_on"])
        audit_record(
            actor=actor,
            action="visit.log",
            entity="visit",
            entity_key=str(visit.public_id),
            source=source,
            household_no=household.household_no,
            division_path=household.division.path,
            after={
                "official": official.user.username,
                "visited_on": data.visited_on.isoformat(),
                "gps": None if data.latitude is None else f"{data.latitude},{data.longitude}",
                "content": visit.content[:200],
                "next_steps": visit.next_steps[:200],
                "photos": [p.sha256 for p in saved],
            },
        )
    return visit


@transaction.atomic
def visit_photo_add(
    *, actor: Any, source: ChangeSource, visit: Visit, photos: Sequence[Any]
) -> list[VisitPhoto]:
    """Add photos to a recorded visit (same checks and rights as recording it)."""
    household = visit.household
    _require_visit_rights(actor, visit.official, household)
    errors = Errors()
    if not photos:
        errors.add("photos", _("Choose at least one photo."), "required")
    checked = _check_photos(errors, photos, existing=visit.photos.count())
    errors.raise_if_any()
    with _files_removed_on_error() as written:
        saved = _store_photos(visit, checked, written)
        audit_record(
            actor=actor,
            action="visit.photos",
            entity="visit",
            entity_key=str(visit.public_id),
            source=source,
            household_no=household.household_no,
            division_path=household.division.path,
            after={"photos": [p.sha256 for p in saved]},
        )
    return saved


def _store_photos(
    visit: Visit, checked: list[CheckedImage], written: list[tuple[Any, str]]
) -> list[VisitPhoto]:
    """Write the files and rows; ``written`` collects the files so a failure can remove them."""
    saved: list[VisitPhoto] = []
    for image in checked:
        photo = VisitPhoto(
            visit=visit,
            content_type=image.content_type,
            size=image.size,
            width=image.width,
            height=image.height,
            sha256=image.sha256,
        )
        photo.file.save("photo", ContentFile(image.content), save=False)
        written.append((photo.file.storage, photo.file.name))
        photo.save()
        saved.append(photo)
    return saved


@contextmanager
def _files_removed_on_error() -> Iterator[list[tuple[Any, str]]]:
    """Collect the (storage, name) of files written in the block; remove them if it fails (the
    rows roll back with the transaction, the files would stay behind)."""
    written: list[tuple[Any, str]] = []
    try:
        yield written
    except Exception:
        for storage, name in written:
            storage.delete(name)
        raise


# --- Quotas -------------------------------------------------------------------------------------


@transaction.atomic
def quota_rule_set(
    *,
    actor: Any,
    source: ChangeSource,
    rank_level: str,
    households: int,
    orphans: int,
    valid_from: dt.date,
    source_note: str,
) -> QuotaRule:
    """Make a new version of the quota of a rank level from ``valid_from``; the version in force
    ends the day before. A city administrator (or a command) may."""
    if actor is not None and not actor_scope(actor).paths(frozenset({Role.CITY_ADMIN})):
        raise PermissionDenied(_("Only a city administrator may change pairing quotas."))
    errors = Errors()
    if rank_level not in RankLevel.values:
        errors.add("rank_level", _("Unknown rank level."), "unknown_rank_level")
    if not 0 <= households <= 100:
        errors.add("households", _("Between 0 and 100 households."), "out_of_range")
    if not 0 <= orphans <= 10:
        errors.add("orphans", _("Between 0 and 10 orphans."), "out_of_range")
    if not source_note.strip():
        errors.add("source_note", _("Say where the number comes from."), "required")
    current = (
        QuotaRule.objects.filter(rank_level=rank_level, valid_to__isnull=True)
        .order_by("-valid_from")
        .first()
    )
    if current is not None and valid_from <= current.valid_from:
        errors.add(
            "valid_from",
            _("A new version starts after the one in force (from %(day)s).")
            % {"day": current.valid_from.isoformat()},
            "not_after_current",
        )
    errors.raise_if_any()
    before: dict[str, Any] = {}
    if current is not None:
        before = {"households": current.households, "orphans": current.orphans}
        current.valid_to = valid_from - dt.timedelta(days=1)
        current.save(update_fields=["valid_to"])
    rule = QuotaRule.objects.create(
        rank_level=rank_level,
        households=households,
        orphans=orphans,
        valid_from=valid_from,
        source=source_note.strip(),
    )
    audit_record(
        actor=actor,
        action="pairing.quota",
        entity="quota",
        entity_key=rank_level,
        source=source,
        before=before,
        after={
            "households": households,
            "orphans": orphans,
            "valid_from": valid_from.isoformat(),
            "source": rule.source,
        },
    )
    return rule


# --- Help units ---------------------------------------------------------------------------------


@transaction.atomic
def help_unit_save(
    *, actor: Any, source: ChangeSource, name: str, home_code: str, paired_code: str
) -> HelpUnit:
    """Create or change a help unit (帮扶单位) and the village or township it is paired with.

    Officials belong to it by the unit name on their profile. An administrator over the paired
    division may (and, when the pairing moves, over the previous one too).
    """
    errors = Errors()
    name = name.strip()
    if not name or len(name) > 100:
        errors.add("name", _("Give the unit's name (at most 100 characters)."), "required")
    home = Division.objects.filter(code=home_code).first()
    if home is None:
        errors.add("home", _("Unknown division code."), "unknown_division")
    paired = Division.objects.filter(code=paired_code).first()
    if paired is None:
        errors.add("paired", _("Unknown division code."), "unknown_division")
    elif paired.level not in (Level.VILLAGE, Level.TOWNSHIP):
        errors.add("paired", _("A unit is paired with a village or a township."), "bad_level")
    errors.raise_if_any()
    assert home is not None and paired is not None
    unit = HelpUnit.objects.filter(name=name).select_related("paired_division").first()
    _require_manage(actor, paired.path)
    if unit is not None:
        _require_manage(actor, unit.paired_division.path)
    before = (
        {"home": unit.home.code, "paired": unit.paired_division.code} if unit is not None else {}
    )
    if unit is None:
        unit = HelpUnit.objects.create(name=name, home=home, paired_division=paired)
    else:
        unit.home, unit.paired_division = home, paired
        unit.save(update_fields=["home", "paired_division"])
    audit_record(
        actor=actor,
        action="help_unit.save",
        entity="help_unit",
        entity_key=name,
        source=source,
        division_path=paired.path,
        before=before,
        after={"home": home.code, "paired": paired.code},
    )
    return unit


# --- Key villages and work teams ----------------------------------------------------------------


@transaction.atomic
def key_village_designate(
    *, actor: Any, source: ChangeSource, division: Division, year: int, source_note: str = ""
) -> KeyVillage:
    """Mark a village as a provincial key village (省定重点村)."""
    _require_manage(actor, division.path)
    errors = Errors()
    if division.level != Level.VILLAGE:
        errors.add("division", _("Only a village can be a key village."), "bad_level")
    elif KeyVillage.objects.filter(division=division).exists():
        errors.add("division", _("This village is a key village already."), "already_key")
    if not 2000 <= year <= today().year:
        errors.add("year", _("Not a valid year."), "out_of_range")
    errors.raise_if_any()
    village = KeyVillage.objects.create(division=division, designated_year=year, source=source_note)
    audit_record(
        actor=actor,
        action="key_village.designate",
        entity="key_village",
        entity_key=division.code,
        source=source,
        division_path=division.path,
        after={"year": year, "source": source_note},
    )
    return village


@transaction.atomic
def team_member_add(
    *,
    actor: Any,
    source: ChangeSource,
    village: KeyVillage,
    official: Official,
    role: str,
    started_on: dt.date,
    unit: str = "",
) -> TeamMember:
    """Post an official to a key village's work team (as its first secretary, or a member)."""
    _require_manage(actor, village.division.path)
    errors = Errors()
    if role not in TeamMember.Role.values:
        errors.add("role", _("Unknown team role."), "unknown_role")
    if started_on > today():
        errors.add("started_on", _("The start date cannot be in the future."), "future_date")
    active = TeamMember.objects.filter(village=village, ended_on__isnull=True)
    if role == TeamMember.Role.FIRST_SECRETARY and active.filter(role=role).exists():
        errors.add(
            "role",
            _("The village has a first secretary; end that posting first."),
            "first_secretary_exists",
        )
    if active.filter(official=official).exists():
        errors.add("official", _("This official is in the team already."), "already_member")
    errors.raise_if_any()
    member = TeamMember.objects.create(
        village=village,
        official=official,
        role=role,
        unit=(unit or official.unit)[:100],
        started_on=started_on,
    )
    audit_record(
        actor=actor,
        action="team.add",
        entity="team_member",
        entity_key=str(member.public_id),
        source=source,
        division_path=village.division.path,
        after={
            "village": village.division.code,
            "official": official.user.username,
            "role": role,
            "unit": member.unit,
            "started_on": started_on.isoformat(),
        },
    )
    return member


@transaction.atomic
def team_member_end(
    *, actor: Any, source: ChangeSource, member: TeamMember, ended_on: dt.date | None = None
) -> TeamMember:
    """End a posting; the row stays as history."""
    _require_manage(actor, member.village.division.path)
    ended_on = ended_on or today()
    errors = Errors()
    if member.ended_on is not None:
        errors.add("member", _("This posting has ended already."), "already_ended")
    if ended_on > today():
        errors.add("ended_on", _("The end date cannot be in the future."), "future_date")
    elif ended_on < member.started_on:
        errors.add("ended_on", _("The end date is before the start date."), "before_start")
    errors.raise_if_any()
    member.ended_on = ended_on
    member.save(update_fields=["ended_on"])
    audit_record(
        actor=actor,
        action="team.end",
        entity="team_member",
        entity_key=str(member.public_id),
        source=source,
        division_path=member.village.division.path,
        after={"ended_on": ended_on.isoformat()},
    )
    return member


@transaction.atomic
def attendance_record(
    *, actor: Any, source: ChangeSource, member: TeamMember, month: dt.date, days: int
) -> Attendance:
    """Set the days a team member spent in the village in ``month`` (replacing an earlier
    figure). An administrator over the village, or the member themself, may."""
    own = actor_official(actor) if actor is not None else None
    if actor is not None and (own is None or own.pk != member.official_id):
        _require_manage(actor, member.village.division.path)
    month = month.replace(day=1)
    errors = Errors()
    current_month = today().replace(day=1)
    if month > current_month:
        errors.add("month", _("The month cannot be in the future."), "future_date")
    last_day = calendar.monthrange(month.year, month.month)[1]
    if not 0 <= days <= last_day:
        errors.add(
            "days",
            _("Between 0 and %(n)d days in this month.") % {"n": last_day},
            "out_of_range",
        )
    if month < member.started_on.replace(day=1) or (
        member.ended_on is not None and month > member.ended_on
    ):
        errors.add("month", _("The member was not posted in this month."), "outside_posting")
    errors.raise_if_any()
    row = Attendance.objects.filter(member=member, month=month).first()
    before = {"days": row.days} if row else {}
    if row is None:
        row = Attendance.objects.create(member=member, month=month, days=days)
    else:
        row.days = days
        row.save(update_fields=["days", "updated_at"])
    audit_record(
        actor=actor,
        action="team.attendance",
        entity="team_member",
        entity_key=str(member.public_id),
        source=source,
        division_path=member.village.division.path,
        before=before,
        after={"month": month.strftime("%Y-%m"), "days": days},
    )
    return row
