"""Reads of assistance. Every list starts from what the actor may see."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from fupin.accounts.scope import actor_scope
from fupin.assistance.models import (
    MILESTONE_ORDER,
    BenefitPayment,
    Disbursement,
    FundSource,
    Measure,
    MeasureStage,
    MeasureType,
    Milestone,
    MilestoneKind,
    Photo,
    Project,
    ProjectBeneficiary,
    ProjectFunding,
    ProjectVillage,
)
from fupin.core.models import AuditEvent
from fupin.divisions.models import Division, Level, subtree_q
from fupin.registry.models import Household
from fupin.registry.selectors import audit_event_view


def measure_type_list(*, active_only: bool = False) -> QuerySet[MeasureType]:
    """The catalogue, by family and order. The catalogue is not personal data: everyone with a
    role reads it."""
    qs = MeasureType.objects.all()
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.order_by("family", "sort_order", "code")


@dataclass(frozen=True)
class MeasureFilters:
    division_code: str = ""
    year: int | None = None
    status: str = ""
    family: str = ""
    type_code: str = ""
    household_no: str = ""


def _households_in_scope(actor: Any, division_code: str = "") -> QuerySet[Household] | None:
    scope = actor_scope(actor)
    if scope.is_empty:
        return None
    divisions = Division.objects.filter(scope.division_q())
    if division_code:
        chosen = Division.objects.filter(code=division_code).values_list("path", flat=True).first()
        if chosen is None:
            return None
        divisions = divisions.filter(subtree_q(chosen))
    return Household.objects.filter(division__in=divisions.values("pk"))


class Counted:
    """Rows paged from one query and counted by another (the fastest of each)."""

    def __init__(self, rows: Any, count: Callable[[], int]) -> None:
        self.rows = rows
        self._count = count

    def count(self) -> int:
        return self._count()

    def __len__(self) -> int:
        return self._count()

    def __getitem__(self, key: Any) -> Any:
        return self.rows[key]


# Share of all villages above which a scope counts as large (a county or more at Liaocheng's size).
LARGE_SCOPE_SHARE = 0.2


def _large_scope(actor: Any, division_code: str) -> bool:
    scope = actor_scope(actor)
    villages = Division.objects.filter(level=Level.VILLAGE)
    inside = villages.filter(scope.division_q())
    if division_code:
        chosen = Division.objects.filter(code=division_code).values_list("path", flat=True).first()
        inside = inside.filter(subtree_q(chosen)) if chosen else inside.none()
    counts = villages.aggregate(
        total=Count("pk"), inside=Count("pk", filter=Q(pk__in=inside.values("pk")))
    )
    return bool(counts["total"]) and counts["inside"] > counts["total"] * LARGE_SCOPE_SHARE


def measure_list(*, actor: Any, filters: MeasureFilters | None = None) -> QuerySet[Measure]:
    """Measures of the households the actor may see, newest year first."""
    return _measures(actor, filters or MeasureFilters(), for_paging=True)


def measure_count(*, actor: Any, filters: MeasureFilters | None = None) -> int:
    """How many measures ``measure_list`` holds, counted the way that counts fastest."""
    return _measures(actor, filters or MeasureFilters(), for_paging=False).count()


def _measures(actor: Any, filters: MeasureFilters, *, for_paging: bool) -> QuerySet[Measure]:
    households = _households_in_scope(actor, filters.division_code)
    if households is None:
        return Measure.objects.none()
    if filters.household_no:
        households = households.filter(household_no=filters.household_no)
        qs = Measure.objects.filter(household__in=households.values("pk"))
    elif for_paging and _large_scope(actor, filters.division_code):
        # For a county or the city, walking the (year, id) index newest first finds a page at
        # once, while the household index makes the database collect and sort every measure;
        # "+ 0" keeps the planner off the household index (as the registry's household list).
        qs = Measure.objects.alias(household_key=F("household_id") + 0).filter(
            household_key__in=households.values("pk")
        )
    else:
        qs = Measure.objects.filter(household__in=households.values("pk"))
    if filters.year:
        qs = qs.filter(year=filters.year)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.type_code:
        qs = qs.filter(type__code=filters.type_code)
    if filters.family:
        qs = qs.filter(type__family=filters.family)
    if not for_paging:
        return qs
    return qs.select_related("type", "household", "member").order_by("-year", "-id")


def household_measures(household: Household) -> list[Measure]:
    """The measures of a household the caller already had access to, with their stages (two
    queries whatever the number)."""
    measures = list(
        Measure.objects.filter(household=household)
        .select_related("type", "member", "project")
        .prefetch_related("stages")
        .order_by("-year", "-quarter", "-id")
    )
    for measure in measures:
        measure.household = household  # the caller's object: no query per measure
    return measures


def measure_photos(measure: Measure) -> list[Photo]:
    return list(measure.photos.order_by("uploaded_at", "id"))


def measure_stages(measure: Measure) -> dict[str, MeasureStage]:
    return {s.stage: s for s in measure.stages.all()}


def measure_date(measure: Measure) -> tuple[dt.date, bool]:
    """The day a measure sits on in a timeline, and whether that day is only planned."""
    if measure.verified_on and not measure.completed_on:
        return measure.verified_on, False
    if measure.completed_on:
        return measure.completed_on, False
    if measure.started_on:
        return measure.started_on, False
    month = 3 * (measure.quarter - 1) + 1 if measure.quarter else 1
    return dt.date(measure.year, month, 1), True


def household_benefits(*, actor: Any, household: Household) -> list[dict[str, Any]]:
    """Projects the household benefits from, with the benefits paid (one query, two when it has
    any)."""
    beneficiaries = list(
        ProjectBeneficiary.objects.filter(household=household)
        .select_related("project")
        .order_by("added_on", "id")
    )
    payments: dict[int, list[BenefitPayment]] = {}
    if beneficiaries:
        for payment in BenefitPayment.objects.filter(household=household).order_by("year", "id"):
            payments.setdefault(payment.project_id, []).append(payment)
    return [
        {
            "project": b.project,
            "beneficiary": b,
            "payments": payments.get(b.project_id, []),
            "paid": sum((p.amount for p in payments.get(b.project_id, [])), Decimal(0)),
        }
        for b in beneficiaries
    ]


# ---------------------------------------------------------------------------------------------
# Projects


@dataclass(frozen=True)
class ProjectFilters:
    division_code: str = ""
    year: int | None = None
    category: str = ""
    q: str = ""
    overdue: bool = False


def _visible_projects(actor: Any) -> QuerySet[Project]:
    scope = actor_scope(actor)
    if scope.is_empty:
        return Project.objects.none()
    in_villages = ProjectVillage.objects.filter(
        project=OuterRef("pk"), village__in=Division.objects.filter(scope.division_q()).values("pk")
    )
    owned = Division.objects.filter(scope.division_q()).values("pk")
    return Project.objects.filter(Q(division__in=owned) | Exists(in_villages))


def overdue_q(today: dt.date | None = None) -> Q:
    return Q(actual_on__isnull=True, planned_on__lt=today or timezone.localdate())


def project_list(*, actor: Any, filters: ProjectFilters | None = None) -> QuerySet[Project]:
    """Projects the actor sees (owning division or one of its villages in scope)."""
    filters = filters or ProjectFilters()
    qs = _visible_projects(actor)
    if filters.division_code:
        chosen = (
            Division.objects.filter(code=filters.division_code)
            .values_list("path", flat=True)
            .first()
        )
        if chosen is None:
            return Project.objects.none()
        inside = Division.objects.filter(subtree_q(chosen)).values("pk")
        qs = qs.filter(
            Q(division__in=inside)
            | Exists(ProjectVillage.objects.filter(project=OuterRef("pk"), village__in=inside))
        )
    if filters.year:
        qs = qs.filter(year=filters.year)
    if filters.category:
        qs = qs.filter(category=filters.category)
    q = filters.q.strip()
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(code__startswith=q))
    if filters.overdue:
        qs = qs.filter(Exists(Milestone.objects.filter(overdue_q(), project=OuterRef("pk"))))
    return qs.select_related("division").order_by("-year", "code")


@dataclass(frozen=True)
class ProjectRow:
    project: Project
    budget: Decimal
    disbursed: Decimal
    stage: str  # the latest milestone reached, or ""
    overdue: int  # milestones past their planned date without an actual one


def project_rows(projects: list[Project]) -> list[ProjectRow]:
    """Budget, disbursed, stage and overdue count for a page of projects (three queries)."""
    ids = [p.pk for p in projects]
    budget = dict(
        ProjectFunding.objects.filter(project__in=ids)
        .values("project")
        .annotate(t=Sum("amount"))
        .order_by()
        .values_list("project", "t")
    )
    paid = dict(
        Disbursement.objects.filter(project__in=ids)
        .values("project")
        .annotate(t=Sum("amount"))
        .order_by()
        .values_list("project", "t")
    )
    today = timezone.localdate()
    stage: dict[int, str] = {}
    overdue: dict[int, int] = {}
    for m in Milestone.objects.filter(project__in=ids).only(
        "project_id", "kind", "planned_on", "actual_on"
    ):
        if m.actual_on is not None:
            current = stage.get(m.project_id)
            if current is None or MILESTONE_ORDER.index(m.kind) > MILESTONE_ORDER.index(current):
                stage[m.project_id] = m.kind
        elif m.planned_on is not None and m.planned_on < today:
            overdue[m.project_id] = overdue.get(m.project_id, 0) + 1
    return [
        ProjectRow(
            project=p,
            budget=budget.get(p.pk) or Decimal(0),
            disbursed=paid.get(p.pk) or Decimal(0),
            stage=stage.get(p.pk, ""),
            overdue=overdue.get(p.pk, 0),
        )
        for p in projects
    ]


@dataclass(frozen=True)
class FundLine:
    source: str
    label: str
    budget: Decimal
    disbursed: Decimal

    @property
    def share(self) -> int:
        if not self.budget:
            return 0
        return min(100, round(self.disbursed * 100 / self.budget))


@dataclass(frozen=True)
class MilestoneLine:
    kind: str
    label: str
    planned_on: dt.date | None
    actual_on: dt.date | None
    note: str
    overdue: bool
    days_late: int


@dataclass(frozen=True)
class ProjectSummary:
    funds: list[FundLine]
    budget: Decimal
    disbursed: Decimal
    milestones: list[MilestoneLine]
    stage: str
    overdue: int

    @property
    def funds_share(self) -> int:
        if not self.budget:
            return 0
        return min(100, round(self.disbursed * 100 / self.budget))


def project_summary(project: Project) -> ProjectSummary:
    """Funds used against budget by source, and the milestones with their overdue state."""
    budget = {f.source: f.amount for f in ProjectFunding.objects.filter(project=project)}
    paid = dict(
        Disbursement.objects.filter(project=project)
        .values("source")
        .annotate(t=Sum("amount"))
        .order_by()
        .values_list("source", "t")
    )
    funds = [
        FundLine(
            source=s.value,
            label=str(s.label),
            budget=budget.get(s.value, Decimal(0)),
            disbursed=paid.get(s.value) or Decimal(0),
        )
        for s in FundSource
        if s.value in budget or s.value in paid
    ]
    today = timezone.localdate()
    reached = {m.kind: m for m in Milestone.objects.filter(project=project)}
    lines = []
    stage = ""
    for kind in MilestoneKind:
        m = reached.get(kind.value)
        planned = m.planned_on if m else None
        actual = m.actual_on if m else None
        late = actual is None and planned is not None and planned < today
        if actual is not None:
            stage = kind.value
        lines.append(
            MilestoneLine(
                kind=kind.value,
                label=str(kind.label),
                planned_on=planned,
                actual_on=actual,
                note=m.note if m else "",
                overdue=late,
                days_late=(today - planned).days if late and planned else 0,
            )
        )
    return ProjectSummary(
        funds=funds,
        budget=sum((f.budget for f in funds), Decimal(0)),
        disbursed=sum((f.disbursed for f in funds), Decimal(0)),
        milestones=lines,
        stage=stage,
        overdue=sum(1 for line in lines if line.overdue),
    )


def project_villages(project: Project) -> list[Division]:
    return list(
        Division.objects.filter(
            pk__in=ProjectVillage.objects.filter(project=project).values("village")
        ).order_by("code")
    )


def project_beneficiaries(*, actor: Any, project: Project) -> QuerySet[ProjectBeneficiary]:
    """The project's beneficiary households that the actor may see, with what they were paid."""
    scope = actor_scope(actor)
    visible = Division.objects.filter(scope.division_q()).values("pk")
    return (
        ProjectBeneficiary.objects.filter(project=project, household__division__in=visible)
        .select_related("household__division")
        .annotate(
            paid=Sum(
                "household__assistance_benefits__amount",
                filter=Q(household__assistance_benefits__project=project),
            )
        )
        .order_by("household__household_no")
    )


def project_beneficiary_count(*, actor: Any, project: Project) -> tuple[int, int]:
    """(beneficiaries the actor sees, all beneficiaries): a partial view says so."""
    scope = actor_scope(actor)
    visible = Division.objects.filter(scope.division_q()).values("pk")
    everyone = ProjectBeneficiary.objects.filter(project=project)
    return everyone.filter(household__division__in=visible).count(), everyone.count()


def project_disbursements(project: Project) -> list[Disbursement]:
    return list(Disbursement.objects.filter(project=project).order_by("-paid_on", "-id"))


def project_photos(project: Project) -> list[Photo]:
    return list(project.photos.order_by("uploaded_at", "id"))


def overdue_milestones(*, actor: Any, division_code: str = "") -> QuerySet[Milestone]:
    """Milestones past their planned date with no actual date, in the projects the actor sees,
    the longest overdue first (超期提醒)."""
    projects = project_list(actor=actor, filters=ProjectFilters(division_code=division_code))
    return (
        Milestone.objects.filter(overdue_q(), project__in=projects.values("pk"))
        .select_related("project__division")
        .order_by("planned_on", "project__code")
    )


def unpaid_beneficiaries(*, actor: Any, project: Project, year: int) -> list[str]:
    """Household numbers of the beneficiaries the actor sees that have no payment for ``year``."""
    paid = BenefitPayment.objects.filter(project=project, year=year).values("household")
    return list(
        project_beneficiaries(actor=actor, project=project)
        .exclude(household__in=paid)
        .values_list("household__household_no", flat=True)
    )


def _history(actor: Any, entity: str, key: str, limit: int) -> list[dict[str, Any]]:
    events = AuditEvent.objects.filter(entity=entity, entity_key=key).order_by(
        "-occurred_at", "-id"
    )[:limit]
    return [audit_event_view(e, actor=actor) for e in events]


def measure_history(*, actor: Any, measure: Measure, limit: int = 100) -> list[dict[str, Any]]:
    """The audit trail of a measure the actor may see, newest first, masked as on the household
    page."""
    return _history(actor, "measure", str(measure.public_id), limit)


def project_history(*, actor: Any, project: Project, limit: int = 100) -> list[dict[str, Any]]:
    """The project's own audit trail; events about one household (a beneficiary added, a benefit
    paid) only when the actor sees that household."""
    scope = actor_scope(actor)
    events = AuditEvent.objects.filter(entity="project", entity_key=project.code).order_by(
        "-occurred_at", "-id"
    )[: limit * 2]
    kept = [e for e in events if not e.household_no or scope.can_see(e.division_path)]
    return [audit_event_view(e, actor=actor) for e in kept[:limit]]
