"""Run the whole test suite on SQLite, then on PostgreSQL when one is reachable.

PostgreSQL: FUPIN_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
Prints which databases ran and a closing line ``total: N passed, N failed``.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/test"
SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected)")


def postgres_reachable(url: str) -> str:
    try:
        import psycopg

        with psycopg.connect(url.replace("postgres://", "postgresql://", 1), connect_timeout=3):
            return ""
    except Exception as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def run_suite(label: str, env: dict[str, str], extra: list[str]) -> tuple[int, dict[str, int]]:
    print(f"\n=== Test suite on {label} ===", flush=True)
    cmd = [str(BIN / "pytest"), "-q", "-p", "no:cacheprovider", *extra]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    last = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        if SUMMARY.search(line) and (" in " in line or line.startswith("=")):
            last = line
    rc = proc.wait()
    counts: dict[str, int] = {}
    for number, word in SUMMARY.findall(last):
        key = "errors" if word.startswith("error") else word
        counts[key] = counts.get(key, 0) + int(number)
    return rc, counts


def main() -> int:
    extra = sys.argv[1:]
    base_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    results: list[tuple[str, int, dict[str, int]]] = []
    rc, counts = run_suite("SQLite", base_env, extra)
    results.append(("SQLite", rc, counts))
    pg_url = os.environ.get("FUPIN_TEST_DATABASE_URL", DEFAULT_PG)
    reason = postgres_reachable(pg_url)
    if reason:
        print(f"\nPostgreSQL not reachable at {pg_url} ({reason}): PostgreSQL pass skipped.")
    else:
        rc, counts = run_suite("PostgreSQL", {**base_env, "DATABASE_URL": pg_url}, extra)
        results.append(("PostgreSQL", rc, counts))
    print("\n=== Summary ===")
    passed = failed = 0
    for label, code, c in results:
        bad = (
            c.get("failed", 0)
            + c.get("errors", 0)
            + (1 if code not in (0,) and not c.get("failed") else 0)
        )
        print(
            f"{label}: {c.get('passed', 0)} passed, {c.get('failed', 0)} failed, "
            f"{c.get('errors', 0)} errors, {c.get('skipped', 0)} skipped (exit {code})"
        )
        passed += c.get("passed", 0)
        failed += bad
    print(f"Databases run: {', '.join(label for label, _, _ in results)}")
    print(f"total: {passed} passed, {failed} failed")
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
