"""Reads of the procedures, always within the actor's area."""

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from fupin.accounts.scope import actor_scope
from fupin.procedures.models import Case


@dataclass(frozen=True)
class CaseFilters:
    procedure: str = ""
    state: str = ""
    village: str = ""  # the case's village code
    overdue: bool = False
    open_only: bool = False


def case_list(*, actor: Any, filters: CaseFilters | None = None) -> QuerySet[Case]:
    filters = filters or CaseFilters()
    scope = actor_scope(actor)
    qs = Case.objects.select_related("household", "division").filter(
        scope.division_q("division__path")
    )
    if filters.procedure:
        qs = qs.filter(procedure=filters.procedure)
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.village:
        qs = qs.filter(division__code=filters.village)
    if filters.overdue:
        qs = qs.filter(closed_at__isnull=True, deadline__lt=timezone.localdate())
    if filters.open_only:
        qs = qs.filter(closed_at__isnull=True)
    return qs


def cases_by_ids(*, actor: Any, public_ids: list[str]) -> list[Case]:
    """The cases among ``public_ids`` that the actor may see, in the order asked."""
    found = {str(c.public_id): c for c in case_list(actor=actor).filter(public_id__in=public_ids)}
    return [found[i] for i in public_ids if i in found]


def case_timeline(case: Case) -> list[dict[str, Any]]:
    """Transitions, comments, objections and attachments of a case, oldest first."""
    items: list[dict[str, Any]] = [
        *({"kind": "transition", "at": t.at, "item": t} for t in case.transitions.all()),
        *({"kind": "comment", "at": c.at, "item": c} for c in case.comments.all()),
        *({"kind": "objection", "at": o.raised_at, "item": o} for o in case.objections.all()),
        *({"kind": "attachment", "at": a.uploaded_at, "item": a} for a in case.attachments.all()),
    ]
    return sorted(items, key=lambda i: i["at"])


def households_under_monitoring(*, actor: Any) -> QuerySet[Case]:
    """Households whose monitoring case ended in 纳入监测 and whose risk is not yet eliminated."""
    eliminated = Case.objects.filter(procedure="elimination", state="eliminated").values(
        "household_id"
    )
    return case_list(
        actor=actor, filters=CaseFilters(procedure="monitoring", state="monitored")
    ).exclude(household_id__in=eliminated)
