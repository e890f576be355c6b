"""The job queue (fupin.exchange.jobs): claims, heartbeats, stale jobs, failures, workers.

The last tests run real worker processes on a database of their own and kill them."""

import datetime as dt
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from fupin.core.models import AuditEvent
from fupin.exchange import jobs, services
from fupin.exchange.exporting import ExportError
from fupin.exchange.jobs import (
    JobFailed,
    Worker,
    claim_next,
    claimer_state,
    requeue_stale,
    run_job,
    worker_identity,
)
from fupin.exchange.models import Job
from fupin.exchange.selectors import job_error_text
from fupin.exchange.services import export_job_create
from fupin.exchange.tests.job_helpers import data_path, run_queued_jobs, wait_for

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _own_data_folder(settings, tmp_path):
    settings.JOBS_AUTOSTART = False
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


@pytest.fixture
def admin(personas):
    return personas["county_admin"]


def export_job(actor, **kwargs) -> Job:
    return export_job_create(actor=actor, **kwargs)


def running(job: Job, claimed_by: str, *, silent: float = 0, attempts: int = 1) -> Job:
    """Put a job in the state a worker that claimed it ``silent`` seconds ago leaves it."""
    at = timezone.now() - dt.timedelta(seconds=silent)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        claimed_by=claimed_by,
        claimed_at=at,
        heartbeat_at=at,
        attempts=attempts,
    )
    job.refresh_from_db()
    return job


def dead_local_identity() -> str:
    """The identity of a worker process of this machine that has exited."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return f"{jobs._HOST}:{process.pid}:1:dead"


# --- Claims ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_claim_takes_the_oldest_queued_job_and_each_job_once(admin):
    first = export_job(admin)
    second = export_job(admin, fmt="csv")
    a = claim_next("host:1:1:a")
    b = claim_next("host:2:1:b")
    assert a is not None and b is not None
    assert (a.pk, b.pk) == (first.pk, second.pk)
    assert claim_next("host:3:1:c") is None
    a.refresh_from_db()
    assert a.status == Job.Status.RUNNING and a.claimed_by == "host:1:1:a"
    assert a.attempts == 1 and a.claimed_at is not None and a.heartbeat_at is not None


@pytest.mark.django_db
def test_a_job_another_worker_claimed_first_is_skipped(admin, monkeypatch):
    job = export_job(admin)
    update = QuerySet.update
    raced: list[Job | None] = []

    def racing_update(self, **kwargs):
        # Worker B claims the job between A's read of the queue and A's conditional UPDATE.
        if not raced:
            raced.append(None)
            raced[0] = claim_next("host:2:1:b")
        return update(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", racing_update)
    assert claim_next("host:1:1:a") is None
    assert raced[0] is not None and raced[0].pk == job.pk
    job.refresh_from_db()
    assert job.claimed_by == "host:2:1:b" and job.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_workers_racing_on_threads_claim_every_job_exactly_once(admin):
    created = {export_job(admin).pk for _ in range(12)}
    claims: list[tuple[int, str]] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        try:
            while True:
                try:
                    job = claim_next(name)
                except Exception:  # SQLite's shared test database: "table is locked", retried
                    time.sleep(0.001)
                    continue
                if job is None:
                    return
                with lock:
                    claims.append((job.pk, name))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(f"host:{n}:1:w",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(pk for pk, _ in claims) == sorted(created)
    assert Job.objects.filter(status=Job.Status.RUNNING, attempts=1).count() == 12
    owners = dict(Job.objects.values_list("pk", "claimed_by"))
    assert all(owners[pk] == name for pk, name in claims)


# --- Stale jobs --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_job_of_another_machine_is_requeued_once_its_heartbeat_is_stale(admin, settings):
    settings.JOB_STALE_SECONDS = 30
    fresh = running(export_job(admin), "elsewhere:10:1:a", silent=10)
    stale = running(export_job(admin), "elsewhere:11:1:b", silent=31)
    assert requeue_stale() == 1
    fresh.refresh_from_db()
    stale.refresh_from_db()
    assert fresh.status == Job.Status.RUNNING
    assert stale.status == Job.Status.QUEUED and stale.claimed_by == ""
    assert stale.heartbeat_at is None and stale.attempts == 1


@pytest.mark.django_db
def test_a_job_whose_local_worker_died_is_requeued_at_once(admin):
    job = running(export_job(admin), dead_local_identity(), silent=0)
    assert claimer_state(job.claimed_by) == "dead"
    assert requeue_stale() == 1
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED


@pytest.mark.django_db
def test_a_live_local_worker_is_trusted_until_it_looks_hung(admin, settings):
    # On SQLite a live worker's heartbeat waits while a long import holds the write lock.
    settings.JOB_STALE_SECONDS = 30
    me = worker_identity("me")
    assert claimer_state(me) == "alive"
    job = running(export_job(admin), me, silent=31)
    assert requeue_stale() == 0
    job = running(job, me, silent=30 * jobs.LOCAL_HUNG_FACTOR + 1)
    assert requeue_stale() == 1


def test_claimer_state_of_unknown_shapes():
    assert claimer_state("") == "unknown"
    assert claimer_state("other-host:1:1:x") == "unknown"
    assert claimer_state(f"{jobs._HOST}:not-a-pid:1:x") == "unknown"
    # The same pid with another start time is another process: the claimer is gone.
    assert claimer_state(f"{jobs._HOST}:{os.getpid()}:1:x") in {"dead", "alive"}
    if Path(f"/proc/{os.getpid()}/stat").exists():
        assert claimer_state(f"{jobs._HOST}:{os.getpid()}:1:x") == "dead"


@pytest.mark.django_db
def test_a_job_whose_workers_keep_dying_fails_instead_of_looping(admin, caplog):
    job = running(export_job(admin), dead_local_identity(), attempts=jobs.MAX_ATTEMPTS)
    with caplog.at_level(logging.WARNING, logger="fupin.exchange.jobs"):
        assert requeue_stale() == 1
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.finished_at is not None
    assert job.error is not None and job.error["code"] == "worker_lost"
    assert job_error_text(job)


# --- Running -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_worker_once_runs_an_export_to_the_end(admin, household_a1, household_b1):
    job = export_job(admin, fmt="xlsx")
    assert run_queued_jobs() == 1
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.error is None
    assert job.report == {"households": 2, "members": 3}
    assert job.finished_at is not None and job.attempts == 1
    assert job.stage == "members" and job.progress_done == job.progress_total == 3
    path = data_path(job.result_path)
    assert path.is_file() and path.suffix == ".xlsx"
    assert path.stat().st_mode & 0o077 == 0
    event = AuditEvent.objects.get(action="export")
    assert event.source == AuditEvent.Source.WEB
    assert event.source_detail == {"job": str(job.public_id)}
    assert event.actor_id == admin.pk


@pytest.mark.django_db
def test_run_jobs_command_once_reports_how_many_ran(admin, household_a1, capsys):
    export_job(admin, fmt="csv")
    export_job(admin, fmt="xlsx", division_code="371502001201")
    call_command("run_jobs", "--once")
    assert "2 job(s) run" in capsys.readouterr().out
    assert set(Job.objects.values_list("status", flat=True)) == {Job.Status.DONE}
    assert sorted(Path(j.result_path).suffix for j in Job.objects.all()) == [".xlsx", ".zip"]


@pytest.mark.django_db
def test_a_failure_is_stored_with_a_message_for_the_person_who_asked(admin, monkeypatch):
    def refuse(job, progress):
        raise JobFailed("export_failed", str(ExportError("行数过多 (too many rows)")))

    monkeypatch.setitem(services.JOB_RUNNERS, Job.Kind.EXPORT, refuse)
    job = export_job(admin)
    run_queued_jobs()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.finished_at is not None
    assert job.error == {"code": "export_failed", "detail": "行数过多 (too many rows)"}
    assert "行数过多" in job_error_text(job, "zh-hans")
    assert "行数过多" in job_error_text(job, "en")


@pytest.mark.django_db
def test_an_unexpected_error_is_logged_and_masked_in_the_job(admin, monkeypatch, caplog):
    def crash(job, progress):
        raise RuntimeError("boom near 371502197005170011 and 13812345678")

    monkeypatch.setitem(services.JOB_RUNNERS, Job.Kind.EXPORT, crash)
    job = export_job(admin)
    with caplog.at_level(logging.ERROR, logger="fupin.exchange.jobs"):
        run_queued_jobs()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.error is not None
    assert job.error["code"] == "internal"
    assert "371502197005170011" not in job.error["detail"]
    assert "13812345678" not in job.error["detail"]
    # The page shows a general message, not the exception.
    assert "boom" not in job_error_text(job)
    assert any("boom" in r.exc_text or "" for r in caplog.records if r.exc_text)


@pytest.mark.django_db
def test_a_stopping_worker_puts_its_job_back_in_the_queue(admin, household_a1):
    stop = threading.Event()
    job = export_job(admin)
    worker = Worker(tag="stopping", stop=stop)
    claimed = claim_next(worker.identity)
    assert claimed is not None
    stop.set()
    assert run_job(claimed, worker.identity, stop=stop) == Job.Status.QUEUED
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.attempts == 0 and job.claimed_by == ""
    assert not list(data_path("exports").glob(f"{job.public_id}/*"))
    assert run_queued_jobs() == 1
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.attempts == 1


@pytest.mark.django_db
def test_the_outcome_of_a_job_taken_back_meanwhile_is_dropped(admin, monkeypatch, caplog):
    def taken_back(job, progress):
        # Meanwhile the job was found stale and claimed by another worker.
        Job.objects.filter(pk=job.pk).update(claimed_by="elsewhere:1:1:other")
        return {"report": {"households": 0, "members": 0}}

    monkeypatch.setitem(services.JOB_RUNNERS, Job.Kind.EXPORT, taken_back)
    job = export_job(admin)
    with caplog.at_level(logging.WARNING, logger="fupin.exchange.jobs"):
        run_queued_jobs()
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.claimed_by == "elsewhere:1:1:other"
    assert job.report is None
    assert "outcome is dropped" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_writes_progress_while_the_job_runs(admin, monkeypatch):
    monkeypatch.setattr(jobs, "HEARTBEAT_SECONDS", 0.05)
    seen: dict[str, Any] = {}

    def slow(job, progress):
        progress("members", 5, 10)
        row = wait_for(
            lambda: (
                Job.objects.filter(pk=job.pk, progress_done=5)
                .values("stage", "progress_total", "heartbeat_at")
                .first()
            )
        )
        seen.update(row)
        return {"report": {"households": 0, "members": 0}}

    monkeypatch.setitem(services.JOB_RUNNERS, Job.Kind.EXPORT, slow)
    job = export_job(admin)
    run_queued_jobs()
    assert seen["stage"] == "members" and seen["progress_total"] == 10
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.heartbeat_at >= seen["heartbeat_at"]


@pytest.mark.django_db(transaction=True)
def test_queuing_a_job_starts_a_worker_thread_that_stops_when_idle(
    admin, household_a1, settings, monkeypatch
):
    settings.JOBS_AUTOSTART = True
    monkeypatch.setattr(jobs, "IDLE_EXIT_SECONDS", 0.2)
    job = export_job(admin)  # after commit: the thread starts
    thread = jobs._autostart_thread
    assert thread is not None
    wait_for(lambda: Job.objects.filter(pk=job.pk, status=Job.Status.DONE).exists())
    thread.join(timeout=20)
    assert not thread.is_alive() and jobs._autostart_thread is None
    # Off: nothing starts.
    settings.JOBS_AUTOSTART = False
    assert jobs.start_worker_thread() is False


# --- Real worker processes, killed ---------------------------------------------------------------


class OwnDatabase:
    """A database of its own for worker processes: a SQLite file in the data folder, or on the
    PostgreSQL pass a fresh PostgreSQL database."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
            "DJANGO_SETTINGS_MODULE": "fupin.settings",
            "FUPIN_DATA_DIR": str(folder),
            "FUPIN_SECRET_KEY": "kill-test-secret-key-that-is-long-enough-for-checks",
            "FUPIN_JOBS_AUTOSTART": "false",
            "FUPIN_JOB_STALE_SECONDS": "60",
            "PYTHONPATH": str(ROOT),
        }
        self.pg_name = ""
        if connection.vendor == "postgresql":
            import psycopg

            params = connection.settings_dict
            self.pg_name = f"{params['NAME']}_jobs_kill"[:63]
            self.pg = {
                "host": params["HOST"] or "127.0.0.1",
                "port": params["PORT"] or 5432,
                "user": params["USER"],
                "password": params["PASSWORD"] or None,
            }
            from psycopg import sql

            name = sql.Identifier(self.pg_name)
            with psycopg.connect(dbname="postgres", autocommit=True, **self.pg) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(name))
                admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
            password = f":{self.pg['password']}" if self.pg["password"] else ""
            self.env["DATABASE_URL"] = (
                f"postgres://{self.pg['user']}{password}@{self.pg['host']}:{self.pg['port']}/"
                f"{self.pg_name}"
            )

    def drop(self) -> None:
        if self.pg_name:
            import psycopg
            from psycopg import sql

            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            with psycopg.connect(dbname="postgres", autocommit=True, **self.pg) as admin:
                admin.execute(drop.format(sql.Identifier(self.pg_name)))

    def run(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "fupin.exchange.tests.worker_process", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "fupin.exchange.tests.worker_process", *args],
            cwd=ROOT,
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run_jobs_once(self) -> str:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "fupin"), "run-jobs", "--once"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def job(self, public_id: str) -> dict[str, Any]:
        query = (
            "SELECT status, attempts, claimed_by, result_path, progress_done, stage "
            "FROM exchange_job WHERE public_id = %s"
        )
        key = uuid.UUID(public_id)
        if self.pg_name:
            import psycopg

            with psycopg.connect(dbname=self.pg_name, **self.pg) as conn:
                row = conn.execute(query, (key,)).fetchone()
        else:
            # Django stores UUIDs on SQLite as 32 hex characters.
            with sqlite3.connect(self.folder / "fupin.sqlite3", timeout=20) as conn:
                row = conn.execute(query.replace("%s", "?"), (key.hex,)).fetchone()
        assert row is not None
        keys = ("status", "attempts", "claimed_by", "result_path", "progress_done", "stage")
        return dict(zip(keys, row, strict=True))


@pytest.fixture(scope="module")
def own_database(tmp_path_factory, django_db_blocker):
    # The worker processes never touch the test database; the PostgreSQL pass needs the test
    # connection's settings only. One database serves the tests below (each adds its own job).
    with django_db_blocker.unblock():
        database = OwnDatabase(tmp_path_factory.mktemp("workers") / "data")
        try:
            database.run("setup")
            yield database
        finally:
            database.drop()


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
    process.communicate()


def wait_until(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)
    return result


def test_a_job_whose_worker_was_killed_is_run_again_to_completion(own_database):
    job_id = own_database.run("add-job").strip()
    worker = own_database.start("slow-work", SLOW_SECONDS="1")
    try:
        wait_until(lambda: own_database.job(job_id)["status"] == "running")
        time.sleep(0.5)  # inside the export, between two progress reports
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=20)
    finally:
        stop(worker)
    killed = own_database.job(job_id)
    assert killed["status"] == "running" and killed["attempts"] == 1
    assert killed["claimed_by"].split(":")[1] == str(worker.pid)

    # The next worker sees the claimer is gone, queues the job again and runs it to the end.
    assert "1 job(s) run" in own_database.run_jobs_once()
    done = own_database.job(job_id)
    assert done["status"] == "done" and done["attempts"] == 2
    result = own_database.folder / done["result_path"]
    assert result.is_file() and result.suffix == ".zip"
    assert [p.name for p in result.parent.iterdir()] == [result.name]  # no half-written file


def test_a_worker_stopped_by_sigterm_puts_its_job_back_and_exits(own_database):
    job_id = own_database.run("add-job").strip()
    worker = own_database.start("slow-work", SLOW_SECONDS="1")
    try:
        wait_until(lambda: own_database.job(job_id)["status"] == "running")
        worker.send_signal(signal.SIGTERM)
        _out, err = worker.communicate(timeout=30)
    finally:
        stop(worker)
    assert worker.returncode == 0, err
    back = own_database.job(job_id)
    assert back["status"] == "queued" and back["attempts"] == 0
    assert "1 job(s) run" in own_database.run_jobs_once()
    assert own_database.job(job_id)["status"] == "done"
