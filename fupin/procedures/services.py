"""Every write to the procedures: open a case, move it along its steps, comments, objections,
attachments and batch actions. Each service checks the actor's role level and scope, validates
before writing, runs in one transaction and writes the audit trail.

A refused action raises ``Refused`` (a ValidationError with a code) or ``NotAllowed`` (the actor's
role is not the step's level) and changes nothing.
"""

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.accounts.scope import actor_scope
from fupin.core.audit import ChangeSource, audit_record
from fupin.core.errors import PermissionDenied
from fupin.procedures.definitions import (
    ADVANCE,
    CHANNELS,
    COUNTY,
    LEVEL_LABELS,
    LEVEL_ROLE,
    PROCEDURES,
    REJECT,
    REJECTED,
    TOWNSHIP,
    Procedure,
    Step,
)
from fupin.procedures.models import Attachment, Case, Comment, Objection, Transition
from fupin.registry.models import Household
from fupin.registry.services import household_update
from fupin.registry.validation import HouseholdData

DEFAULT_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".txt": "text/plain",
}


class Refused(ValidationError):  # noqa: N818 (reads as what happened, like NotFound)
    """The case is not in a state that allows the action (closed, paused, out of order …)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, code=code)
        self.refusal = code


class NotAllowed(PermissionDenied):
    """The actor's role is not the level the step needs."""

    refusal = "wrong_level"


def procedure_of(case: Case) -> Procedure:
    return PROCEDURES[case.procedure]


def actor_role_at(actor: Any, case: Case, level: str) -> str | None:
    """The actor's role of ``level`` covering the case's division, if any."""
    role = LEVEL_ROLE[level]
    scope = actor_scope(actor)
    path = case.division.path
    if any(g.role == role and path.startswith(g.path) for g in scope.grants):
        return str(role)
    return None


# (year, qualifier) → days: the lists ask for many cases of the same years at once.
PublicityCache = dict[tuple[int, str], int]


def publicity_days(case: Case, step: Step, cache: PublicityCache | None = None) -> int:
    """The minimum length of a publicity step: the policy value of the case's year, else the
    procedure's default."""
    if not step.publicity:
        return 0
    key = (case.year, step.publicity)
    if cache is not None and key in cache:
        return cache[key]
    from fupin.policy.parameters import parameters_for_year

    try:
        value = parameters_for_year(case.year).values.get("publicity_days", step.publicity)
    except ValidationError:
        value = None
    days = int(value) if value is not None else step.publicity_default
    if cache is not None:
        cache[key] = days
    return days


def publicity_ends(
    case: Case, step: Step, cache: PublicityCache | None = None
) -> dt.datetime | None:
    days = publicity_days(case, step, cache)
    return case.step_started_at + dt.timedelta(days=days) if days else None


def _deadline(step: Step, start: dt.datetime) -> dt.date:
    return timezone.localtime(start).date() + dt.timedelta(days=step.deadline_days)


def allowed_actions(actor: Any, case: Case, cache: PublicityCache | None = None) -> list[str]:
    """The actions the actor may take on the case now (the buttons to show)."""
    if case.closed_at is not None or case.paused:
        return []
    step = procedure_of(case).step(case.state)
    if step is None or actor_role_at(actor, case, step.level) is None:
        return []
    ends = publicity_ends(case, step, cache)
    actions = [] if ends and ends > timezone.now() else [ADVANCE]
    if step.can_reject:
        actions.append(REJECT)
    return actions


def can_object(actor: Any, case: Case) -> bool:
    step = procedure_of(case).step(case.state)
    return (
        case.closed_at is None
        and not case.paused
        and step is not None
        and bool(step.publicity)
        and actor_scope(actor).can_edit(case.division.path)
    )


def can_resolve(actor: Any, case: Case) -> bool:
    return case.paused and any(actor_role_at(actor, case, lv) for lv in (TOWNSHIP, COUNTY))


def _snapshot(case: Case) -> dict[str, Any]:
    return {
        "procedure": case.procedure,
        "state": case.state,
        "paused": case.paused,
        "deadline": case.deadline,
        "closed": case.closed_at is not None,
    }


def _audit(  # noqa: PLR0917
    actor: Any,
    source: ChangeSource,
    case: Case,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    audit_record(
        actor=actor,
        action=f"procedure.{action}",
        entity="procedure_case",
        entity_key=str(case.public_id),
        household_no=case.household.household_no,
        division_path=case.division.path,
        source=source,
        before=before,
        after=after,
    )


# --- Opening a case ----------------------------------------------------------------------------


def _gate(procedure: Procedure, household: Household, year: int) -> None:
    """Conditions for opening a case beyond role and scope."""
    if procedure.code == "exit" and household.status not in {"not_out", "returned"}:
        raise Refused(_("Only a household registered as poor can exit."), "not_poor")
    if procedure.code == "elimination":
        if not Case.objects.filter(
            household=household, procedure="monitoring", state="monitored"
        ).exists():
            raise Refused(_("The household is not under monitoring."), "not_monitored")
        # Only when the policy's risk-elimination criteria pass, never without labour capacity.
        from fupin.policy.explain import explain_household

        try:
            explanation = explain_household(household, year)
        except ValidationError as error:
            raise Refused(" ".join(error.messages), "criteria_fail") from None
        test = next(t for t in explanation.tests if t.code == "elimination")
        labour = next((c for c in test.criteria if c.code == "labour_capacity"), None)
        if labour is not None and not labour.passed:
            raise Refused(
                _("A household without labour capacity stays under monitoring."), "no_labour"
            )
        if not test.passed:
            raise Refused(
                _("The risk-elimination criteria do not pass for %(year)s.") % {"year": year},
                "criteria_fail",
            )


@transaction.atomic
def case_open(
    *,
    actor: Any,
    source: ChangeSource,
    household: Household,
    procedure: str,
    year: int,
    channel: str = "",
    comment: str = "",
) -> Case:
    """Open a case on the procedure's first step; the first step's level (the village) opens it."""
    definition = PROCEDURES.get(procedure)
    if definition is None:
        raise Refused(_("Unknown procedure."), "unknown_procedure")
    first = definition.steps[0]
    probe = Case(procedure=procedure, household=household, division=household.division, year=year)
    role = actor_role_at(actor, probe, first.level)
    if role is None:
        raise NotAllowed(
            _("Only a %(level)s role of the household's area may open this procedure.")
            % {"level": LEVEL_LABELS[first.level]}
        )
    if procedure == "monitoring" and channel not in CHANNELS:
        raise Refused(_("Choose how the risk was discovered."), "channel")
    if procedure != "monitoring":
        channel = ""
    if Case.objects.filter(
        household=household, procedure=procedure, closed_at__isnull=True
    ).exists():
        raise Refused(_("The household already has an open case of this procedure."), "duplicate")
    _gate(definition, household, year)
    now = timezone.now()
    case = Case.objects.create(
        procedure=procedure,
        household=household,
        division=household.division,
        year=year,
        channel=channel,
        state=first.code,
        step_started_at=now,
        deadline=_deadline(first, now),
        opened_by=actor if getattr(actor, "pk", None) else None,
    )
    Transition.objects.create(
        case=case,
        action="open",
        to_state=first.code,
        actor=case.opened_by,
        actor_username=getattr(actor, "username", "") or "",
        role=role,
        comment=comment,
    )
    _audit(actor, source, case, "open", after=_snapshot(case) | {"channel": channel})
    return case


# --- Transitions -------------------------------------------------------------------------------


def _check_transition(actor: Any, case: Case, action: str, to_state: str | None) -> tuple[str, str]:
    """(role, target state) if the actor may take ``action`` now; raises otherwise."""
    definition = procedure_of(case)
    if case.closed_at is not None:
        raise Refused(_("The case is closed."), "closed")
    if case.paused:
        raise Refused(
            _("An objection is unresolved: the case is paused until it is resolved."), "paused"
        )
    step = definition.step(case.state)
    if step is None:  # pragma: no cover - an open case always sits on a step
        raise Refused(_("The case is in an unknown state."), "state")
    if action == ADVANCE:
        target = definition.next_state(step.code) or ""
    elif action == REJECT:
        if not step.can_reject:
            raise Refused(_("This step cannot reject the case."), "no_reject")
        target = REJECTED
    else:
        raise Refused(_("Unknown action."), "unknown_action")
    if to_state and to_state != target:
        raise Refused(
            _("The case is at “%(state)s”: it can only move to “%(next)s”, no step is skipped.")
            % {"state": definition.state_label(case.state), "next": definition.state_label(target)},
            "out_of_order",
        )
    role = actor_role_at(actor, case, step.level)
    if role is None:
        raise NotAllowed(
            _("The step “%(step)s” is for a %(level)s role of the household's area.")
            % {"step": step.label, "level": LEVEL_LABELS[step.level]}
        )
    ends = publicity_ends(case, step)
    if action == ADVANCE and ends is not None and ends > timezone.now():
        raise Refused(
            _("The publicity period runs until %(end)s.")
            % {"end": timezone.localtime(ends).strftime("%Y-%m-%d %H:%M")},
            "publicity_running",
        )
    return role, target


def _apply_effect(actor: Any, source: ChangeSource, case: Case) -> None:
    """What reaching the end state does to the registry (through its services, so the
    household's history is kept). Monitoring and elimination have no registry field: the case
    itself is the record (selectors.households_under_monitoring)."""
    household = Household.objects.select_related("division").get(pk=case.household_id)
    if case.procedure == "identification" and household.status != "not_out":
        status, exit_year = "not_out", None
        identified_year = min(household.identified_year, case.year)
    elif case.procedure == "exit":
        status, exit_year = "exited", max(case.year, household.identified_year)
        identified_year = household.identified_year
    else:
        return
    data = HouseholdData(
        division_code=household.division.code,
        identified_year=identified_year,
        standard=household.standard,
        category=household.category,
        main_cause=household.main_cause,
        status=status,
        other_causes=list(household.other_causes),
        exit_year=exit_year,
        phone=household.phone,
    )
    household_update(actor=actor, source=source, household=household, data=data)


@transaction.atomic
def case_transition(
    *,
    actor: Any,
    source: ChangeSource,
    case: Case,
    action: str,
    comment: str = "",
    to_state: str | None = None,
) -> Case:
    """Complete the current step (``advance``) or reject the case, with a comment."""
    case = Case.objects.select_for_update().select_related("household", "division").get(pk=case.pk)
    role, target = _check_transition(actor, case, action, to_state)
    before = _snapshot(case)
    definition = procedure_of(case)
    now = timezone.now()
    from_state = case.state
    case.state = target
    case.step_started_at = now
    next_step = definition.step(target)
    case.deadline = _deadline(next_step, now) if next_step else None
    if next_step is None:
        case.closed_at = now
    case.save()
    Transition.objects.create(
        case=case,
        action=action,
        from_state=from_state,
        to_state=target,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_username=getattr(actor, "username", "") or "",
        role=role,
        comment=comment,
    )
    if target == definition.final:
        _apply_effect(actor, source, case)
    _audit(actor, source, case, action, before, _snapshot(case) | {"comment": comment})
    return case


@dataclass(frozen=True)
class BatchResult:
    public_id: str
    ok: bool
    state: str = ""
    code: str = ""
    message: str = ""


def refusal_of(error: Exception) -> tuple[str, str]:
    code = getattr(error, "refusal", "") or "refused"
    if isinstance(error, ValidationError):
        return code, " ".join(str(m) for m in error.messages)
    return code, str(error)


def case_batch_transition(
    *,
    actor: Any,
    source: ChangeSource,
    cases: list[Case],
    action: str,
    comment: str = "",
    all_or_nothing: bool = False,
) -> list[BatchResult]:
    """Take the same action on many cases. By default each case is its own transaction and gets
    its own result (one paused case does not hold up the other 49); with ``all_or_nothing`` a
    single refusal rolls every case back and every result reports it."""
    results: list[BatchResult] = []
    if all_or_nothing:
        try:
            with transaction.atomic():
                for case in cases:
                    try:
                        done = case_transition(
                            actor=actor, source=source, case=case, action=action, comment=comment
                        )
                    except (Refused, NotAllowed) as error:
                        code, message = refusal_of(error)
                        results.append(
                            BatchResult(str(case.public_id), False, case.state, code, message)
                        )
                        raise
                    results.append(BatchResult(str(case.public_id), True, done.state))
        except (Refused, NotAllowed):
            failed = {r.public_id for r in results if not r.ok}
            return [
                r
                if r.public_id in failed
                else BatchResult(r.public_id, False, "", "rolled_back", _("Rolled back."))
                for r in results
            ] + [
                BatchResult(str(c.public_id), False, c.state, "not_tried", _("Not tried."))
                for c in cases[len(results) :]
            ]
        return results
    for case in cases:
        try:
            done = case_transition(
                actor=actor, source=source, case=case, action=action, comment=comment
            )
        except (Refused, NotAllowed) as error:
            code, message = refusal_of(error)
            results.append(BatchResult(str(case.public_id), False, case.state, code, message))
        else:
            results.append(BatchResult(str(case.public_id), True, done.state))
    return results


# --- Comments, objections, attachments ---------------------------------------------------------


def _require_editor(actor: Any, case: Case) -> None:
    if not actor_scope(actor).can_edit(case.division.path):
        raise NotAllowed(_("Your role may read this case but not change it."))


@transaction.atomic
def comment_add(*, actor: Any, source: ChangeSource, case: Case, text: str) -> Comment:
    _require_editor(actor, case)
    text = text.strip()
    if not text:
        raise Refused(_("Write a comment."), "empty")
    comment = Comment.objects.create(
        case=case,
        state=case.state,
        author=actor,
        author_username=actor.username,
        text=text,
    )
    _audit(actor, source, case, "comment", after={"state": case.state, "text": text})
    return comment


@transaction.atomic
def objection_raise(*, actor: Any, source: ChangeSource, case: Case, text: str) -> Objection:
    """Record an objection during a publicity period: the case pauses until it is resolved."""
    case = Case.objects.select_for_update().select_related("household", "division").get(pk=case.pk)
    _require_editor(actor, case)
    step = procedure_of(case).step(case.state)
    if case.closed_at is not None or step is None or not step.publicity:
        raise Refused(_("Objections are raised during a publicity period."), "not_publicity")
    if case.paused:
        raise Refused(_("An objection is already unresolved."), "paused")
    if not text.strip():
        raise Refused(_("Write the objection."), "empty")
    objection = Objection.objects.create(
        case=case, state=case.state, text=text.strip(), raised_by=actor
    )
    before = _snapshot(case)
    case.paused = True
    case.save(update_fields=["paused"])
    _audit(actor, source, case, "objection", before, _snapshot(case) | {"text": text.strip()})
    return objection


@transaction.atomic
def objection_resolve(
    *, actor: Any, source: ChangeSource, case: Case, decision: str, resolution: str
) -> Case:
    """Resolve the open objection (township or county). Dismissed: the case resumes and the
    publicity period is extended by the time it was paused. Upheld: the case is rejected."""
    case = Case.objects.select_for_update().select_related("household", "division").get(pk=case.pk)
    if not case.paused:
        raise Refused(_("There is no unresolved objection."), "not_paused")
    role = next((r for lv in (TOWNSHIP, COUNTY) if (r := actor_role_at(actor, case, lv))), None)
    if role is None:
        raise NotAllowed(
            _("A township or county role of the household's area resolves objections.")
        )
    if decision not in Objection.Decision.values:
        raise Refused(_("Choose a decision."), "decision")
    if not resolution.strip():
        raise Refused(_("Write how the objection was resolved."), "empty")
    objection = case.objections.filter(resolved_at__isnull=True).get()
    now = timezone.now()
    objection.decision = decision
    objection.resolution = resolution.strip()
    objection.resolved_by = actor
    objection.resolved_at = now
    objection.save()
    before = _snapshot(case)
    case.paused = False
    if decision == Objection.Decision.DISMISSED:
        case.step_started_at += now - objection.raised_at
        if case.deadline:
            case.deadline += dt.timedelta(days=(now - objection.raised_at).days)
    else:
        Transition.objects.create(
            case=case,
            action=REJECT,
            from_state=case.state,
            to_state=REJECTED,
            actor=actor,
            actor_username=actor.username,
            role=role,
            comment=resolution.strip(),
        )
        case.state = REJECTED
        case.closed_at = now
        case.deadline = None
    case.save()
    _audit(actor, source, case, "resolve", before, _snapshot(case) | {"decision": decision})
    return case


def attachments_dir() -> Path:
    return Path(settings.DATA_DIR) / "procedures"


def attachment_max_bytes() -> int:
    return int(getattr(settings, "PROCEDURE_ATTACHMENT_MAX_BYTES", DEFAULT_ATTACHMENT_MAX_BYTES))


@transaction.atomic
def attachment_add(
    *, actor: Any, source: ChangeSource, case: Case, upload: UploadedFile
) -> Attachment:
    """Keep a file for the case (size and type checked first)."""
    _require_editor(actor, case)
    name = Path(upload.name or "file").name[:200]
    suffix = Path(name).suffix.lower()
    if suffix not in ATTACHMENT_TYPES:
        raise Refused(
            _("Files of type %(type)s are not accepted.") % {"type": suffix or "?"}, "type"
        )
    limit = attachment_max_bytes()
    if (upload.size or 0) > limit:
        raise Refused(
            _("The file is larger than %(mb)s MB.") % {"mb": round(limit / 1024 / 1024, 1)},
            "too_large",
        )
    folder = attachments_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"{uuid.uuid4().hex}{suffix}"
    digest = hashlib.sha256()
    size = 0
    with (folder / stored).open("wb") as out:
        for chunk in upload.chunks():
            size += len(chunk)
            digest.update(chunk)
            out.write(chunk)
    attachment = Attachment.objects.create(
        case=case,
        state=case.state,
        name=name,
        content_type=ATTACHMENT_TYPES[suffix],
        size=size,
        sha256=digest.hexdigest(),
        stored_name=stored,
        uploaded_by=actor,
    )
    _audit(actor, source, case, "attachment", after={"name": name, "size": size})
    return attachment


def attachment_path(attachment: Attachment) -> Path:
    return attachments_dir() / attachment.stored_name
