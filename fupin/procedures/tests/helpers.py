import datetime as dt
from typing import Any

from fupin.core.audit import ChangeSource
from fupin.procedures.definitions import PROCEDURES
from fupin.procedures.models import Case
from fupin.procedures.services import case_open, case_transition

SOURCE = ChangeSource.command("test")
# Who completes a step of each level in the personas' tree (village A1).
LEVEL_PERSONA = {
    "village": "village_cadre_a1",
    "township": "township_admin_a",
    "county": "county_admin",
}


def age_step(case: Case, days: int = 8) -> Case:
    """Pretend the current step began ``days`` ago (publicity periods elapse)."""
    Case.objects.filter(pk=case.pk).update(
        step_started_at=case.step_started_at - dt.timedelta(days=days)
    )
    case.refresh_from_db()
    return case


def open_case(personas: dict[str, Any], household: Any, procedure: str, **kw: Any) -> Case:
    if procedure == "monitoring":
        kw.setdefault("channel", "cadre_check")
    return case_open(
        actor=personas["village_cadre_a1"],
        source=SOURCE,
        household=household,
        procedure=procedure,
        year=kw.pop("year", 2016),
        **kw,
    )


def advance(personas: dict[str, Any], case: Case, *, until: str | None = None) -> Case:
    """Advance the case step by step (each by its level's persona) until it is at ``until`` or
    closed."""
    definition = PROCEDURES[case.procedure]
    while case.closed_at is None and case.state != until:
        step = definition.step(case.state)
        assert step is not None
        if step.publicity:
            case = age_step(case)
        case = case_transition(
            actor=personas[LEVEL_PERSONA[step.level]],
            source=SOURCE,
            case=case,
            action="advance",
            comment=f"{step.code} done",
        )
    return case
