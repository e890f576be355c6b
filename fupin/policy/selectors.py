"""Reads of the policy app. Policy values are public to every signed-in role; evaluation runs
and scenarios are read by the roles that see their whole division."""

import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from fupin.accounts.scope import actor_scope
from fupin.core.errors import NotFound, public_key
from fupin.policy.models import EvaluationRun, PolicyValue, Scenario, ScenarioFlip
from fupin.policy.parameters import PARAMETERS, ParameterSpec


@dataclass(frozen=True)
class ParameterGroup:
    spec: ParameterSpec
    values: list[PolicyValue]


def policy_value_groups() -> list[ParameterGroup]:
    """The current version of every value, grouped by parameter in the order of PARAMETERS."""
    values = list(PolicyValue.objects.filter(is_current=True).select_related("revision"))
    by_name: dict[str, list[PolicyValue]] = {}
    for v in values:
        by_name.setdefault(v.name, []).append(v)
    return [
        ParameterGroup(
            spec,
            sorted(by_name.get(name, []), key=lambda v: (v.qualifier, v.valid_from), reverse=False),
        )
        for name, spec in PARAMETERS.items()
    ]


def policy_value_current(lineage: str | uuid.UUID) -> PolicyValue:
    """The current version of a value by its lineage; NotFound when there is none."""
    key = public_key(lineage)
    value = PolicyValue.objects.filter(lineage=key, is_current=True).first()
    if value is None:
        raise NotFound
    return value


def policy_value_versions(lineage: uuid.UUID) -> QuerySet[PolicyValue]:
    """Every version of a value, newest first, with who made each."""
    return (
        PolicyValue.objects.filter(lineage=lineage).select_related("revision").order_by("-version")
    )


def _visible(actor: Any) -> Q:
    """Runs and scenarios over a division inside the actor's scope."""
    scope = actor_scope(actor)
    if scope.is_empty:
        return Q(pk__in=[])
    condition = scope.division_q("division__path")
    # A run over the whole registry (from the command line) is read at city level and above.
    if any(path.count("/") <= 2 for path in scope.paths()):
        condition |= Q(division__isnull=True)
    return condition


def evaluation_run_list(*, actor: Any, limit: int = 20) -> list[EvaluationRun]:
    """The latest evaluation runs over divisions the actor sees."""
    return list(EvaluationRun.objects.filter(_visible(actor)).select_related("division")[:limit])


def evaluation_run_get(*, actor: Any, run_id: int) -> EvaluationRun:
    run = EvaluationRun.objects.filter(_visible(actor), pk=run_id).select_related("division")
    found = run.first()
    if found is None:
        raise NotFound
    return found


def scenario_list(*, actor: Any, limit: int = 20) -> list[Scenario]:
    return list(Scenario.objects.filter(_visible(actor)).select_related("division")[:limit])


def scenario_get(*, actor: Any, scenario_id: int) -> Scenario:
    found = Scenario.objects.filter(_visible(actor), pk=scenario_id).select_related("division")
    scenario = found.first()
    if scenario is None:
        raise NotFound
    return scenario


def scenario_flips(scenario: Scenario) -> QuerySet[ScenarioFlip]:
    return ScenarioFlip.objects.filter(scenario=scenario).select_related(
        "household", "household__division"
    )
