"""Speed and memory of the registry export (exchange-format §8) at city scale.

    .venv/bin/python bench/bench_export.py [--households 350000] [--repeat 3] [--seed 2016]
        [--formats csv,zip,xlsx] [--database-url postgres://postgres@127.0.0.1:5432/fupin_bench_export]

Exports the whole registry (about 1,000,000 people at 350,000 households) as the operator on the
command line does: unmasked, every household with its latest record and its active members.
Each export runs in a child process of its own, so the peak memory printed (maximum resident set
size) is that export's alone; the time is the export's own, without Python and Django start-up.

- SQLite (default): its own database in bench/.data/export/ (ignored by git), generated once
  with the demo generator and reused while the household count and seed match.
- PostgreSQL: ``--database-url`` names a database of its own, e.g. after
  ``createdb -h 127.0.0.1 -U postgres fupin_bench_export``; migrated and generated the same way.

Formats: ``csv`` (a folder with households.csv and members.csv), ``zip`` (the two CSV files in a
ZIP) and ``xlsx``. Targets: CSV ≥ 150,000 people per second, XLSX ≥ 40,000. A baseline measured
in the same run, streaming every active member row with raw SQL (``SELECT *``; COPY on
PostgreSQL), shows how fast the database alone delivers the people; the ratio export/baseline
carries over between machines better than the absolute figures do. The load average is printed
before and after: other work on the machine slows every figure.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data"
TARGETS = {"csv": 150_000, "zip": 150_000, "xlsx": 40_000}
SUFFIX = {"csv": "", "zip": ".zip", "xlsx": ".xlsx"}


def setup_django(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "fupin.settings"
    os.environ.setdefault("FUPIN_LOG_LEVEL", "WARNING")
    if database_url:
        os.environ["DATABASE_URL"] = database_url
        os.environ["FUPIN_DATA_DIR"] = str(DATA / "export-pg")
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["FUPIN_DATA_DIR"] = str(DATA / "export")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare(households: int, seed: int) -> None:
    """Migrate and generate the demo city unless the database holds it already."""
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


def baseline() -> tuple[int, float]:
    """Seconds to stream every active member row, all columns, the database's fastest raw way
    (SQLite: fetched rows, text as bytes; PostgreSQL: COPY), and how many there are."""
    from django.db import connection

    from fupin.registry.models import Member

    table = connection.ops.quote_name(Member._meta.db_table)
    query = "SELECT * FROM " + table + " WHERE is_active"
    started = time.perf_counter()
    rows = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy("COPY (" + query + ") TO STDOUT") as copy:
                for _row in copy:
                    rows += 1
        else:
            connection.connection.text_factory = bytes
            cursor.execute(query)
            while chunk := cursor.fetchmany(5000):
                rows += len(chunk)
            connection.connection.text_factory = str
    return rows, time.perf_counter() - started


def peak_memory_kib() -> int:
    """This process's peak resident memory (VmHWM: since its exec, unlike ru_maxrss, which
    keeps the parent's peak across exec)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def one(fmt: str, target: Path) -> None:
    """The child: one export, its figures as JSON on the last line of stdout."""
    from fupin.exchange.exporting import export_registry

    started, cpu = time.perf_counter(), time.process_time()
    result = export_registry(target, actor=None, fmt="xlsx" if fmt == "xlsx" else "csv")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    size = sum(f.stat().st_size for f in result.files)
    peak_kib = peak_memory_kib()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "households": result.households,
                "members": result.members,
                "bytes": size,
                "peak_mib": peak_kib / 1024,
            }
        )
    )


def measure(
    fmt: str, repeat: int, args: argparse.Namespace, scratch: Path
) -> list[dict[str, float]]:
    runs = []
    for _ in range(repeat):
        target = scratch / f"export{SUFFIX[fmt]}"
        command = [sys.executable, __file__, "--child", fmt, str(target)]
        if args.database_url:
            command += ["--database-url", args.database_url]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"{fmt}: the export failed")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=350_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--formats", default="csv,zip,xlsx")
    parser.add_argument("--database-url", default="", help="PostgreSQL (default: SQLite)")
    parser.add_argument("--child", nargs=2, metavar=("FORMAT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    setup_django(args.database_url)
    if args.child:
        one(args.child[0], Path(args.child[1]))
        return 0
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    if args.households < 1 or args.repeat < 1 or not set(formats) <= set(TARGETS):
        parser.error("--households and --repeat at least 1; --formats from csv, zip, xlsx")

    from django.db import connection

    prepare(args.households, args.seed)
    print("Load average before: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    people, base_seconds = baseline()
    print(
        f"Database: {connection.vendor}, {args.households:,} households, {people:,} people. "
        f"Baseline (raw stream of the active members' rows): {base_seconds:.2f} s, "
        f"{people / base_seconds:,.0f} people/s."
    )
    print(f"\nWhole-registry export, {args.repeat} run(s) each (median; min–max in brackets).\n")
    header = (
        f"{'format':<7} {'seconds':>17} {'people/s':>10} {'target':>9} {'':>5} "
        f"{'vs baseline':>11} {'cpu s':>6} {'peak MiB':>9} {'size MiB':>9}"
    )
    print(header)
    print("-" * len(header))
    failed = False
    with tempfile.TemporaryDirectory(dir=DATA) as scratch:
        for fmt in formats:
            runs = measure(fmt, args.repeat, args, Path(scratch))
            seconds = [r["seconds"] for r in runs]
            median = statistics.median(seconds)
            members = runs[0]["members"]
            rate = members / median
            ok = rate >= TARGETS[fmt]
            failed |= not ok
            print(
                f"{fmt:<7} {median:>6.2f} ({min(seconds):.2f}–{max(seconds):.2f}) "
                f"{rate:>10,.0f} {TARGETS[fmt]:>9,} {'ok' if ok else 'SLOW':>5} "
                f"{median / base_seconds:>10.1f}× "
                f"{statistics.median(r['cpu'] for r in runs):>6.1f} "
                f"{statistics.median(r['peak_mib'] for r in runs):>9.0f} "
                f"{runs[0]['bytes'] / 2**20:>9.1f}",
                flush=True,
            )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nLoad average now: {load} on {os.cpu_count()} CPUs (other work on the machine slows "
        "the figures; cpu s is this process's own CPU time, the database server's not included)."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
