"""Server time of the household list and detail at city scale (about 1,000,000 people).

    .venv/bin/python bench/bench_registry.py [--households 350000] [--repeat 30] [--seed 2016]

Uses its own SQLite database in bench/.data/ (generated once with the demo generator and reused
while the household count and seed match). Each page is requested in-process through Django's
test client, so the time is the server's: URL routing, middleware, session, queries, template or
serializer, without the network. A raw SQL baseline that fetches the same rows runs in the same
process and the same run, so the ratio page/baseline is comparable between machines.

Target: list and detail pages under 300 ms server time at 1,000,000 people.
"""

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench" / ".data"
TARGET_MS = 300.0


def setup_django() -> None:
    # The benchmark's own SQLite database, whatever the shell has configured.
    os.environ["FUPIN_DATA_DIR"] = str(DATA_DIR)
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "fupin.settings"
    os.environ["FUPIN_ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
    os.environ.setdefault("FUPIN_LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare(households: int, seed: int) -> float | None:
    """Migrate and generate the demo city unless the database holds it already; returns the
    generation time in seconds (None when reused)."""
    from django.core.management import call_command

    from fupin.registry.demo import demo_seed_of_database, generate_demo
    from fupin.registry.models import Household

    call_command("migrate", verbosity=0, interactive=False)
    if demo_seed_of_database() == (seed, households) and Household.objects.count() == households:
        print(f"Reusing {DATA_DIR / 'fupin.sqlite3'} (seed {seed}, {households:,} households).")
        return None
    print(f"Generating the demo city: {households:,} households, seed {seed} …")
    started = time.perf_counter()
    generate_demo(
        households=households, seed=seed, replace=True, progress=lambda s: print("  " + s)
    )
    seconds = time.perf_counter() - started
    print(f"Generation: {seconds:.1f} s for {households:,} households.")
    return seconds


def timings(call: Callable[[], Any], repeat: int) -> list[float]:
    call()  # warm-up: caches, compiled templates, the first session read
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def summary(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return statistics.median(ordered), p90, ordered[0]


class Baselines:
    """The raw SQL that fetches the same rows as each page (one page of 50, or one household)."""

    def __init__(self) -> None:
        from django.db import connection

        from fupin.divisions.models import Division
        from fupin.registry.models import Household, Member, YearlyRecord

        qn = connection.ops.quote_name
        self.connection = connection
        self.household = qn(Household._meta.db_table)
        self.division = qn(Division._meta.db_table)
        self.member = qn(Member._meta.db_table)
        self.record = qn(YearlyRecord._meta.db_table)
        # CROSS JOIN keeps the household table outer on SQLite, so a city-wide page walks the
        # household_no index instead of sorting every row; a village page is better the other way.
        self.list_sql = (
            f"SELECT h.id, h.household_no, h.head_name, h.phone, h.identified_year, h.category, "
            f"h.main_cause, h.status, h.exit_year, d.code, d.name "
            f"FROM {self.household} h {{join}} {self.division} d ON d.id = h.division_id "
            f"WHERE {{where}} ORDER BY h.household_no LIMIT 50"
        )

    def _fetch(self, sql: str, params: list[Any]) -> int:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return len(cursor.fetchall())

    def page(
        self, where: str = "1 = 1", params: list[Any] | None = None, *, city_wide: bool = True
    ) -> Callable[[], int]:
        sql = self.list_sql.format(where=where, join="CROSS JOIN" if city_wide else "JOIN")
        return lambda: self._fetch(sql, params or [])

    def detail(self, household_no: str) -> Callable[[], int]:
        def run() -> int:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT h.*, d.code, d.name, d.path FROM {self.household} h "
                    f"JOIN {self.division} d ON d.id = h.division_id WHERE h.household_no = %s",
                    [household_no],
                )
                row = cursor.fetchone()
                cursor.execute(
                    f"SELECT * FROM {self.member} WHERE household_id = %s ORDER BY id", [row[0]]
                )
                members = cursor.fetchall()
                cursor.execute(
                    f"SELECT * FROM {self.record} WHERE household_id = %s ORDER BY survey_year",
                    [row[0]],
                )
                return len(members) + len(cursor.fetchall())

        return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=350_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2016)
    args = parser.parse_args()
    if args.households < 1 or args.repeat < 1:
        parser.error("--households and --repeat must be at least 1")

    setup_django()
    from django.test import Client
    from django.urls import Resolver404, resolve

    from fupin.accounts.models import User
    from fupin.divisions.models import Division
    from fupin.registry.models import Household, Member

    generation = prepare(args.households, args.seed)
    households = Household.objects.count()
    people = Member.objects.filter(is_active=True).count()
    print(f"Database: {households:,} households, {people:,} people.")

    city_admin = User.objects.get(username="demo_city_admin")
    cadre = User.objects.get(username="demo_village_cadre")
    village = Division.objects.get(code=cadre.role_assignments.get().division.code)
    middle = Household.objects.order_by("household_no").values_list("household_no", "head_name")[
        households // 2
    ]
    sample_no, head_name = middle
    cadre_no = (
        Household.objects.filter(division=village)
        .order_by("household_no")
        .values_list("household_no", flat=True)
        .first()
    )
    base = Baselines()
    subtree = (village.path, village.path[:-1] + "0")
    in_village = "d.path >= %s AND d.path < %s"
    pages = [
        # (who, label, url, baseline)
        (city_admin, "list", "/households/", base.page()),
        (
            city_admin,
            "list filtered",
            "/households/?status=exited&main_cause=illness",
            base.page("h.status = %s AND h.main_cause = %s", ["exited", "illness"]),
        ),
        (
            city_admin,
            "list search",
            "/households/?" + urlencode({"q": head_name}),
            base.page("h.head_name LIKE %s", [f"%{head_name}%"]),
        ),
        (city_admin, "detail", f"/households/{sample_no}/", base.detail(sample_no)),
        (city_admin, "API list", "/api/v1/households/", base.page()),
        (city_admin, "API detail", f"/api/v1/households/{sample_no}", base.detail(sample_no)),
        (cadre, "list", "/households/", base.page(in_village, list(subtree), city_wide=False)),
        (
            cadre,
            "API list",
            "/api/v1/households/",
            base.page(in_village, list(subtree), city_wide=False),
        ),
    ]
    if cadre_no:
        pages.insert(7, (cadre, "detail", f"/households/{cadre_no}/", base.detail(cadre_no)))
        pages.append((cadre, "API detail", f"/api/v1/households/{cadre_no}", base.detail(cadre_no)))

    print(
        f"\nServer time in ms over {args.repeat} requests (median, p90, min); baseline = raw SQL "
        f"for the same rows, median.\nSearch term: {head_name!r}; detail: {sample_no} "
        f"(city), {cadre_no} (village {village.code} {village.name}).\n"
    )
    header = f"{'who':<13} {'page':<14} {'status':>6} {'median':>8} {'p90':>8} {'min':>8} {'baseline':>9} {'ratio':>7}  url"
    print(header)
    print("-" * len(header))
    failures = []
    clients: dict[int, Client] = {}
    for user, label, url, baseline in pages:
        who = "city admin" if user == city_admin else "village cadre"
        client = clients.get(user.pk)
        if client is None:
            client = clients[user.pk] = Client()
            client.force_login(user)
        path = url.split("?")[0]
        try:
            resolve(path)
        except Resolver404:
            print(f"{who:<13} {label:<14} {'not available':>33}  {url}")
            continue
        status = client.get(url).status_code
        if status == 404:
            print(f"{who:<13} {label:<14} {'not available':>33}  {url}")
            continue
        page_ms = timings(partial(client.get, url), args.repeat)
        base_ms = timings(baseline, args.repeat)
        median, p90, low = summary(page_ms)
        base_median = summary(base_ms)[0]
        ratio = median / base_median if base_median else float("inf")
        print(
            f"{who:<13} {label:<14} {status:>6} {median:>8.1f} {p90:>8.1f} {low:>8.1f} "
            f"{base_median:>9.2f} {ratio:>6.0f}x  {url}"
        )
        if status != 200 or median >= TARGET_MS:
            failures.append(f"{who} {label} ({status}, {median:.0f} ms)")

    print(
        f"\nTarget: list and detail < {TARGET_MS:.0f} ms server time at 1,000,000 people "
        f"(this run: {people:,} people)."
    )
    if generation is not None:
        print(
            f"Generation of {households:,} households took {generation:.1f} s (target: 350,000 in 180 s)."
        )
    print(
        "Result: "
        + (
            "all pages within the target."
            if not failures
            else "over target or failing: " + "; ".join(failures)
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
