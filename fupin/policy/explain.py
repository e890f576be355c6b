"""The explanation of one household's evaluation: each criterion with the household's value,
the threshold, pass or fail and where the threshold comes from (政策依据).

Computed live from the same criteria as the bulk evaluation (``evaluation.evaluate_household``)
and shown by ``fupin explain``, the household page and the API.
"""

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from fupin.policy.criteria import CATEGORIES, OUTCOMES, RISKS, TESTS, Criterion, Test
from fupin.policy.evaluation import HouseholdResult, evaluate_household
from fupin.policy.expressions import Param
from fupin.policy.inputs import read_household
from fupin.policy.models import EvaluationRun, HouseholdEvaluation
from fupin.policy.parameters import (
    PARAMETERS,
    ResolvedParameters,
    current_policy_version,
    parameters_for_year,
)
from fupin.registry.models import Household

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Source:
    parameter: str
    label: str
    qualifier: str
    value: Any
    unit: str
    version: int | None
    valid_from: str | None
    valid_to: str | None
    note: str
    override: bool = False


@dataclass(frozen=True)
class CriterionExplanation:
    code: str
    name: str
    description: str
    value: Any
    op: str
    threshold: Any
    unit: str
    passed: bool
    decisive: bool
    sources: list[Source]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TestExplanation:
    code: str
    name: str
    applies: bool
    passed: bool
    criteria: list[CriterionExplanation]


@dataclass(frozen=True)
class StoredResult:
    run_id: int
    outcome: str
    category: str
    failed: list[str]
    policy_version: int
    data_version: str
    agrees: bool


@dataclass(frozen=True)
class Explanation:
    household_no: str
    year: int
    outcome: str
    outcome_label: str
    category: str
    category_label: str
    risks: list[dict[str, str]]
    failed: list[str]
    per_capita_income: Decimal | None
    policy_version: int
    tests: list[TestExplanation]
    out_of_school: list[dict[str, Any]]
    renovation: dict[str, Any] | None
    stored: StoredResult | None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = _jsonable(asdict(self))
        return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Promise):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def yuan(fen: Any) -> Decimal | None:
    return None if fen is None else (Decimal(int(fen)) / 100).quantize(CENT)


def _display(value: Any, unit: str) -> Any:
    if value is None:
        return None
    if unit == "yuan":
        return yuan(value)
    if unit == "percent" and isinstance(value, float):
        return round(value, 2)
    return value


def _sources(c: Criterion, row: dict[str, Any], params: ResolvedParameters) -> list[Source]:
    out = []
    qualifiers = _qualifiers(c, row)
    for name in c.parameters:
        spec = PARAMETERS[name]
        qualifier = qualifiers.get(name, "")
        raw = params.values.get(name, qualifier or None)
        used = params.source_of(name, qualifier)
        override = params.overrides.get(name, {}).get(qualifier)
        out.append(
            Source(
                parameter=name,
                label=str(spec.label),
                qualifier=qualifier,
                value=_display(raw, spec.unit) if spec.unit != "percent" else raw,
                unit=spec.unit,
                version=used.version if used else None,
                valid_from=used.valid_from.isoformat() if used else None,
                valid_to=used.valid_to.isoformat() if used and used.valid_to else None,
                note=used.source_note if used else "",
                override=override is not None,
            )
        )
    return out


def _qualifiers(c: Criterion, row: dict[str, Any]) -> dict[str, str]:
    """The qualifier each qualified parameter of the criterion takes for this row."""
    found: dict[str, str] = {}
    stack = [c.threshold, c.value, c.passes]
    while stack:
        expr = stack.pop()
        if isinstance(expr, Param) and expr.by is not None:
            found[expr.name] = str(row.get(expr.by) or "")
        stack.extend(expr.children())
    if "monitoring_line" in c.also_uses:
        found.setdefault("monitoring_line", str(row.get("province") or ""))
    return found


def _threshold(c: Criterion, row: dict[str, Any], params: ResolvedParameters) -> Any:
    value = c.threshold.evaluate(row, params.values)
    return _display(value, "yuan" if c.unit == "yuan" else c.unit)


def explain_criterion(
    c: Criterion, test: Test, row: dict[str, Any], params: ResolvedParameters
) -> CriterionExplanation:
    return CriterionExplanation(
        code=c.code,
        name=str(c.name),
        description=str(c.description),
        value=_display(c.value.evaluate(row, params.values), c.unit),
        op=c.op,
        threshold=_threshold(c, row, params),
        unit=c.unit,
        passed=bool(row[f"pass__{c.code}"]),
        decisive=c in test.deciding,
        sources=_sources(c, row, params),
        details={name: row.get(name) for name in c.details},
    )


def _applies(test: Test, result: HouseholdResult) -> bool:
    if test.code == "monitoring":
        return result.row.get("category_now") is not None
    return bool(result.row.get("applied_test") == test.code)


def _passed(test: Test, result: HouseholdResult) -> bool:
    if test.code == "monitoring":
        return result.row.get("category_now") is not None
    return all(result.row[f"pass__{c.code}"] for c in test.deciding)


def build_explanation(
    household: Household,
    year: int,
    result: HouseholdResult,
    params: ResolvedParameters,
    *,
    renovation: Any = None,
    stored: StoredResult | None = None,
) -> Explanation:
    row = result.row
    tests = [
        TestExplanation(
            code=t.code,
            name=str(t.name),
            applies=_applies(t, result),
            passed=_passed(t, result),
            criteria=[explain_criterion(c, t, row, params) for c in t.criteria],
        )
        for t in TESTS.values()
    ]
    tests.sort(key=lambda t: not t.applies)
    return Explanation(
        household_no=household.household_no,
        year=year,
        outcome=result.outcome,
        outcome_label=str(OUTCOMES[result.outcome]),
        category=result.category,
        category_label=str(CATEGORIES[result.category]) if result.category else "",
        risks=[{"code": r, "label": str(RISKS[r])} for r in result.risks],
        failed=result.failed,
        per_capita_income=yuan(row.get("per_capita")),
        policy_version=current_policy_version(),
        tests=tests,
        out_of_school=[
            {"name": m["name"], "birth_date": m["birth_date"].isoformat()}
            for m in result.out_of_school
        ],
        renovation=(
            {
                "kind": renovation.kind,
                "accepted_on": renovation.accepted_on.isoformat(),
                "note": renovation.note,
            }
            if renovation is not None
            else None
        ),
        stored=stored,
    )


def stored_result(household: Household, year: int, result: HouseholdResult) -> StoredResult | None:
    """The latest stored evaluation of the household for the year, and whether it agrees with
    the live one (it may not once data or policy changed since)."""
    stored = (
        HouseholdEvaluation.objects.filter(household=household, year=year)
        .order_by("-run_id")
        .first()
    )
    if stored is None:
        return None
    run = EvaluationRun.objects.only("policy_version", "data_version").get(pk=stored.run_id)
    return StoredResult(
        run_id=stored.run_id,
        outcome=stored.outcome,
        category=stored.category,
        failed=stored.failed_codes,
        policy_version=run.policy_version,
        data_version=run.data_version,
        agrees=(stored.outcome, stored.category, stored.failed_codes)
        == (result.outcome, result.category, result.failed),
    )


def explain_household(household: Household, year: int) -> Explanation:
    """Evaluate one household for ``year`` with the policy in force and explain it."""
    params = parameters_for_year(year)
    if params.values.get("poverty_line", household.standard) is None:
        raise ValidationError(
            _("No poverty line in force in %(year)s for the identification standard %(std)s.")
            % {"year": year, "std": household.standard},
            code="missing_parameter",
        )
    inputs = read_household(household, year)
    result = evaluate_household(inputs, year, params.values)
    return build_explanation(
        household,
        year,
        result,
        params,
        renovation=inputs.renovation,
        stored=stored_result(household, year, result),
    )
