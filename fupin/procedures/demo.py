"""Demo cases (示范数据): a few hundred open cases of every procedure spread over their steps,
some paused by an objection, for the demo city. Written in bulk like the registry's demo; the
cases are demo data, not decisions, so no registry effect is applied and no case is closed."""

import datetime as dt
import random
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from fupin.procedures.definitions import LEVEL_ROLE, PROCEDURES
from fupin.procedures.models import Case, Objection, Transition
from fupin.registry.models import Household


@dataclass(frozen=True)
class DemoResult:
    cases: int
    by_procedure: dict[str, int]
    paused: int


@transaction.atomic
def generate_demo_procedures(*, cases: int, seed: int, replace: bool = False) -> DemoResult:
    rng = random.Random(seed)  # noqa: S311 (reproducible demo data, not secrets)
    if replace:
        Case.objects.all().delete()
    busy = set(Case.objects.filter(closed_at__isnull=True).values_list("household_id", "procedure"))
    rows = list(Household.objects.values_list("pk", "division_id", "status"))
    rng.shuffle(rows)
    now = timezone.now()
    year = timezone.localdate().year - 1
    made: list[Case] = []
    history: list[tuple[int, list[tuple[str, str, str]]]] = []
    objections: list[int] = []
    for pk, division_id, status in rows:
        if len(made) >= cases:
            break
        poor = status in {"not_out", "returned"}
        procedure = rng.choice(
            ["exit", "identification"] if poor else ["monitoring", "monitoring", "identification"]
        )
        if (pk, procedure) in busy:
            continue
        definition = PROCEDURES[procedure]
        index = rng.randrange(len(definition.steps))
        step = definition.steps[index]
        started = now - dt.timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 23))
        paused = bool(step.publicity) and rng.random() < 0.15
        made.append(
            Case(
                public_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                procedure=procedure,
                household_id=pk,
                division_id=division_id,
                year=year,
                channel=rng.choice(["self_report", "cadre_check", "department_alert"])
                if procedure == "monitoring"
                else "",
                state=step.code,
                step_started_at=started,
                deadline=timezone.localtime(started).date() + dt.timedelta(days=step.deadline_days),
                paused=paused,
            )
        )
        path = [("open", "", definition.steps[0].code)] + [
            ("advance", s.code, definition.steps[i + 1].code)
            for i, s in enumerate(definition.steps[:index])
        ]
        history.append((len(made) - 1, path))
        if paused:
            objections.append(len(made) - 1)
    Case.objects.bulk_create(made, batch_size=1000)
    transitions = []
    for position, path in history:
        case = made[position]
        definition = PROCEDURES[case.procedure]
        for action, source, target in path:
            level = (definition.step(source) or definition.steps[0]).level
            transitions.append(
                Transition(
                    case=case,
                    action=action,
                    from_state=source,
                    to_state=target,
                    actor_username="demo",
                    role=str(LEVEL_ROLE[level]),
                    comment="示范数据",
                )
            )
    Transition.objects.bulk_create(transitions, batch_size=2000)
    # Their times as the services would have written them: the last one (into the current
    # step) when the step started, each earlier one a few days before (``at`` is set on create,
    # so it is written afterwards).
    position_of = {id(case): i for i, case in enumerate(made)}
    for case_transitions in _by_case(transitions):
        when = made[position_of[id(case_transitions[0].case)]].step_started_at
        for transition in reversed(case_transitions):
            transition.at = when
            when -= dt.timedelta(days=rng.randint(1, 4), hours=rng.randint(0, 23))
    Transition.objects.bulk_update(transitions, ["at"], batch_size=500)
    Objection.objects.bulk_create(
        [
            Objection(case=made[i], state=made[i].state, text="群众反映收入情况有出入（示范）")
            for i in objections
        ],
        batch_size=1000,
    )
    counts: dict[str, int] = {}
    for case in made:
        counts[case.procedure] = counts.get(case.procedure, 0) + 1
    return DemoResult(cases=len(made), by_procedure=counts, paused=len(objections))


def _by_case(transitions: list[Transition]) -> list[list[Transition]]:
    """The transitions grouped by case, in the order they were made."""
    groups: dict[int, list[Transition]] = {}
    for transition in transitions:
        groups.setdefault(id(transition.case), []).append(transition)
    return list(groups.values())
