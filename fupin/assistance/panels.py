"""What assistance adds to the household page, through the registry's panel hooks: the
measures and the projects' benefits on the timeline, and a panel listing the measures."""

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fupin.accounts.scope import actor_scope
from fupin.assistance.models import Measure, Stage
from fupin.assistance.selectors import household_benefits, household_measures, measure_date
from fupin.registry.models import Household
from fupin.registry.panels import (
    Panel,
    TimelineEntry,
    register_labels,
    register_panel,
    register_timeline_source,
)

ACTION_LABELS = {
    "measure.create": gettext_lazy("measure added"),
    "measure.update": gettext_lazy("measure changed"),
    "measure.status": gettext_lazy("measure status changed"),
    "measure.verify": gettext_lazy("measure verified"),
    "measure.stage": gettext_lazy("construction stage recorded"),
    "measure.photo": gettext_lazy("measure photo added"),
    "measure_type.create": gettext_lazy("measure type added"),
    "measure_type.update": gettext_lazy("measure type changed"),
    "project.create": gettext_lazy("project created"),
    "project.update": gettext_lazy("project changed"),
    "project.funding": gettext_lazy("project budget set"),
    "project.disbursement": gettext_lazy("funds disbursed"),
    "project.milestone": gettext_lazy("project milestone set"),
    "project.photo": gettext_lazy("project photo added"),
    "project.beneficiary_add": gettext_lazy("beneficiary of a project"),
    "project.benefit": gettext_lazy("project benefit paid"),
}
FIELD_LABELS = {
    "type": gettext_lazy("measure type"),
    "member_name": gettext_lazy("member"),
    "content": gettext_lazy("content"),
    "year": gettext_lazy("year"),
    "quarter": gettext_lazy("quarter"),
    "planned_amount": gettext_lazy("planned amount (yuan)"),
    "actual_amount": gettext_lazy("actual amount (yuan)"),
    "fund_source": gettext_lazy("fund source"),
    "responsible_unit": gettext_lazy("responsible unit"),
    "responsible_person": gettext_lazy("responsible person"),
    "started_on": gettext_lazy("started on"),
    "completed_on": gettext_lazy("completed on"),
    "verified_on": gettext_lazy("verified on"),
    "expected_income": gettext_lazy("expected income effect (yuan/year)"),
    "recorded_income": gettext_lazy("recorded income effect (yuan/year)"),
    "extra": gettext_lazy("details"),
    "notes": gettext_lazy("notes"),
    "stage": gettext_lazy("stage"),
    "on": gettext_lazy("date"),
    "note": gettext_lazy("note"),
    "photo": gettext_lazy("photo"),
    "phase": gettext_lazy("phase"),
    "taken_at": gettext_lazy("taken at"),
    "caption": gettext_lazy("caption"),
    "project": gettext_lazy("project"),
    "name": gettext_lazy("name"),
    "amount": gettext_lazy("amount (yuan)"),
    "paid_on": gettext_lazy("paid on"),
    "expected_benefit": gettext_lazy("expected benefit (yuan/year)"),
}


def measure_entries(measure: Measure) -> list[TimelineEntry]:
    """A measure on the timeline, plus one entry per construction stage it reached."""
    url = reverse("assistance:measure-detail", args=[measure.public_id])
    on, planned = measure_date(measure)
    who = f"{measure.member.name} · " if measure.member_id and measure.member else ""
    amount = measure.actual_amount if measure.actual_amount is not None else measure.planned_amount
    entries = [
        TimelineEntry(
            on=on,
            kind="measure",
            title=measure.type.name,
            detail=who + measure.content,
            url=url,
            status=str(Measure.Status(measure.status).label),
            status_code=measure.status,
            amount=amount,
            planned=planned,
        )
    ]
    entries.extend(
        TimelineEntry(
            on=stage.on,
            kind="stage",
            title=f"{measure.type.name} · {Stage(stage.stage).label}",
            detail=stage.note,
            url=url,
        )
        for stage in measure.stages.all()  # prefetched
    )
    return entries


def timeline_source(actor: Any, household: Household) -> Iterable[TimelineEntry]:
    measures = _measures_of(household)
    for measure in measures:
        yield from measure_entries(measure)
    sees_projects = actor_scope(actor).can_see(household.division.path)
    for item in household_benefits(actor=actor, household=household):
        project = item["project"]
        url = reverse("assistance:project-detail", args=[project.code]) if sees_projects else ""
        yield TimelineEntry(
            on=item["beneficiary"].added_on,
            kind="project",
            title=_("Beneficiary of project %(name)s") % {"name": project.name},
            detail=project.code,
            url=url,
            amount=item["beneficiary"].expected_benefit,
        )
        for payment in item["payments"]:
            yield TimelineEntry(
                on=payment.paid_on,
                kind="benefit",
                title=_("Benefit of %(year)s from %(name)s")
                % {"year": payment.year, "name": project.name},
                detail=project.code,
                url=url,
                amount=payment.amount,
            )


def _measures_of(household: Household) -> list[Measure]:
    """The household's measures, read once per request for both the timeline and the panel."""
    cached: list[Measure] | None = getattr(household, "_assistance_measures", None)
    if cached is None:
        cached = household_measures(household)
        household._assistance_measures = cached  # type: ignore[attr-defined]
    return cached


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def measure_rows(measures: list[Measure]) -> SafeString:
    """The measures table's rows, rendered in Python: fifty rows of template tags and filters
    would cost more than the rest of the household page."""
    statuses = {s.value: str(s.label) for s in Measure.Status}
    rows = []
    for m in measures:
        income = (
            format_html("{}", _money(m.recorded_income))
            if m.recorded_income is not None
            else format_html('<span class="muted">{}</span>', _money(m.expected_income))
        )
        rows.append(
            format_html(
                '<tr><td class="nowrap">{}{}</td><td><a href="{}">{}</a>'
                '<div class="muted">{}</div></td><td>{}</td><td class="num">{}</td>'
                '<td class="num">{}</td><td class="num">{}</td>'
                '<td><span class="badge measure-{}">{}</span></td></tr>',
                m.year,
                f" Q{m.quarter}" if m.quarter else "",
                reverse("assistance:measure-detail", args=[m.public_id]),
                m.type.name,
                Truncator(m.content).chars(60),
                m.member.name if m.member_id and m.member else "—",
                _money(m.planned_amount),
                _money(m.actual_amount),
                income,
                m.status,
                statuses.get(m.status, m.status),
            )
        )
    return mark_safe("".join(rows))  # noqa: S308 (each row is built by format_html)


def measures_panel(actor: Any, household: Household) -> Panel:
    scope = actor_scope(actor)
    measures = _measures_of(household)
    return Panel(
        key="assistance-measures",
        title=str(_("Assistance measures")),
        template="assistance/_household_measures.html",
        context={
            "count": len(measures),
            "rows": measure_rows(measures),
            "can_add": scope.can_edit(household.division.path),
            "household": household,
        },
        order=10,
    )


def register() -> None:
    register_timeline_source("assistance", timeline_source)
    register_panel("assistance-measures", measures_panel)
    register_labels(actions=ACTION_LABELS, fields=FIELD_LABELS)
