"""Writes of the policy app: policy values (versioned), evaluation runs with their stored
results, housing renovations and simulation scenarios. Each validates first, runs in one
transaction and leaves an audit event.
"""

import csv
import datetime as dt
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import polars as pl
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.accounts.roles import Role
from fupin.accounts.scope import actor_scope
from fupin.core.audit import ChangeSource, audit_record
from fupin.core.bulk import insert_frame
from fupin.core.errors import NotFound, PermissionDenied
from fupin.divisions.models import Division
from fupin.policy.evaluation import BulkResult, EvaluationError, evaluate_frame
from fupin.policy.inputs import read_bulk
from fupin.policy.models import (
    DivisionEvaluation,
    EvaluationRun,
    HouseholdEvaluation,
    HousingRenovation,
    PolicyRevision,
    PolicyValue,
)
from fupin.policy.parameters import (
    ResolvedParameters,
    current_policy_version,
    parameters_for_year,
    spec_of,
)
from fupin.registry.access import access_household_by_no

BUNDLED_FILE = Path(__file__).resolve().parent / "data" / "policy_values.csv"
POLICY_DIVISION = "policy"  # audit entity of policy values


# --- Who may do what ---------------------------------------------------------------------------


def can_edit_policy(actor: Any) -> bool:
    """City administrators edit the policy data (and run simulations); commands run as None."""
    return Role.CITY_ADMIN in actor_scope(actor).roles


def _require_policy_editor(actor: Any) -> None:
    if actor is not None and not can_edit_policy(actor):
        raise PermissionDenied(_("Only a city administrator may change the policy data."))


def _revision(actor: Any, note: str) -> PolicyRevision:
    return PolicyRevision.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_username=getattr(actor, "username", "") or "",
        note=note[:200],
    )


def _snapshot(value: PolicyValue) -> dict[str, Any]:
    return {
        "name": value.name,
        "qualifier": value.qualifier,
        "value": str(value.value),
        "valid_from": value.valid_from.isoformat(),
        "valid_to": value.valid_to.isoformat() if value.valid_to else None,
        "source_note": value.source_note,
        "version": value.version,
    }


# --- Policy values -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyValueData:
    name: str
    qualifier: str
    value: Decimal
    valid_from: dt.date
    valid_to: dt.date | None
    source_note: str


def _validate(data: PolicyValueData, *, lineage: uuid.UUID | None = None) -> None:
    """Range, qualifier, period and overlap checks; ValidationError keyed by field."""
    try:
        spec = spec_of(data.name)
    except ValidationError as exc:
        raise ValidationError(
            {"name": ValidationError(exc.messages[0], code="unknown_parameter")}
        ) from None
    spec.check(data.value, data.qualifier)
    errors: dict[str, ValidationError] = {}
    if data.valid_to is not None and data.valid_to < data.valid_from:
        errors["valid_to"] = ValidationError(
            _("The end of validity cannot come before its start."), code="bad_period"
        )
    if not data.source_note.strip():
        errors["source_note"] = ValidationError(
            _("Say where the value comes from (document, page, date)."), code="required"
        )
    if errors:
        raise ValidationError(errors)
    overlapping = PolicyValue.objects.filter(
        name=data.name, qualifier=data.qualifier, is_current=True
    ).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=data.valid_from))
    if lineage is not None:
        overlapping = overlapping.exclude(lineage=lineage)
    if data.valid_to is not None:
        overlapping = overlapping.filter(valid_from__lte=data.valid_to)
    clash = overlapping.first()
    if clash is not None:
        message = _(
            "The period overlaps the value %(value)s valid from %(start)s; change that value's "
            "period first."
        ) % {"value": clash.value, "start": clash.valid_from}
        raise ValidationError({"valid_from": ValidationError(message, code="overlap")})


@transaction.atomic
def policy_value_create(*, actor: Any, source: ChangeSource, data: PolicyValueData) -> PolicyValue:
    """Add a policy value (version 1 of a new lineage). City administrators only."""
    _require_policy_editor(actor)
    _validate(data)
    revision = _revision(actor, f"create {data.name}")
    value = PolicyValue.objects.create(
        name=data.name,
        qualifier=data.qualifier,
        value=data.value,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        source_note=data.source_note.strip(),
        revision=revision,
    )
    audit_record(
        actor=actor,
        action="policy_value.create",
        entity=POLICY_DIVISION,
        entity_key=str(value.lineage),
        source=source,
        after=_snapshot(value),
    )
    return value


def policy_value_is_used(value: PolicyValue) -> bool:
    """Whether a stored evaluation or scenario ran with this version."""
    return value.evaluation_runs.exists() or value.scenarios.exists()


@transaction.atomic
def policy_value_update(
    *, actor: Any, source: ChangeSource, value_id: int, data: PolicyValueData
) -> PolicyValue:
    """Change a value. A version that no stored evaluation used is changed in place; a used one
    is kept as it was and a new version (number + 1) becomes current. City administrators only.
    Returns the current version after the change."""
    _require_policy_editor(actor)
    current = PolicyValue.objects.select_for_update().filter(pk=value_id, is_current=True).first()
    if current is None:
        raise NotFound
    if (data.name, data.qualifier) != (current.name, current.qualifier):
        raise ValidationError(
            {"name": _("The parameter and qualifier of a value cannot change; add a new value.")}
        )
    _validate(data, lineage=current.lineage)
    before = _snapshot(current)
    revision = _revision(actor, f"update {data.name}")
    fields = {
        "value": data.value,
        "valid_from": data.valid_from,
        "valid_to": data.valid_to,
        "source_note": data.source_note.strip(),
    }
    if policy_value_is_used(current):
        current.is_current = False
        current.save(update_fields=["is_current"])
        result = PolicyValue.objects.create(
            lineage=current.lineage,
            version=current.version + 1,
            name=current.name,
            qualifier=current.qualifier,
            revision=revision,
            **fields,
        )
        action = "policy_value.new_version"
    else:
        for key, new in fields.items():
            setattr(current, key, new)
        current.revision = revision
        current.save(update_fields=[*fields, "revision"])
        result = current
        action = "policy_value.update"
    audit_record(
        actor=actor,
        action=action,
        entity=POLICY_DIVISION,
        entity_key=str(result.lineage),
        source=source,
        before=before,
        after=_snapshot(result),
    )
    return result


def parse_bundled(path: Path = BUNDLED_FILE) -> list[PolicyValueData]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    out = []
    for number, row in enumerate(rows, start=2):
        try:
            out.append(
                PolicyValueData(
                    name=row["name"],
                    qualifier=row["qualifier"],
                    value=Decimal(row["value"]),
                    valid_from=dt.date.fromisoformat(row["valid_from"]),
                    valid_to=dt.date.fromisoformat(row["valid_to"]) if row["valid_to"] else None,
                    source_note=row["source_note"],
                )
            )
        except (KeyError, ValueError, InvalidOperation) as exc:
            msg = f"{path.name}, row {number}: {exc}"
            raise ValueError(msg) from None
    return out


@transaction.atomic
def policy_values_load_bundled(*, using: str = "default", path: Path = BUNDLED_FILE) -> int:
    """Add the bundled defaults (``data/policy_values.csv``) that the database lacks. A value is
    matched by parameter, qualifier and start of validity, in any version: a value a city
    administrator changed is never overwritten. Returns how many were added."""
    existing = set(PolicyValue.objects.using(using).values_list("name", "qualifier", "valid_from"))
    missing = [
        d for d in parse_bundled(path) if (d.name, d.qualifier, d.valid_from) not in existing
    ]
    if not missing:
        return 0
    revision = PolicyRevision.objects.using(using).create(note="bundled defaults")
    PolicyValue.objects.using(using).bulk_create(
        PolicyValue(
            name=d.name,
            qualifier=d.qualifier,
            value=d.value,
            valid_from=d.valid_from,
            valid_to=d.valid_to,
            source_note=d.source_note,
            revision=revision,
        )
        for d in missing
    )
    return len(missing)


# --- Evaluation --------------------------------------------------------------------------------


def _scope_division(actor: Any, division_code: str | None) -> Division | None:
    """The root of the evaluated subtree: the given division (which the actor must see), or
    the whole registry for a command without one."""
    if not division_code:
        if actor is None:
            return None
        paths = actor_scope(actor).paths()
        if len(paths) != 1:
            raise ValidationError({"division": _("Choose the division to evaluate.")})
        return Division.objects.get(path=paths[0])
    division = Division.objects.filter(code=division_code).first()
    if division is None:
        raise ValidationError(
            {"division": _("Unknown division code %(code)s.") % {"code": division_code}}
        )
    if actor is not None and not actor_scope(actor).can_see(division.path):
        raise NotFound
    return division


@dataclass
class RunOutcome:
    run: EvaluationRun
    result: BulkResult
    parameters: ResolvedParameters
    policy_version: int
    data_version: str
    seconds: dict[str, float]


def evaluate(
    *,
    year: int,
    division: Division | None,
    overrides: Mapping[str, Mapping[str, Decimal]] | None = None,
) -> tuple[BulkResult, ResolvedParameters, str, dict[str, float]]:
    """Read and evaluate (nothing stored): the result frames, the parameters used, the data
    version and the time of each step."""
    seconds: dict[str, float] = {}
    mark = time.perf_counter()
    params = parameters_for_year(year, overrides)
    path = division.path if division else None
    inputs, version = read_bulk(year, path, params.values, with_version=True)
    seconds["read"] = time.perf_counter() - mark
    mark = time.perf_counter()
    try:
        result = evaluate_frame(inputs, params.values, path)
    except EvaluationError as exc:
        raise ValidationError(str(exc), code="evaluation") from None
    seconds["evaluate"] = time.perf_counter() - mark
    return result, params, version, seconds


def evaluation_run(
    *, actor: Any, source: ChangeSource, year: int, division_code: str | None = None
) -> RunOutcome:
    """Evaluate every household of the subtree for ``year`` and store the results with the
    policy and data versions (bulk writes). City administrators, or the command line."""
    _require_policy_editor(actor)
    division = _scope_division(actor, division_code)
    started = time.perf_counter()
    result, params, version, seconds = evaluate(year=year, division=division)
    mark = time.perf_counter()
    with transaction.atomic():
        run = EvaluationRun.objects.create(
            year=year,
            division=division,
            actor=actor if getattr(actor, "pk", None) else None,
            actor_username=getattr(actor, "username", "") or "",
            policy_version=current_policy_version(),
            data_version=version,
            parameters=params.snapshot(),
            households=result.households.height,
            summary=summarise(result),
        )
        run.values_used.set(params.used_values())
        _store_results(run, result)
        run.seconds = time.perf_counter() - started
        run.save(update_fields=["seconds"])
        audit_record(
            actor=actor,
            action="policy.evaluate",
            entity="evaluation_run",
            entity_key=str(run.pk),
            source=source,
            division_path=division.path if division else "",
            after={
                "year": year,
                "households": run.households,
                "policy_version": run.policy_version,
                "data_version": version,
            },
        )
    seconds["store"] = time.perf_counter() - mark
    return RunOutcome(run, result, params, run.policy_version, version, seconds)


def _store_results(run: EvaluationRun, result: BulkResult) -> None:
    households = result.households.select(
        pl.lit(run.pk).alias("run_id"),
        "household_id",
        pl.lit(run.year).alias("year"),
        "outcome",
        "category",
        "failed",
        pl.col("risks"),
    )
    insert_frame(HouseholdEvaluation, households)
    divisions = result.divisions.select(
        pl.lit(run.pk).alias("run_id"),
        "division_id",
        "level",
        "poor_people",
        "population",
        "qualifies",
    )
    insert_frame(DivisionEvaluation, divisions)


def summarise(result: BulkResult) -> dict[str, Any]:
    """Counts per county (and in total): households by outcome and monitoring category, people
    still poor, incidence and whether the county and its villages qualify for exit."""
    h = result.households
    divisions = result.divisions
    counties = divisions.filter(pl.col("level") == "county")
    villages = divisions.filter(pl.col("level") == "village")
    rows: list[dict[str, Any]] = []
    keys = [(r["division_id"], r["code"], r["name"]) for r in counties.iter_rows(named=True)]
    if h.filter(pl.col("county_id").is_null()).height:
        keys.append((None, "", ""))
    for county_id, code, name in [*keys, ("total", "", "")]:
        if county_id == "total":
            part = h
        elif county_id is None:
            part = h.filter(pl.col("county_id").is_null())
        else:
            part = h.filter(pl.col("county_id") == county_id)
        entry: dict[str, Any] = {
            "code": code,
            "name": name,
            "households": part.height,
            "outcomes": dict(sorted(part.group_by("outcome").len().iter_rows())),
            "monitoring": dict(
                sorted(part.filter(pl.col("category") != "").group_by("category").len().iter_rows())
            ),
            "poor_people": int(part.filter(pl.col("poor_after"))["members"].sum() or 0),
        }
        if county_id not in (None, "total"):
            county = counties.filter(pl.col("division_id") == county_id).row(0, named=True)
            mine = villages.filter(pl.col("county_id") == county_id)
            entry |= {
                "population": county["population"],
                "incidence": _incidence(county["poor_people"], county["population"]),
                "qualifies": bool(county["qualifies"]),
                "villages": mine.height,
                "villages_qualifying": mine.filter(pl.col("qualifies")).height,
            }
        if county_id == "total":
            entry |= {
                "villages": villages.height,
                "villages_qualifying": villages.filter(pl.col("qualifies")).height,
            }
        rows.append(entry)
    total = rows.pop()
    return {"counties": rows, "total": total}


def _incidence(poor: int, population: int | None) -> float | None:
    if not population:
        return None
    return round(poor * 100 / population, 2)


# --- Housing renovations -----------------------------------------------------------------------


@transaction.atomic
def housing_renovation_record(
    *,
    actor: Any,
    source: ChangeSource,
    household_no: str,
    kind: str,
    accepted_on: dt.date,
    note: str = "",
) -> HousingRenovation:
    """Record the acceptance (验收) of a renovated dangerous house. Editors of the household's
    area (and the assistance app, when a renovation measure is accepted)."""
    household = (
        access_household_by_no(actor, household_no, for_edit=True)
        if actor is not None
        else _household_for_command(household_no)
    )
    errors: dict[str, str] = {}
    if kind not in HousingRenovation.Kind.values:
        errors["kind"] = _("Unknown kind of renovation.")
    if accepted_on > timezone.localdate():
        errors["accepted_on"] = _("The acceptance date cannot lie in the future.")
    if errors:
        raise ValidationError(errors)
    renovation = HousingRenovation.objects.create(
        household=household, kind=kind, accepted_on=accepted_on, note=note.strip()[:200]
    )
    audit_record(
        actor=actor,
        action="housing_renovation.record",
        entity="household",
        entity_key=household.household_no,
        household_no=household.household_no,
        division_path=household.division.path,
        source=source,
        after={"kind": kind, "accepted_on": accepted_on.isoformat(), "note": renovation.note},
    )
    return renovation


def _household_for_command(household_no: str) -> Any:
    from fupin.registry.models import Household

    household = Household.objects.select_related("division").filter(household_no=household_no)
    found = household.first()
    if found is None:
        raise NotFound
    return found
