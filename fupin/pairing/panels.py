"""The pairing part of the household page (through ``fupin.registry.panels``): responsible
officials in a panel, and pairings and visits on the timeline beside the yearly records.

A fixed number of queries per page, whatever the number of visits: the household's pairings
and its visits (with their photos), read once and shared by the panel and the timeline; one
query for a household never paired.
"""

from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fupin.pairing.access import may_record_visit
from fupin.pairing.models import Pairing, Visit
from fupin.pairing.policy import today
from fupin.pairing.selectors import household_overdue_ids, household_pairings, household_visits
from fupin.registry.models import Household
from fupin.registry.panels import (
    Panel,
    TimelineEntry,
    register_labels,
    register_panel,
    register_timeline_source,
)

TIMELINE_VISITS = 200

ACTION_LABELS = {
    "pairing.assign": gettext_lazy("Responsible official assigned"),
    "pairing.end": gettext_lazy("Pairing ended"),
    "pairing.propose": gettext_lazy("Automatic pairing proposal"),
    "visit.log": gettext_lazy("Visit recorded"),
    "visit.photos": gettext_lazy("Visit photos added"),
}
FIELD_LABELS = {
    "official": gettext_lazy("Official"),
    "official_name": gettext_lazy("Official's name"),
    "pairing": gettext_lazy("Pairing"),
    "started_on": gettext_lazy("Since"),
    "ended_on": gettext_lazy("Until"),
    "end_reason": gettext_lazy("Reason for ending"),
    "origin": gettext_lazy("Origin"),
    "visited_on": gettext_lazy("Visit date"),
    "gps": gettext_lazy("Location (GPS)"),
    "content": gettext_lazy("What was done"),
    "next_steps": gettext_lazy("Next steps"),
    "photos": gettext_lazy("Photos"),
}


def _pairings_of(household: Household) -> list[Pairing]:
    cached: list[Pairing] | None = getattr(household, "_pairing_pairings", None)
    if cached is None:
        cached = list(household_pairings(household))
        household._pairing_pairings = cached  # type: ignore[attr-defined]
    return cached


def _visits_of(household: Household) -> list[Visit]:
    cached: list[Visit] | None = getattr(household, "_pairing_visits", None)
    if cached is None:
        # Every visit belongs to a pairing: a household never paired has none to read.
        paired = bool(_pairings_of(household))
        cached = household_visits(household, limit=TIMELINE_VISITS) if paired else []
        household._pairing_visits = cached  # type: ignore[attr-defined]
    return cached


def timeline_source(actor: Any, household: Household) -> Iterable[TimelineEntry]:
    for pairing in _pairings_of(household):
        who = pairing.official.full_name
        if pairing.kind == Pairing.Kind.ORPHAN and pairing.member is not None:
            title = _("%(name)s paired with the orphan %(child)s") % {
                "name": who,
                "child": pairing.member.name,
            }
        else:
            title = _("%(name)s responsible for the household") % {"name": who}
        yield TimelineEntry(
            on=pairing.started_on, kind="pairing", title=title, detail=pairing.official.unit
        )
        if pairing.ended_on:
            yield TimelineEntry(
                on=pairing.ended_on,
                kind="pairing",
                title=_("Pairing with %(name)s ended") % {"name": who},
                detail=pairing.end_reason,
            )
    for visit in _visits_of(household):
        yield TimelineEntry(
            on=visit.visited_on,
            kind="visit",
            title=_("Visit by %(name)s") % {"name": visit.official.full_name},
            detail=visit.content,
            url=reverse("pairing:visit", args=[visit.public_id]),
        )


def officials_panel(actor: Any, household: Household) -> Panel:
    pairings = _pairings_of(household)
    return Panel(
        key="pairing-officials",
        title=str(_("Responsible officials and visits")),
        template="pairing/_household_panel.html",
        context={
            "household": household,
            "active": [p for p in pairings if p.ended_on is None],
            "overdue": household_overdue_ids(household, today()) if pairings else set(),
            "visits": _visits_of(household)[:5],
            "visit_count": len(_visits_of(household)),
            "can_visit": bool(pairings) and may_record_visit(actor, household),
        },
        order=20,
    )


def register() -> None:
    register_timeline_source("pairing", timeline_source)
    register_panel("pairing-officials", officials_panel)
    register_labels(actions=ACTION_LABELS, fields=FIELD_LABELS)
