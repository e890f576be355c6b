"""What-if simulation (政策模拟): the same evaluation with some parameters changed, compared
with the policy in force, household by household.

The registry is read once and evaluated twice (again only when a change touches the member
facts, e.g. the compulsory-school age). A scenario keeps the parameter values of both sides, so
running it again answers the same while the data version is unchanged.
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from fupin.core.audit import ChangeSource, audit_record
from fupin.core.bulk import insert_frame
from fupin.policy.criteria import CRITERIA, MEMBER_COUNTS, TESTS
from fupin.policy.evaluation import BulkResult, EvaluationError, evaluate_frame
from fupin.policy.expressions import ParameterValues
from fupin.policy.inputs import read_bulk
from fupin.policy.models import Scenario, ScenarioFlip
from fupin.policy.parameters import (
    PARAMETERS,
    ResolvedParameters,
    current_policy_version,
    parameters_for_year,
)
from fupin.policy.services import _require_policy_editor, _scope_division, summarise

# Outcomes that keep a household in the programme (poor, to identify, under monitoring) and
# those that take it out; a flip crosses from one group to the other.
INSIDE = ("still_poor", "returned", "identified", "monitoring")
OUTSIDE = ("exit_qualified", "risk_eliminated", "stable", "not_poor")
MEMBER_PARAMETERS = set().union(*(e.parameters() for e in MEMBER_COUNTS.values())) - {"year"}


def parameters_from_snapshot(snapshot: Mapping[str, Any]) -> ParameterValues:
    """Parameter values as a stored snapshot (``ResolvedParameters.snapshot``) recorded them."""
    values: dict[str, Any] = {}
    for key, entry in snapshot.items():
        name, _dot, qualifier = key.partition(".")
        spec = PARAMETERS[name]
        value = spec.python_value(Decimal(entry["value"]))
        if spec.qualifier:
            values.setdefault(name, {})[qualifier] = value
        else:
            values[name] = value
    return ParameterValues(values)


@dataclass
class Comparison:
    now: BulkResult
    scenario: BulkResult
    flips: pl.DataFrame  # household_id, before, after, criteria
    data_version: str


def compare(
    year: int,
    path: str | None,
    base: ParameterValues,
    changed: ParameterValues,
    *,
    reread: bool,
) -> Comparison:
    """Evaluate the subtree with both parameter sets and find the households that flip."""
    inputs, version = read_bulk(year, path, base, with_version=True)
    try:
        now = evaluate_frame(inputs, base, path)
        if reread:
            inputs, _version = read_bulk(year, path, changed)
        scenario = evaluate_frame(inputs, changed, path)
    except EvaluationError as exc:
        raise ValidationError(str(exc), code="evaluation") from None
    columns = ["household_id", "outcome", "applied_test", *(f"pass__{c}" for c in CRITERIA)]
    joined = now.households.select(columns).join(
        scenario.households.select(columns), on="household_id", suffix="_after"
    )

    def differs(code: str) -> pl.Expr:
        return pl.col(f"pass__{code}") != pl.col(f"pass__{code}_after")

    def decides(code: str) -> pl.Expr:
        # The criterion belongs to a test that decides the household before or after.
        tests = [t.code for t in TESTS.values() if CRITERIA[code] in t.criteria]
        if "monitoring" in tests:
            tests.append("elimination")
        return pl.col("applied_test").is_in(tests) | pl.col("applied_test_after").is_in(tests)

    relevant = pl.concat_str(
        [pl.when(differs(c) & decides(c)).then(pl.lit(c)) for c in CRITERIA],
        separator=",",
        ignore_nulls=True,
    )
    every = pl.concat_str(
        [pl.when(differs(c)).then(pl.lit(c)) for c in CRITERIA], separator=",", ignore_nulls=True
    )
    flips = joined.filter(pl.col("outcome") != pl.col("outcome_after")).select(
        "household_id",
        pl.col("outcome").alias("before"),
        pl.col("outcome_after").alias("after"),
        pl.when(relevant == "").then(every).otherwise(relevant).alias("criteria"),
    )
    return Comparison(now, scenario, flips, version)


def _flip_summary(flips: pl.DataFrame) -> dict[str, Any]:
    into = flips.filter(pl.col("before").is_in(OUTSIDE) & pl.col("after").is_in(INSIDE))
    out = flips.filter(pl.col("before").is_in(INSIDE) & pl.col("after").is_in(OUTSIDE))
    by_criterion: dict[str, int] = {}
    for criteria, count in flips.group_by("criteria").len().iter_rows():
        for code in (criteria or "").split(","):
            if code:
                by_criterion[code] = by_criterion.get(code, 0) + count
    return {
        "total": flips.height,
        "out_to_in": into.height,
        "in_to_out": out.height,
        "by_change": {
            f"{b}→{a}": n
            for b, a, n in flips.group_by("before", "after")
            .len()
            .sort("len", descending=True)
            .iter_rows()
        },
        "by_criterion": dict(sorted(by_criterion.items())),
    }


def _overrides_json(overrides: Mapping[str, Mapping[str, Decimal]]) -> dict[str, dict[str, str]]:
    return {n: {q: str(v) for q, v in by_q.items()} for n, by_q in overrides.items()}


def scenario_run(
    *,
    actor: Any,
    source: ChangeSource,
    year: int,
    overrides: Mapping[str, Mapping[str, Decimal]],
    division_code: str | None = None,
    name: str = "",
) -> Scenario:
    """Simulate ``overrides`` (parameter → qualifier ("" for all) → value) over the subtree and
    save the scenario with its flips. City administrators, or the command line. An unknown
    parameter or a value out of range raises ValidationError and saves nothing."""
    _require_policy_editor(actor)
    if not overrides:
        raise ValidationError(_("Change at least one parameter."), code="no_change")
    division = _scope_division(actor, division_code)
    started = time.perf_counter()
    base = parameters_for_year(year)
    changed = parameters_for_year(year, overrides)
    path = division.path if division else None
    comparison = compare(
        year, path, base.values, changed.values, reread=bool(set(overrides) & MEMBER_PARAMETERS)
    )
    return _save(
        actor=actor,
        source=source,
        year=year,
        division=division,
        name=name,
        overrides=_overrides_json(changed.overrides),
        base=base,
        changed=changed,
        version=comparison.data_version,
        comparison=comparison,
        started=started,
    )


def _save(
    *,
    actor: Any,
    source: ChangeSource,
    year: int,
    division: Any,
    name: str,
    overrides: dict[str, dict[str, str]],
    base: ResolvedParameters,
    changed: ResolvedParameters,
    version: str,
    comparison: Comparison,
    started: float,
) -> Scenario:
    result = {
        "now": summarise(comparison.now),
        "scenario": summarise(comparison.scenario),
        "flips": _flip_summary(comparison.flips),
        "base_parameters": base.snapshot(),
    }
    with transaction.atomic():
        scenario = Scenario.objects.create(
            name=name[:100],
            year=year,
            division=division,
            overrides=overrides,
            actor=actor if getattr(actor, "pk", None) else None,
            actor_username=getattr(actor, "username", "") or "",
            policy_version=current_policy_version(),
            data_version=version,
            parameters=changed.snapshot(),
            result=result,
        )
        scenario.values_used.set({*base.used_values(), *changed.used_values()})
        insert_frame(
            ScenarioFlip,
            comparison.flips.select(
                pl.lit(scenario.pk).alias("scenario_id"),
                "household_id",
                "before",
                "after",
                "criteria",
            ),
        )
        scenario.seconds = time.perf_counter() - started
        scenario.save(update_fields=["seconds"])
        audit_record(
            actor=actor,
            action="policy.simulate",
            entity="scenario",
            entity_key=str(scenario.pk),
            source=source,
            division_path=division.path if division else "",
            after={"year": year, "overrides": overrides, "flips": result["flips"]["total"]},
        )
    return scenario


@dataclass(frozen=True)
class Rerun:
    same_answer: bool
    same_data: bool
    result: dict[str, Any]


def scenario_rerun(scenario: Scenario) -> Rerun:
    """Run a saved scenario again with the parameter values it recorded (both sides) over the
    current data; nothing is saved. The answer is the same while the data version is."""
    path = scenario.division.path if scenario.division else None
    base = parameters_from_snapshot(scenario.result["base_parameters"])
    changed = parameters_from_snapshot(scenario.parameters)
    reread = bool(set(scenario.overrides) & MEMBER_PARAMETERS)
    comparison = compare(scenario.year, path, base, changed, reread=reread)
    result = {
        "now": summarise(comparison.now),
        "scenario": summarise(comparison.scenario),
        "flips": _flip_summary(comparison.flips),
        "base_parameters": scenario.result["base_parameters"],
    }
    stored = sorted(
        ScenarioFlip.objects.filter(scenario=scenario).values_list(
            "household_id", "before", "after", "criteria"
        )
    )
    same = result == scenario.result and stored == sorted(comparison.flips.rows())
    same_data = comparison.data_version == scenario.data_version
    return Rerun(same_answer=same, same_data=same_data, result=result)
