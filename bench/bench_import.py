"""Speed and memory of the registry import (exchange-format §5) at city scale.

    .venv/bin/python bench/bench_import.py [--households 350000] [--seed 2016] [--repeat 3]
        [--databases sqlite,postgres] [--xlsx-households 50000]
        [--postgres-url postgres://postgres@127.0.0.1:5432/postgres]

The packages come from the demo city (about 1,000,000 people at 350,000 households): the demo is
generated once into its own SQLite database in bench/.data-import/ (ignored by git) and exported
unmasked as CSV (a folder), as XLSX, and as a smaller XLSX of the first ``--xlsx-households``
households; a copy of the CSV has 10% of the households changed (wage income + 1 yuan and the
head's education). They are kept while the household count and seed match.

For each database, each repeat starts from an empty registry that has the demo's divisions
(SQLite: a copy of a template file; PostgreSQL: ``CREATE DATABASE … TEMPLATE``), then runs, each
import in a child process of its own (``fupin``'s ``import_package`` as the command line runs it:
the operator, strict mode), so the peak memory printed (VmHWM) is that import's alone:

1. **full**: the CSV into the empty registry;
2. **ceiling**: the rows the full import wrote to the registry tables (households, members,
   yearly records), read back and written again into an empty registry with plain executemany
   (SQLite) or COPY (PostgreSQL), no validation, no comparison, no history; the line "ceiling +
   history" also copies the import's audit events;
3. **unchanged**: the same CSV again (all unchanged: nothing written);
4. **10% changed**: the changed CSV;
5. **xlsx dry run**: the whole XLSX read and validated against the empty registry (the writes
   are the CSV import's);
6. **xlsx import**: the smaller XLSX into an empty registry.

People per second are people in the package ÷ the import's own seconds (without Python and
Django start-up). Targets: full ≥ 25% of the ceiling's people/s, unchanged ≥ 50%, peak memory ≤
1.5 GB, XLSX ≥ 50,000 people/s. Medians over the repeats; the load average is printed, since
other work on the machine slows every figure.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data-import"
TARGETS = {"full": 0.25, "unchanged": 0.50}
XLSX_TARGET = 50_000
PEAK_TARGET_MIB = 1536
PG_PREFIX = "fupin_bench_import"


# --- Django in a child -------------------------------------------------------------------------


def setup_django(database: str) -> None:
    """``database``: a SQLite folder (holding fupin.sqlite3) or a postgres:// URL."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "fupin.settings"
    os.environ.setdefault("FUPIN_LOG_LEVEL", "WARNING")
    if database.startswith("postgres"):
        os.environ["DATABASE_URL"] = database
        os.environ["FUPIN_DATA_DIR"] = str(DATA / "pg-data")
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["FUPIN_DATA_DIR"] = database
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def peak_memory_mib() -> float:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(argv: list[str]) -> None:
    """The child processes: one job each, its figures as JSON on the last line of stdout."""
    job, database, *rest = argv
    setup_django(database)
    out: dict[str, Any]
    if job == "source":
        out = prepare_source(int(rest[0]), int(rest[1]), Path(rest[2]), int(rest[3]))
    elif job == "template":
        out = prepare_template(Path(rest[0]))
    elif job == "import":
        out = run_import(Path(rest[0]), dry_run=rest[1] == "dry")
    elif job == "ceiling":
        out = run_ceiling(rest[0], with_history=rest[1] == "history")
    else:
        raise SystemExit(f"unknown job {job}")
    out["peak_mib"] = peak_memory_mib()
    print(json.dumps(out))


def spawn(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.stderr.write(done.stdout[-5000:] + done.stderr[-5000:])
        raise SystemExit(f"child {args[0]} failed")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- Preparation -------------------------------------------------------------------------------


def prepare_source(households: int, seed: int, packages: Path, small: int) -> dict[str, Any]:
    """The demo city and the packages made from it (child, on the source SQLite database)."""
    import polars as pl
    from django.core.management import call_command

    from fupin.divisions.models import Division
    from fupin.exchange.exporting import export_registry
    from fupin.registry.demo import demo_seed_of_database, generate_demo
    from fupin.registry.models import Household

    call_command("migrate", verbosity=0, interactive=False)
    if demo_seed_of_database() != (seed, households) or Household.objects.count() != households:
        started = time.perf_counter()
        generate_demo(households=households, seed=seed, replace=True)
        print(f"Generated the demo city in {time.perf_counter() - started:.0f} s.", file=sys.stderr)
    packages.mkdir(parents=True, exist_ok=True)
    rows = Division.objects.order_by("path").values_list("code", "name", "level", "parent__code")
    pl.DataFrame(
        list(rows), schema=["code", "name", "level", "parent_code"], orient="row"
    ).write_csv(packages / "divisions.csv")
    full = packages / "full"
    export_registry(full, actor=None, fmt="csv", masked=False)
    export_registry(packages / "full.xlsx", actor=None, fmt="xlsx", masked=False)
    _changed_copy(full, packages / "changed")
    _small_xlsx(full, packages / "small.xlsx", small)
    people = pl.scan_csv(full / "members.csv", infer_schema=False).select(pl.len()).collect().item()
    (packages / "READY").write_text(json.dumps({"people": people}))
    return {"people": people}


def _changed_copy(full: Path, target: Path) -> None:
    """The package with every tenth household changed: wage income + 1 yuan, and its head's
    education."""
    import polars as pl

    target.mkdir(exist_ok=True)
    bom = "\ufeff"
    hh = pl.read_csv(full / "households.csv", infer_schema=False, encoding="utf8-lossy")
    mm = pl.read_csv(full / "members.csv", infer_schema=False, encoding="utf8-lossy")
    hh = hh.rename({c: c.lstrip(bom) for c in hh.columns})
    mm = mm.rename({c: c.lstrip(bom) for c in mm.columns})
    picked = pl.int_range(pl.len()) % 10 == 0
    hh = hh.with_columns(
        pl.when(picked)
        .then(
            (pl.col("工资性收入").cast(pl.Float64) + 1)
            .round(2)
            .map_elements(lambda v: f"{v:.2f}", return_dtype=pl.String)
        )
        .otherwise(pl.col("工资性收入"))
        .alias("工资性收入")
    )
    changed = hh.filter(picked)["户编号"].implode()
    head = (pl.col("与户主关系") == "户主") & pl.col("户编号").is_in(changed)
    mm = mm.with_columns(
        pl.when(head & (pl.col("文化程度") == "小学"))
        .then(pl.lit("初中"))
        .when(head)
        .then(pl.lit("小学"))
        .otherwise(pl.col("文化程度"))
        .alias("文化程度")
    )
    for frame, name in ((hh, "households.csv"), (mm, "members.csv")):
        with (target / name).open("wb") as handle:
            handle.write(bom.encode())
            frame.write_csv(handle, line_terminator="\r\n")


def _small_xlsx(full: Path, target: Path, households: int) -> None:
    import polars as pl

    from fupin.exchange.columns import HOUSEHOLD_COLUMNS, MEMBER_COLUMNS
    from fupin.exchange.tests.package_builders import write_xlsx_package

    bom = "\ufeff"
    hh = pl.read_csv(full / "households.csv", infer_schema=False, n_rows=households)
    hh = hh.rename({c: c.lstrip(bom) for c in hh.columns})
    mm = pl.read_csv(full / "members.csv", infer_schema=False)
    mm = mm.rename({c: c.lstrip(bom) for c in mm.columns}).filter(
        pl.col("户编号").is_in(hh["户编号"].implode())
    )
    to_key = {c.zh: c.key for c in (*HOUSEHOLD_COLUMNS, *MEMBER_COLUMNS)}
    write_xlsx_package(
        target,
        hh.rename(to_key, strict=False).iter_rows(named=True),
        mm.rename(to_key, strict=False).iter_rows(named=True),
    )


def prepare_template(divisions: Path) -> dict[str, Any]:
    """An empty registry with the demo's divisions (child, on the template database)."""
    from django.core.management import call_command
    from django.db import connection

    from fupin.divisions.services import divisions_load_csv

    call_command("migrate", verbosity=0, interactive=False)
    divisions_load_csv(divisions)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {}


# --- Runs --------------------------------------------------------------------------------------


def run_import(package: Path, *, dry_run: bool) -> dict[str, Any]:
    from fupin.exchange.importing import import_package

    started, cpu = time.perf_counter(), time.process_time()
    report = import_package(package, actor=None, dry_run=dry_run)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if report.errors:
        raise SystemExit(f"{package}: {len(report.errors)} errors, first {report.errors[0]}")
    m = report.members
    return {
        "seconds": seconds,
        "cpu": cpu,
        "people": m["created"] + m["updated"] + m["unchanged"],
        "households": report.households,
        "members": report.members,
    }


def _registry_tables(with_history: bool) -> list[Any]:
    from fupin.core.models import AuditEvent
    from fupin.registry.models import Household, Member, YearlyRecord

    return [Household, Member, YearlyRecord] + ([AuditEvent] if with_history else [])


def run_ceiling(source: str, *, with_history: bool) -> dict[str, Any]:
    """Copy the registry rows of ``source`` (the database after a full import) into this empty
    registry the plainest fast way; only the writes are timed. Rows this registry has already
    (the template's own audit events) are left out."""
    from django.db import connection, transaction

    from fupin.exchange.importing import SQLITE_CACHE_KIB, sqlite_cache

    qn = connection.ops.quote_name
    tables = [qn(m._meta.db_table) for m in _registry_tables(with_history)]
    first: dict[str, int] = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM " + table)
            first[table] = int(cursor.fetchone()[0]) + 1
    if connection.vendor == "postgresql":
        import psycopg

        dumps: list[tuple[str, bytes]] = []
        with psycopg.connect(source) as reading, reading.cursor() as cursor:
            for table in tables:
                buffer = bytearray()
                query = f"COPY (SELECT * FROM {table} WHERE id >= {first[table]}) TO STDOUT"
                with cursor.copy(query) as copy:
                    for block in copy:
                        buffer += block
                dumps.append((table, bytes(buffer)))
            cursor.execute("SELECT COUNT(*) FROM registry_member")
            people = cursor.fetchone()[0]
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            for table, data in dumps:
                with cursor.cursor.copy("COPY " + table + " FROM STDIN") as copy:
                    copy.write(data)
        return {"seconds": time.perf_counter() - started, "people": people}
    import sqlite3

    rows: list[tuple[str, list[Any]]] = []
    with closing(sqlite3.connect(Path(source) / "fupin.sqlite3")) as reading:
        for table in tables:
            cursor = reading.execute("SELECT * FROM " + table + " WHERE id >= ?", (first[table],))
            names = ", ".join(qn(d[0]) for d in cursor.description)
            marks = ", ".join(["%s"] * len(cursor.description))
            rows.append((f"INSERT INTO {table} ({names}) VALUES ({marks})", cursor.fetchall()))
        people = reading.execute("SELECT COUNT(*) FROM registry_member").fetchone()[0]
    started = time.perf_counter()
    with sqlite_cache(SQLITE_CACHE_KIB), transaction.atomic(), connection.cursor() as cursor:
        for sql, data in rows:
            for begin in range(0, len(data), 20_000):
                cursor.executemany(sql, data[begin : begin + 20_000])
    return {"seconds": time.perf_counter() - started, "people": people}


# --- Databases ---------------------------------------------------------------------------------


class SqliteTarget:
    name = "sqlite"

    def __init__(self) -> None:
        self.template = DATA / "sqlite-template"
        self.runs = [DATA / "sqlite-run", DATA / "sqlite-run2"]

    def prepare(self, packages: Path) -> None:
        marker = self.template / "READY"
        if not marker.exists() or marker.read_text() != packages.name:
            shutil.rmtree(self.template, ignore_errors=True)
            self.template.mkdir(parents=True)
            spawn("template", str(self.template), str(packages / "divisions.csv"))
            marker.write_text(packages.name)

    def fresh(self, index: int) -> str:
        folder = self.runs[index]
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        shutil.copy(self.template / "fupin.sqlite3", folder / "fupin.sqlite3")
        for name in ("secret_key",):
            if (self.template / name).exists():
                shutil.copy(self.template / name, folder / name)
        return str(folder)

    def cleanup(self) -> None:
        for folder in self.runs:
            shutil.rmtree(folder, ignore_errors=True)


class PostgresTarget:
    name = "postgres"

    def __init__(self, url: str) -> None:
        self.admin = url
        self.base = url.rsplit("/", 1)[0]

    def _execute(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(
            self.admin.replace("postgres://", "postgresql://", 1), autocommit=True
        ) as conn:
            for statement in statements:
                conn.execute(statement)

    def url(self, name: str) -> str:
        return f"{self.base}/{PG_PREFIX}_{name}"

    def prepare(self, packages: Path) -> None:
        marker = DATA / "pg-template-READY"
        if not marker.exists() or marker.read_text() != packages.name:
            self._execute(
                f"DROP DATABASE IF EXISTS {PG_PREFIX}_template",
                f"CREATE DATABASE {PG_PREFIX}_template",
            )
            spawn("template", self.url("template"), str(packages / "divisions.csv"))
            marker.write_text(packages.name)

    def fresh(self, index: int) -> str:
        name = f"{PG_PREFIX}_run{index}"
        self._execute(
            f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
            f"CREATE DATABASE {name} TEMPLATE {PG_PREFIX}_template",
        )
        return self.url(f"run{index}")

    def cleanup(self) -> None:
        self._execute(*(f"DROP DATABASE IF EXISTS {PG_PREFIX}_run{i} WITH (FORCE)" for i in (0, 1)))


# --- The run -----------------------------------------------------------------------------------


def measure(target: Any, packages: Path, repeat: int) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {}

    def keep(name: str, result: dict[str, Any]) -> None:
        runs.setdefault(name, []).append(result)
        rate = result["people"] / result["seconds"] if result["seconds"] else 0.0
        print(
            f"  {target.name} {name:<18} {result['seconds']:7.2f} s {rate:>12,.0f} people/s "
            f"{result.get('peak_mib', 0):7.0f} MiB",
            flush=True,
        )

    for _ in range(repeat):
        db = target.fresh(0)
        keep("full", spawn("import", db, str(packages / "full"), "write"))
        other = target.fresh(1)
        keep("ceiling", spawn("ceiling", other, db, "registry"))
        other = target.fresh(1)
        keep("ceiling + history", spawn("ceiling", other, db, "history"))
        keep("unchanged", spawn("import", db, str(packages / "full"), "write"))
        keep("10% changed", spawn("import", db, str(packages / "changed"), "write"))
        db = target.fresh(0)
        keep("xlsx dry run", spawn("import", db, str(packages / "full.xlsx"), "dry"))
        keep("xlsx import", spawn("import", db, str(packages / "small.xlsx"), "write"))
    target.cleanup()
    return runs


def report(name: str, runs: dict[str, list[dict[str, Any]]]) -> bool:
    def median(key: str, field: str = "seconds") -> float:
        return statistics.median(r[field] for r in runs[key])

    ceiling_rate = runs["ceiling"][0]["people"] / median("ceiling")
    print(f"\n{name}: medians over {len(runs['full'])} run(s)")
    header = (
        f"{'run':<19} {'seconds':>17} {'people/s':>11} {'vs ceiling':>10} {'target':>14} "
        f"{'':>4} {'peak MiB':>9}"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for key, values in runs.items():
        seconds = [r["seconds"] for r in values]
        rate = values[0]["people"] / statistics.median(seconds)
        ratio = rate / ceiling_rate
        peak = statistics.median(r.get("peak_mib", 0.0) for r in values)
        if key in TARGETS:
            target = f"≥ {TARGETS[key]:.0%} ceiling"
            good = ratio >= TARGETS[key] and peak <= PEAK_TARGET_MIB
        elif key == "xlsx dry run":
            target = f"≥ {XLSX_TARGET:,}/s"
            good = rate >= XLSX_TARGET and peak <= PEAK_TARGET_MIB
        elif key.startswith("ceiling"):
            target, good = "", True
        else:
            target, good = f"≤ {PEAK_TARGET_MIB} MiB", peak <= PEAK_TARGET_MIB
        ok &= good
        print(
            f"{key:<19} {statistics.median(seconds):>6.2f} ({min(seconds):.2f}–{max(seconds):.2f}) "
            f"{rate:>11,.0f} {ratio:>9.0%} {target:>14} {'' if not target else ('ok' if good else 'MISS'):>4} "
            f"{peak:>9.0f}"
        )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=350_000)
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--xlsx-households", type=int, default=50_000)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "FUPIN_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
        ),
        help="a database of the server to create the benchmark's databases from",
    )
    parser.add_argument(
        "--prepare-only", action="store_true", help="make the packages and templates, then stop"
    )
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    if args.households < 1 or args.repeat < 1 or not set(databases) <= {"sqlite", "postgres"}:
        parser.error("--households and --repeat at least 1; --databases from sqlite, postgres")

    packages = DATA / f"packages-{args.households}-{args.seed}-{args.xlsx_households}"
    if not (packages / "READY").exists():
        print(f"Preparing the demo city and its packages in {packages} …", flush=True)
        source = DATA / "source"
        source.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(packages, ignore_errors=True)
        spawn(
            "source",
            str(source),
            str(args.households),
            str(args.seed),
            str(packages),
            str(args.xlsx_households),
        )
    people = json.loads((packages / "READY").read_text())["people"]
    print(f"Packages: {args.households:,} households, {people:,} people ({packages}).")
    print("Load average before: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    ok = True
    for name in databases:
        target: Any = SqliteTarget() if name == "sqlite" else PostgresTarget(args.postgres_url)
        target.prepare(packages)
        if args.prepare_only:
            continue
        runs = measure(target, packages, args.repeat)
        ok &= report(name, runs)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nLoad average now: {load} on {os.cpu_count()} CPUs.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
