"""A separate Fupin process for the worker-kill tests (run with ``python -m``), on its own
database given by the environment (FUPIN_DATA_DIR's SQLite file, or DATABASE_URL).

    setup      migrate, load the persona divisions, a city administrator and a few households
    add-job    queue an export job; prints its id
    slow-work  ``fupin run-jobs`` whose export jobs sleep SLOW_SECONDS at each progress report
"""

import os
import sys
import time
from typing import Any


def _setup() -> None:
    import tempfile
    from pathlib import Path

    from django.core.management import call_command

    from conftest import TREE
    from fupin.accounts.roles import Role
    from fupin.accounts.services import user_create
    from fupin.core.audit import ChangeSource
    from fupin.divisions.services import divisions_load_csv
    from fupin.registry.tests.factories import MemberDataFactory, register_household

    call_command("migrate", verbosity=0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "divisions.csv"
        path.write_text(TREE, encoding="utf-8")
        divisions_load_csv(path)
    admin = user_create(
        actor=None,
        source=ChangeSource.command("test"),
        username="city_admin",
        password="Persona-pass-2016",
        role=Role.CITY_ADMIN,
        division_code="371500000000",
        full_name="city_admin",
        unit="扶贫办",
        phone="13900000000",
    )
    for n in range(40):
        register_household(
            admin,
            household_no=f"K-{n:04d}",
            members=[MemberDataFactory(relation="head"), MemberDataFactory(relation="spouse")],
        )


def _add_job() -> None:
    from fupin.accounts.models import User
    from fupin.exchange.services import export_job_create

    job = export_job_create(actor=User.objects.get(username="city_admin"), fmt="csv")
    sys.stdout.write(f"{job.public_id}\n")


def _slow_work() -> None:
    from django.core.management import call_command

    from fupin.exchange import services
    from fupin.exchange.models import Job

    pause = float(os.environ.get("SLOW_SECONDS", "1"))
    original = services.JOB_RUNNERS[Job.Kind.EXPORT]

    def slow(job: Job, progress: Any) -> dict[str, Any]:
        def report(stage: str, done: int, total: int) -> None:
            progress(stage, done, total)
            time.sleep(pause)

        return original(job, report)

    services.JOB_RUNNERS[Job.Kind.EXPORT] = slow
    call_command("run_jobs", "--poll", "0.1")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fupin.settings")
    import django

    django.setup()
    {"setup": _setup, "add-job": _add_job, "slow-work": _slow_work}[sys.argv[1]]()


if __name__ == "__main__":
    main()
