"""Speed of the policy evaluation at city scale (about 1,000,000 people).

    .venv/bin/python bench/bench_policy.py [--households 350000] [--repeat 3] [--seed 2016]
        [--year 2020] [--database-url postgres://postgres@127.0.0.1:5432/fupin_bench_policy]

- ``evaluate``: ``fupin.policy.services.evaluation_run`` for the whole city, as ``fupin evaluate
  --year YEAR`` runs it: data version, bulk read (one SQL query per table), the criteria compiled
  to SQL and polars, and the bulk write of 350,000 results. Target: ≤ 5 s.
- **Baseline**, in the same run: the same criteria written by hand as one polars expression over
  the same data read by hand-written SQL, writing the same result rows. The ratio
  baseline/evaluate is the share of the hand-written speed that the declarative criteria keep.
  Target: ≥ 50%. Both must give the same outcome for every household (checked).
- ``explain``: ``fupin.policy.explain.explain_household`` (what ``fupin explain`` and the API call)
  for households spread over the registry, and the API endpoint through Django's test client.
  Target: median ≤ 20 ms.
- ``simulate``: a what-if run (``scenario_run``) raising Shandong's monitoring range from 6,000
  to 6,500 yuan, counted now vs scenario, with its flips stored. Target: ≤ 10 s.

SQLite (default) uses its own database in bench/.data/policy/; PostgreSQL a database of its own
(``createdb -h 127.0.0.1 -U postgres fupin_bench_policy``). Either is migrated and the demo city
generated on the first run, then reused while the household count and seed match.
"""

import argparse
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data"
TARGETS = {"evaluate": 5.0, "ratio": 0.5, "explain_ms": 20.0, "simulate": 10.0}


def setup_django(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "fupin.settings"
    os.environ.setdefault("FUPIN_LOG_LEVEL", "WARNING")
    os.environ["FUPIN_ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
    if database_url:
        os.environ["DATABASE_URL"] = database_url
        os.environ["FUPIN_DATA_DIR"] = str(DATA / "policy-pg")
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["FUPIN_DATA_DIR"] = str(DATA / "policy")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare(households: int, seed: int) -> None:
    from django.core.management import call_command

    from fupin.registry.demo import demo_seed_of_database, generate_demo
    from fupin.registry.models import Household

    call_command("migrate", verbosity=0, interactive=False)
    if demo_seed_of_database() == (seed, households) and Household.objects.count() == households:
        print(f"Reusing the demo city (seed {seed}, {households:,} households).")
        return
    print(f"Generating the demo city: {households:,} households, seed {seed} …", flush=True)
    started = time.perf_counter()
    generate_demo(households=households, seed=seed, replace=True)
    print(f"Generation: {time.perf_counter() - started:.1f} s.")


# --- The hand-written baseline -------------------------------------------------------------------


def hand_written(year: int) -> tuple[Any, dict[str, float]]:
    """The same criteria as fupin/policy/criteria.py, written directly: SQL by hand, then one
    polars expression per output column. Returns the result frame and the time of each step."""
    import polars as pl
    from django.db import connection

    from fupin.policy.inputs import fetch_frame
    from fupin.policy.parameters import parameters_for_year

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    p = parameters_for_year(year).values
    lines = p.mapping("poverty_line")
    ranges = p.mapping("monitoring_line")
    born_by = f"{year}-12-31"
    school_from = f"{year - p.get('school_age_max') - 1}-12-31"
    school_to = f"{year - p.get('school_age_min')}-12-31"
    pg = connection.vendor == "postgresql"
    birth = "TO_CHAR(birth_date, 'YYYY-MM-DD')" if pg else "birth_date"
    net = (
        "CAST(ROUND(wage_income * 100) AS BIGINT) + CAST(ROUND(business_income * 100) AS BIGINT)"
        " + CAST(ROUND(property_income * 100) AS BIGINT) + CAST(ROUND(transfer_income * 100) AS"
        " BIGINT) - CAST(ROUND(business_cost * 100) AS BIGINT) - CAST(ROUND(excluded_income * 100)"
        " AS BIGINT)"
    )
    h = fetch_frame(
        "SELECT id, status, standard, main_cause, division_id FROM registry_household",
        [],
        {
            "household_id": pl.Int64,
            "status": pl.String,
            "standard": pl.String,
            "main_cause": pl.String,
            "division_id": pl.Int64,
        },
    )
    b = f"{birth} <= '{born_by}'"
    m = fetch_frame(
        f"""SELECT household_id,
          SUM(CASE WHEN {b} THEN 1 ELSE 0 END),
          SUM(CASE WHEN {birth} <= '{school_to}' AND {birth} > '{school_from}'
                AND schooling IN ('not_student', '') AND health NOT IN ('serious_illness', 'disabled')
                THEN 1 ELSE 0 END),
          SUM(CASE WHEN {b} AND NOT basic_medical THEN 1 ELSE 0 END),
          SUM(CASE WHEN {b} AND labour IN ('ordinary', 'skilled', 'weak') THEN 1 ELSE 0 END),
          SUM(CASE WHEN {b} AND health = 'serious_illness' THEN 1 ELSE 0 END),
          SUM(CASE WHEN {b} AND health = 'disabled' THEN 1 ELSE 0 END)
        FROM registry_member WHERE is_active GROUP BY household_id""",
        [],
        {
            "household_id": pl.Int64,
            "members": pl.Int64,
            "out_of_school": pl.Int64,
            "uninsured": pl.Int64,
            "able": pl.Int64,
            "ill": pl.Int64,
            "disabled": pl.Int64,
        },
    )
    y0, y1, y2 = year, year - 1, year - 2
    r = fetch_frame(
        f"""SELECT household_id,
          MAX(CASE WHEN survey_year = {y0} THEN household_size END),
          MAX(CASE WHEN survey_year = {y0} THEN {net} END),
          MAX(CASE WHEN survey_year = {y0} THEN housing_grade END),
          MAX(CASE WHEN survey_year = {y0} THEN CASE WHEN safe_water THEN 1 ELSE 0 END END),
          MAX(CASE WHEN survey_year = {y0} THEN CASE WHEN food_secure THEN 1 ELSE 0 END END),
          MAX(CASE WHEN survey_year = {y0} THEN CASE WHEN clothing_secure THEN 1 ELSE 0 END END),
          MAX(CASE WHEN survey_year = {y1} THEN household_size END),
          MAX(CASE WHEN survey_year = {y1} THEN {net} END),
          MAX(CASE WHEN survey_year = {y2} THEN household_size END),
          MAX(CASE WHEN survey_year = {y2} THEN {net} END)
        FROM registry_yearlyrecord WHERE survey_year IN ({y0}, {y1}, {y2})
        GROUP BY household_id""",
        [],
        {
            "household_id": pl.Int64,
            "s0": pl.Int64,
            "n0": pl.Int64,
            "grade": pl.String,
            "water": pl.Int64,
            "food": pl.Int64,
            "clothing": pl.Int64,
            "s1": pl.Int64,
            "n1": pl.Int64,
            "s2": pl.Int64,
            "n2": pl.Int64,
        },
    )
    renovated = fetch_frame(
        f"SELECT DISTINCT household_id FROM policy_housingrenovation WHERE accepted_on <= '{born_by}'",
        [],
        {"household_id": pl.Int64},
    )
    d = fetch_frame(
        "SELECT id, path FROM divisions_division", [], {"division_id": pl.Int64, "path": pl.String}
    )
    seconds["read"] = time.perf_counter() - started
    mark = time.perf_counter()

    def pc(n: str, s: str) -> pl.Expr:
        return (pl.col(n).abs() * 2 + pl.col(s)) // (pl.col(s) * 2) * pl.col(n).sign()

    def drop(now: pl.Expr, before: pl.Expr) -> pl.Expr:
        pct = p.get("sudden_drop_pct")
        sharp: pl.Expr = ((before > 0) & ((before - now) * 100 >= pct * before)).fill_null(False)
        return sharp

    poor = pl.col("status").is_in(["not_out", "returned"])
    exited = pl.col("status") == "exited"
    other = ~poor & ~exited
    rng = pl.col("province").replace_strict(ranges, default=None, return_dtype=pl.Int64)
    line = pl.col("standard").replace_strict(lines, default=None, return_dtype=pl.Int64)

    def category(now: pl.Expr, sharp: pl.Expr) -> pl.Expr:
        return (
            pl.when(rng.is_null() | now.is_null())
            .then(pl.lit(None, dtype=pl.String))
            .when(exited & (now <= rng))
            .then(pl.lit("unstable"))
            .when(other & (now <= rng))
            .then(pl.lit("marginal"))
            .when(~poor & sharp)
            .then(pl.lit("sudden"))
            .otherwise(pl.lit(None, dtype=pl.String))
        )

    df = (
        h.lazy()
        .join(
            d.lazy().select("division_id", pl.col("path").str.slice(0, 12).alias("province")),
            on="division_id",
            how="left",
        )
        .join(m.lazy(), on="household_id", how="left")
        .join(r.lazy(), on="household_id", how="left")
        .with_columns(
            pl.col("members", "out_of_school", "uninsured", "able", "ill", "disabled").fill_null(0),
            pl.col("household_id").is_in(renovated["household_id"].implode()).alias("renovated"),
            pc("n0", "s0").alias("pc"),
            pc("n1", "s1").alias("pc1"),
            pc("n2", "s2").alias("pc2"),
        )
        .with_columns(
            drop(pl.col("pc"), pl.col("pc1")).alias("sharp"),
            drop(pl.col("pc1"), pl.col("pc2")).alias("sharp1"),
            (pl.col("pc") > line).fill_null(False).alias("income"),
            (pl.col("pc") <= line).fill_null(False).alias("income_low"),
            (pl.col("food") == 1).fill_null(False).alias("food_ok"),
            (pl.col("clothing") == 1).fill_null(False).alias("clothing_ok"),
            (pl.col("out_of_school") == 0).alias("school_ok"),
            (pl.col("uninsured") == 0).alias("medical_ok"),
            (pl.col("grade").is_in(["A", "B"]) | pl.col("renovated"))
            .fill_null(False)
            .alias("house_ok"),
            (pl.col("water") == 1).fill_null(False).alias("water_ok"),
            (pl.col("able") >= 1).alias("labour_ok"),
            pl.when(pl.col("pc") > rng)
            .then(
                pl.when(pl.col("pc1") > rng)
                .then(pl.when(pl.col("pc2") > rng).then(36).otherwise(24))
                .otherwise(12)
            )
            .otherwise(0)
            .alias("months"),
        )
        .with_columns(
            category(pl.col("pc"), pl.col("sharp")).alias("cat_now"),
            category(pl.col("pc1"), pl.col("sharp1")).alias("cat_prev"),
            ((pl.col("months") >= p.get("stable_months")).fill_null(False)).alias("stable_ok"),
            ((pl.col("ill") == 0) & ~pl.col("sharp")).alias("rigid_ok"),
        )
        .with_columns(
            pl.when(pl.col("s0").is_null())
            .then(pl.lit("no_record"))
            .when(
                poor
                & pl.all_horizontal(
                    "income",
                    "food_ok",
                    "clothing_ok",
                    "school_ok",
                    "medical_ok",
                    "house_ok",
                    "water_ok",
                )
            )
            .then(pl.lit("exit_qualified"))
            .when(poor)
            .then(pl.lit("still_poor"))
            .when(exited & rng.is_null() & ~pl.col("income"))
            .then(pl.lit("returned"))
            .when(other & pl.col("income_low"))
            .then(pl.lit("identified"))
            .when(pl.col("cat_now").is_not_null())
            .then(pl.lit("monitoring"))
            .when(
                pl.col("cat_prev").is_not_null()
                & pl.all_horizontal(
                    "stable_ok",
                    "rigid_ok",
                    "school_ok",
                    "medical_ok",
                    "house_ok",
                    "water_ok",
                    "labour_ok",
                )
            )
            .then(pl.lit("risk_eliminated"))
            .when(pl.col("cat_prev").is_not_null())
            .then(pl.lit("monitoring"))
            .when(exited)
            .then(pl.lit("stable"))
            .otherwise(pl.lit("not_poor"))
            .alias("outcome")
        )
    )
    exit_checks = [
        ("income", "income_above_line"),
        ("food_ok", "food_secure"),
        ("clothing_ok", "clothing_secure"),
        ("school_ok", "compulsory_education"),
        ("medical_ok", "basic_medical"),
        ("house_ok", "housing_safe"),
        ("water_ok", "safe_water"),
    ]
    ident_checks = [("income_low", "income_not_above_line"), *exit_checks[1:]]
    elim_checks = [
        ("stable_ok", "income_above_range_stable"),
        ("rigid_ok", "rigid_expenditure_resolved"),
        *exit_checks[3:],
        ("labour_ok", "labour_capacity"),
    ]
    in_exit = pl.col("outcome").is_in(["exit_qualified", "still_poor", "returned"])
    failed = (
        [pl.when(in_exit & ~pl.col(c)).then(pl.lit(code)) for c, code in exit_checks]
        + [
            pl.when((pl.col("outcome") == "identified") & ~pl.col(c)).then(pl.lit(code))
            for c, code in ident_checks
        ]
        + [
            pl.when((pl.col("outcome") == "monitoring") & ~pl.col(c)).then(pl.lit(code))
            for c, code in elim_checks
        ]
    )
    result = df.with_columns(
        pl.concat_str(failed, separator=",", ignore_nulls=True).alias("failed"),
        pl.when(pl.col("outcome") == "monitoring")
        .then(pl.coalesce("cat_now", "cat_prev"))
        .otherwise(pl.lit(""))
        .alias("category"),
    ).collect()
    seconds["compute"] = time.perf_counter() - mark
    return result, seconds


def store_like_evaluate(year: int, frame: Any) -> float:
    """Write the baseline's rows as evaluate writes its own (one run, bulk insert)."""
    import polars as pl
    from django.db import transaction

    from fupin.core.bulk import insert_frame
    from fupin.policy.models import EvaluationRun, HouseholdEvaluation

    started = time.perf_counter()
    with transaction.atomic():
        run = EvaluationRun.objects.create(year=year, policy_version=0, data_version="baseline")
        rows = frame.select(
            pl.lit(run.pk).alias("run_id"),
            "household_id",
            pl.lit(year).alias("year"),
            "outcome",
            "category",
            "failed",
            pl.lit("").alias("risks"),
        )
        insert_frame(HouseholdEvaluation, rows)
    seconds = time.perf_counter() - started
    EvaluationRun.objects.filter(pk=run.pk).delete()
    return seconds


def timed(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} s ({min(values):.2f}–{max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=350_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--year", type=int, default=2020)
    parser.add_argument("--explain", type=int, default=101, help="households explained")
    parser.add_argument("--database-url", default="", help="PostgreSQL (default: SQLite)")
    args = parser.parse_args()
    if args.households < 1 or args.repeat < 1:
        parser.error("--households and --repeat must be at least 1")
    setup_django(args.database_url)

    import polars as pl
    from django.db import connection
    from django.test import Client

    from fupin.accounts.models import User
    from fupin.core.audit import ChangeSource
    from fupin.policy.explain import explain_household
    from fupin.policy.models import EvaluationRun
    from fupin.policy.services import evaluation_run
    from fupin.registry.models import Household, Member

    prepare(args.households, args.seed)
    people = Member.objects.filter(is_active=True).count()
    print(
        f"Database: {connection.vendor}, {args.households:,} households, {people:,} people; "
        f"year {args.year}. Load average: " + ", ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    source = ChangeSource.command("bench")
    failures: list[str] = []

    # --- evaluate vs the hand-written baseline, alternating ---------------------------------
    totals: list[float] = []
    cpu: list[float] = []
    steps: dict[str, list[float]] = {}
    base_totals: list[float] = []
    base_cpu: list[float] = []
    base_steps: dict[str, list[float]] = {}
    mismatches = -1
    for _ in range(args.repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        outcome = evaluation_run(actor=None, source=source, year=args.year)
        totals.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        for key, value in outcome.seconds.items():
            steps.setdefault(key, []).append(value)
        ours = outcome.result.households.select("household_id", "outcome", "category", "failed")
        run = outcome.run
        assert run is not None
        EvaluationRun.objects.filter(pk=run.pk).delete()

        started, cpu_started = time.perf_counter(), time.process_time()
        frame, base = hand_written(args.year)
        base["store"] = store_like_evaluate(args.year, frame)
        base_totals.append(time.perf_counter() - started)
        base_cpu.append(time.process_time() - cpu_started)
        for key, value in base.items():
            base_steps.setdefault(key, []).append(value)
        joined = ours.join(
            frame.select("household_id", "outcome", "category", "failed"),
            on="household_id",
            suffix="_hand",
        )
        mismatches = joined.filter(
            (pl.col("outcome") != pl.col("outcome_hand"))
            | (pl.col("category") != pl.col("category_hand"))
            | (pl.col("failed") != pl.col("failed_hand"))
        ).height
    counts = dict(sorted(ours.group_by("outcome").len().iter_rows()))
    evaluate_s = statistics.median(totals)
    baseline_s = statistics.median(base_totals)
    ratio = baseline_s / evaluate_s
    print(f"\nOutcomes: {counts}; households differing from the baseline: {mismatches}.")
    print(f"\n{'step':<34} {'median (min–max)':>24}")
    print("-" * 60)
    print(f"{'evaluate, whole city':<34} {timed(totals):>24}")
    for key, values in steps.items():
        print(f"{'  ' + key:<34} {timed(values):>24}")
    print(f"{'baseline (hand-written polars)':<34} {timed(base_totals):>24}")
    for key, values in base_steps.items():
        print(f"{'  ' + key:<34} {timed(values):>24}")
    compute_ratio = statistics.median(base_steps["compute"]) / statistics.median(steps["evaluate"])
    print(
        f"\nCPU time of this process (on SQLite the database works in it; reads use threads): "
        f"evaluate {statistics.median(cpu):.2f} s, baseline {statistics.median(base_cpu):.2f} s."
    )
    print(
        f"evaluate {evaluate_s:.2f} s (target ≤ {TARGETS['evaluate']:.0f} s); speed vs the "
        f"baseline {ratio:.0%} (target ≥ {TARGETS['ratio']:.0%}); criteria alone (polars step "
        f"vs polars step) {compute_ratio:.0%}."
    )
    if evaluate_s > TARGETS["evaluate"]:
        failures.append(f"evaluate {evaluate_s:.2f} s")
    if ratio < TARGETS["ratio"]:
        failures.append(f"ratio {ratio:.0%}")
    if mismatches:
        failures.append(f"{mismatches} households differ from the baseline")

    # --- explain ------------------------------------------------------------------------------
    total = Household.objects.count()
    step = max(total // args.explain, 1)
    numbers = list(
        Household.objects.order_by("household_no").values_list("household_no", flat=True)[::step][
            : args.explain
        ]
    )
    households = [Household.objects.select_related("division").get(household_no=n) for n in numbers]
    explain_household(households[0], args.year)  # warm-up
    explain_ms = []
    for h in households:
        started = time.perf_counter()
        explain_household(h, args.year)
        explain_ms.append((time.perf_counter() - started) * 1000)
    client = Client()
    client.force_login(User.objects.get(username="demo_city_admin"))
    client.get(f"/api/v1/households/{numbers[0]}/evaluation?year={args.year}")
    api_ms = []
    for n in numbers:
        started = time.perf_counter()
        response = client.get(f"/api/v1/households/{n}/evaluation?year={args.year}")
        api_ms.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    explain_median = statistics.median(explain_ms)
    print(
        f"\nexplain ({len(explain_ms)} households): median {explain_median:.1f} ms, "
        f"p90 {sorted(explain_ms)[int(0.9 * (len(explain_ms) - 1))]:.1f} ms "
        f"(target ≤ {TARGETS['explain_ms']:.0f} ms); API GET …/evaluation median "
        f"{statistics.median(api_ms):.1f} ms server time."
    )
    if explain_median > TARGETS["explain_ms"]:
        failures.append(f"explain {explain_median:.1f} ms")

    # --- simulate -----------------------------------------------------------------------------
    try:
        from fupin.policy.simulation import scenario_run
    except ImportError:
        print("\nsimulate: not available.")
    else:
        sim_s = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            scenario = scenario_run(
                actor=None,
                source=source,
                year=args.year,
                overrides={"monitoring_line": {"370000000000": Decimal(6500)}},
            )
            sim_s.append(time.perf_counter() - started)
            flips = scenario.result["flips"]["total"]
            scenario.delete()
        print(
            f"\nsimulate (monitoring range 6,000 → 6,500): {timed(sim_s)}, {flips:,} households "
            f"flip (target ≤ {TARGETS['simulate']:.0f} s)."
        )
        if statistics.median(sim_s) > TARGETS["simulate"]:
            failures.append(f"simulate {statistics.median(sim_s):.1f} s")

    print(
        "\nLoad average now: "
        + ", ".join(f"{x:.1f}" for x in os.getloadavg())
        + f" on {os.cpu_count()} CPUs (other work on the machine slows every figure)."
    )
    print("Result: " + ("all within the targets." if not failures else "; ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
