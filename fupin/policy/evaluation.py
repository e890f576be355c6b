"""Evaluation: the criteria of ``fupin.policy.criteria`` over a whole subtree (polars) and over
one household (Python). Both read the same definitions; ``evaluate_rows`` is the per-household
twin of ``evaluate_frame`` and a property test keeps them equal.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.utils.translation import gettext

from fupin.divisions.models import Level
from fupin.policy.criteria import (
    APPLIED_TEST,
    BORN,
    CATEGORY,
    CRITERIA,
    DIVISION_EXIT,
    HOUSEHOLD_FACTS,
    MEMBER_COUNTS,
    OUTCOME,
    POOR_AFTER,
    RECORD_CONDITIONS,
    RECORD_FACTS,
    RECORD_YEARS,
    RISK_FACTS,
    TESTS,
)
from fupin.policy.expressions import ParameterValues, count_python
from fupin.policy.inputs import (
    BulkInputs,
    HouseholdInputs,
    record_row,
    with_year,
)

EXIT_LEVELS = (Level.VILLAGE.value, Level.COUNTY.value)
# Tests whose failures a stored result lists (see criteria.APPLIED_TEST).
RECORDED_TESTS = ("identification", "exit", "elimination")


class EvaluationError(Exception):
    """The evaluation cannot run (e.g. no poverty line for a standard in use)."""


# --- Bulk --------------------------------------------------------------------------------------


@dataclass
class BulkResult:
    households: pl.DataFrame  # household_id, county_id, village_id, outcome, category, failed, …
    divisions: pl.DataFrame  # division_id, code, name, level, poor_people, population, qualifies


def division_map(divisions: pl.DataFrame) -> pl.DataFrame:
    """Each division's province code, and its county and village ids (null above them)."""
    level_of = dict(zip(divisions["code"].to_list(), divisions["level"].to_list(), strict=True))
    id_of = dict(zip(divisions["code"].to_list(), divisions["id"].to_list(), strict=True))
    provinces: list[str] = []
    ancestors: dict[str, list[int | None]] = {Level.COUNTY: [], Level.VILLAGE: []}
    for path in divisions["path"].to_list():
        codes = [c for c in path.split("/") if c]
        provinces.append(codes[0])
        for level, found in ancestors.items():
            code = next((c for c in codes if level_of.get(c) == level), None)
            found.append(id_of.get(code) if code else None)
    return pl.DataFrame(
        {
            "division_id": divisions["id"],
            "province": pl.Series(provinces, dtype=pl.String),
            "county_id": pl.Series(ancestors[Level.COUNTY], dtype=pl.Int64),
            "village_id": pl.Series(ancestors[Level.VILLAGE], dtype=pl.Int64),
        }
    )


def household_frame(inputs: BulkInputs) -> pl.DataFrame:
    """One row per household with every input column the criteria read."""
    flags = [f"{name}_0" for name in ("water", "food", "clothing")]
    return (
        inputs.households.lazy()
        .rename({"id": "household_id"})
        .join(division_map(inputs.divisions).lazy(), on="division_id", how="left")
        .join(inputs.members.lazy(), on="household_id", how="left")
        .with_columns(
            [pl.col(name).fill_null(0) for name in MEMBER_COUNTS]
            + [pl.col(name).cast(pl.Boolean) for name in flags]
            + [
                pl.col("household_id")
                .is_in(inputs.renovated["household_id"].implode())
                .alias("renovated")
            ]
        )
        .collect()
    )


def check_parameters(frame: pl.DataFrame, params: ParameterValues) -> None:
    lines = params.mapping("poverty_line")
    missing = sorted(set(frame["standard"].unique().to_list()) - set(lines))
    if missing:
        raise EvaluationError(
            gettext("No poverty line in force for the identification standard(s) %(standards)s.")
            % {"standards": ", ".join(missing)}
        )


def evaluate_frame(
    inputs: BulkInputs, params: ParameterValues, scope_path: str | None
) -> BulkResult:
    """Evaluate every household of ``inputs`` and the villages and counties of the scope."""
    frame = household_frame(inputs)
    check_parameters(frame, params)
    lazy = frame.lazy()
    for name, expr in HOUSEHOLD_FACTS.items():
        lazy = lazy.with_columns(expr.to_polars(params).alias(name))
    lazy = lazy.with_columns(
        [
            c.passes.to_polars(params).fill_null(False).alias(f"pass__{code}")
            for code, c in CRITERIA.items()
        ]
    )
    lazy = lazy.with_columns(OUTCOME.to_polars(params).alias("outcome"))
    lazy = lazy.with_columns(
        CATEGORY.to_polars(params).alias("category"),
        APPLIED_TEST.to_polars(params).alias("applied_test"),
        POOR_AFTER.to_polars(params).fill_null(False).alias("poor_after"),
    )
    failures = [
        pl.when((pl.col("applied_test") == test) & ~pl.col(f"pass__{c.code}")).then(pl.lit(c.code))
        for test in RECORDED_TESTS
        for c in TESTS[test].criteria
    ]
    risks = pl.concat_str(
        [
            pl.when(expr.to_polars(params).fill_null(False)).then(pl.lit(code))
            for code, expr in RISK_FACTS.items()
        ],
        separator=",",
        ignore_nulls=True,
    )
    lazy = lazy.with_columns(
        pl.concat_str(failures, separator=",", ignore_nulls=True).alias("failed"),
        pl.when(pl.col("outcome") == "monitoring")
        .then(pl.when(risks == "").then(pl.lit("other")).otherwise(risks))
        .otherwise(pl.lit(""))
        .alias("risks"),
    )
    households = lazy.collect()
    return BulkResult(households, evaluate_divisions(households, inputs, params, scope_path))


def evaluate_divisions(
    households: pl.DataFrame, inputs: BulkInputs, params: ParameterValues, scope_path: str | None
) -> pl.DataFrame:
    """Village and county exit: people still poor ÷ registered rural population."""
    divisions = inputs.divisions
    if scope_path is not None:
        divisions = divisions.filter(
            (pl.col("path") >= scope_path) & (pl.col("path") < scope_path[:-1] + "0")
        )
    villages = (
        divisions.filter(pl.col("level") == Level.VILLAGE)
        .join(
            division_map(inputs.divisions).drop("village_id"),
            left_on="id",
            right_on="division_id",
            how="left",
        )
        .join(
            households.filter(pl.col("poor_after"))
            .group_by("village_id")
            .agg(pl.col("members").sum().alias("poor_people")),
            left_on="id",
            right_on="village_id",
            how="left",
        )
        .with_columns(pl.col("poor_people").fill_null(0))
    )
    village_rows = villages.select(
        pl.col("id").alias("division_id"),
        "code",
        "name",
        pl.lit(Level.VILLAGE.value).alias("level"),
        "poor_people",
        pl.col("rural_population").alias("population"),
        "county_id",
    )
    counties = (
        villages.filter(pl.col("county_id").is_not_null())
        .group_by("county_id")
        .agg(
            pl.col("poor_people").sum(),
            # A county's figure is the sum over its villages; unknown if any village lacks one.
            pl.when(pl.col("rural_population").is_null().any())
            .then(pl.lit(None, dtype=pl.Int64))
            .otherwise(pl.col("rural_population").sum())
            .alias("population"),
        )
        .join(
            divisions.filter(pl.col("level") == Level.COUNTY).select("id", "code", "name"),
            left_on="county_id",
            right_on="id",
            how="inner",
        )
        .select(
            pl.col("county_id").alias("division_id"),
            "code",
            "name",
            pl.lit(Level.COUNTY.value).alias("level"),
            "poor_people",
            "population",
            "county_id",
        )
    )
    rows = pl.concat([village_rows, counties], how="vertical_relaxed")
    return rows.with_columns(
        DIVISION_EXIT.passes.to_polars(params).fill_null(False).alias("qualifies")
    ).sort("level", "code")


# --- One household -----------------------------------------------------------------------------


@dataclass
class HouseholdResult:
    row: dict[str, Any]  # every input, fact and pass__ column, as in the bulk frame
    outcome: str
    category: str
    failed: list[str]
    risks: list[str]
    out_of_school: list[dict[str, Any]] = field(default_factory=list)


def household_row(inputs: HouseholdInputs, year: int, params: ParameterValues) -> dict[str, Any]:
    """The household's inputs as the bulk frame holds them (before facts)."""
    household = inputs.household
    ref_params = with_year(params, year)
    row: dict[str, Any] = {
        "household_id": household.pk,
        "status": household.status,
        "standard": household.standard,
        "main_cause": household.main_cause,
        "division_id": household.division_id,
        "province": inputs.province,
        "renovated": inputs.renovation is not None,
    }
    members = [m for m in inputs.members if BORN.evaluate(m, ref_params) is True]
    for name, predicate in MEMBER_COUNTS.items():
        row[name] = count_python(predicate, members, ref_params)
    for k in RECORD_YEARS:
        record = inputs.records.get(year - k)
        facts: Mapping[str, Any] = dict(RECORD_FACTS) | (RECORD_CONDITIONS if k == 0 else {})
        values = record_row(record) if record is not None else None
        for name, expr in facts.items():
            row[f"{name}_{k}"] = None if values is None else expr.evaluate(values, ref_params)
    return row


def evaluate_rows(row: dict[str, Any], params: ParameterValues) -> HouseholdResult:
    """Facts, criteria, outcome, category, failures and risks of one household row."""
    for name, expr in HOUSEHOLD_FACTS.items():
        row[name] = expr.evaluate(row, params)
    for code, c in CRITERIA.items():
        row[f"pass__{code}"] = c.passes.evaluate(row, params) is True
    row["outcome"] = OUTCOME.evaluate(row, params)
    row["category"] = CATEGORY.evaluate(row, params)
    row["applied_test"] = APPLIED_TEST.evaluate(row, params)
    row["poor_after"] = POOR_AFTER.evaluate(row, params) is True
    applied = row["applied_test"]
    failed = (
        [c.code for c in TESTS[applied].criteria if not row[f"pass__{c.code}"]]
        if applied in RECORDED_TESTS
        else []
    )
    risks: list[str] = []
    if row["outcome"] == "monitoring":
        risks = [code for code, expr in RISK_FACTS.items() if expr.evaluate(row, params) is True]
        risks = risks or ["other"]
    return HouseholdResult(row, row["outcome"], row["category"] or "", failed, risks)


def evaluate_household(
    inputs: HouseholdInputs, year: int, params: ParameterValues
) -> HouseholdResult:
    result = evaluate_rows(household_row(inputs, year, params), params)
    if result.row["out_of_school"]:
        ref_params = with_year(params, year)
        result.out_of_school = [
            m
            for m in inputs.members
            if BORN.evaluate(m, ref_params) is True
            and MEMBER_COUNTS["out_of_school"].evaluate(m, ref_params) is True
        ]
    return result


def division_row_result(row: dict[str, Any], params: ParameterValues) -> bool:
    return DIVISION_EXIT.passes.evaluate(row, params) is True
