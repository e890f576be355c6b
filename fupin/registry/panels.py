"""Household panels: how apps above the registry show their part of a household page.

The registry must not import the apps above it (assistance, pairing, …), yet the household page
shows their measures, visits and responsible officials. Those apps register, in their
``AppConfig.ready()``:

* a **timeline source**: ``source(actor, household) -> Iterable[TimelineEntry]``. The page merges
  every source's entries with the yearly records into one timeline grouped by year, so the
  before/after reads with what happened in between;
* a **panel**: ``panel(actor, household) -> Panel | None``, a section rendered with the app's
  own template (``None`` hides it);
* **labels** for their audit actions and fields, so the household's history reads in words.

Sources are called with a household the actor may already see; they still filter their own
records by the actor's scope where those records reach beyond the household. Each source should
cost a small, fixed number of queries.
"""

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fupin.registry.models import Household, YearlyRecord


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to a household (a measure, a visit, a pairing, a payment)."""

    on: dt.date
    kind: str  # e.g. "measure", "visit", "pairing": a CSS hook and a filter key
    title: str
    detail: str = ""
    url: str = ""
    status: str = ""  # a short label, e.g. "done"
    status_code: str = ""  # the stable code behind it, a CSS hook
    amount: Decimal | None = None
    planned: bool = False  # a date that is planned, not one that happened


@dataclass(frozen=True)
class Panel:
    """A section of the household page rendered with ``template`` and ``context``."""

    key: str
    title: str
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    order: int = 100


@dataclass(frozen=True)
class TimelineYear:
    year: int
    record: YearlyRecord | None
    entries: list[TimelineEntry]


TimelineSource = Callable[[Any, Household], Iterable[TimelineEntry]]
PanelSource = Callable[[Any, Household], Panel | None]

_timeline_sources: dict[str, TimelineSource] = {}
_panel_sources: dict[str, PanelSource] = {}


def register_timeline_source(key: str, source: TimelineSource) -> None:
    """Add (or replace, under the same key) a source of timeline entries."""
    _timeline_sources[key] = source


def register_panel(key: str, source: PanelSource) -> None:
    """Add (or replace, under the same key) a panel of the household page."""
    _panel_sources[key] = source


def register_labels(
    *, actions: Mapping[str, Any] | None = None, fields: Mapping[str, Any] | None = None
) -> None:
    """Words for audit actions (``"measure.create"``) and changed fields in the history."""
    from fupin.registry.templatetags.registry_ui import ACTION_LABELS, FIELD_LABELS, FIELD_ORDER

    for key, label in (actions or {}).items():
        ACTION_LABELS.setdefault(key, label)
    for key, label in (fields or {}).items():
        if key not in FIELD_LABELS:
            FIELD_LABELS[key] = label
            FIELD_ORDER[key] = len(FIELD_ORDER)


def household_timeline(
    actor: Any, household: Household, records: Iterable[YearlyRecord]
) -> list[TimelineYear]:
    """Every source's entries and the yearly records, grouped by year, newest year first; within
    a year, the latest entry first."""
    by_year: dict[int, list[TimelineEntry]] = {}
    for source in _timeline_sources.values():
        for entry in source(actor, household):
            by_year.setdefault(entry.on.year, []).append(entry)
    record_of = {r.survey_year: r for r in records}
    years = sorted(set(by_year) | set(record_of), reverse=True)
    return [
        TimelineYear(
            year=year,
            record=record_of.get(year),
            entries=sorted(by_year.get(year, []), key=lambda e: (e.on, e.title), reverse=True),
        )
        for year in years
    ]


def household_panels(actor: Any, household: Household) -> list[Panel]:
    panels = [p for source in _panel_sources.values() if (p := source(actor, household))]
    return sorted(panels, key=lambda p: (p.order, p.key))


def has_timeline_sources() -> bool:
    return bool(_timeline_sources)
