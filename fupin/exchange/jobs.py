"""The job queue of imports and exports: the database is the queue, no broker needed.

- **Claim.** A worker takes a queued job with a conditional UPDATE (``… SET status='running',
  claimed_by=… WHERE id=… AND status='queued'``): on SQLite and PostgreSQL alike exactly one
  worker's UPDATE changes the row, so two workers never run the same job.
- **Heartbeat.** While a job runs, a thread with its own database connection writes the time and
  the progress every ``HEARTBEAT_SECONDS``. The job's own work never touches the job row, so on
  PostgreSQL the heartbeat never waits for the import's transaction.
- **Stale jobs.** A running job is queued again (and re-run: imports are idempotent and applied
  per unit, exports write their file under a temporary name) when its worker is gone: at once
  when the worker was a process of this machine that no longer exists, otherwise when its
  heartbeat is older than ``settings.JOB_STALE_SECONDS``. A live local worker is trusted for
  longer (``LOCAL_HUNG_FACTOR`` times), because on SQLite its heartbeat waits while a long import
  transaction holds the database's one write lock. A job whose workers died ``MAX_ATTEMPTS``
  times is failed instead of being retried for ever.
- **Workers.** ``fupin run-jobs`` runs a ``Worker`` loop; with ``settings.JOBS_AUTOSTART`` a web
  process that queues a job starts one worker thread if it has none (it stops after a while
  without work), so ``fupin runserver`` alone runs jobs.
- **Stopping.** A worker asked to stop interrupts its job at the job's next progress report and
  puts it back in the queue, so a restart never waits for a long import.
"""

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, connections
from django.db.models import F
from django.utils import timezone

from fupin.core.masking import scrub_text
from fupin.exchange.models import Job

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
MAX_ATTEMPTS = 3
LOCAL_HUNG_FACTOR = 10
IDLE_EXIT_SECONDS = 60.0

Progress = Callable[[str, int, int], None]


class JobFailed(Exception):  # noqa: N818 (an outcome, stored on the job)
    """A job that cannot be done for a reason the person who asked should read: ``code`` is a key
    of ``fupin.exchange.selectors.JOB_ERROR_MESSAGES`` or of the import's unreadable-package
    messages; ``detail`` is shown after the message."""

    def __init__(self, code: str, detail: str = "", **extra: str) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.extra = extra

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "detail": scrub_text(self.detail)[:2000], **self.extra}


class JobInterrupted(Exception):  # noqa: N818
    """Raised from a job's progress report when its worker is stopping: the job goes back to the
    queue."""


# --- Who is working ----------------------------------------------------------------------------

_HOST = socket.gethostname()


def _process_start(pid: int) -> str:
    """The process's start time (clock ticks since boot, Linux), so that a reused pid is not
    taken for the process that claimed a job; "" where /proc is missing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[-1].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):  # a zombie has finished running
        return "gone"
    return fields[19]


def worker_identity(tag: str = "") -> str:
    """``host:pid:process-start:tag``, stored in ``Job.claimed_by``."""
    pid = os.getpid()
    return f"{_HOST}:{pid}:{_process_start(pid)}:{tag or uuid.uuid4().hex[:8]}"


def claimer_state(claimed_by: str) -> str:
    """ "dead" when the claimer was a process of this machine that is gone, "alive" when it still
    runs, "unknown" for another machine's worker (only its heartbeat can tell)."""
    parts = claimed_by.split(":")
    if len(parts) < 4 or parts[0] != _HOST:
        return "unknown"
    try:
        pid = int(parts[1])
    except ValueError:
        return "unknown"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "dead"
    except PermissionError:
        pass  # it exists, under another user
    started = parts[2]
    if started and _process_start(pid) != started:
        return "dead"
    return "alive"


# --- The queue ---------------------------------------------------------------------------------


def claim_next(worker: str) -> Job | None:
    """Take the oldest queued job for ``worker``; None when there is none (or others took them
    all first)."""
    candidates = list(
        Job.objects.filter(status=Job.Status.QUEUED)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:10]
    )
    for pk in candidates:
        now = timezone.now()
        claimed = Job.objects.filter(pk=pk, status=Job.Status.QUEUED).update(
            status=Job.Status.RUNNING,
            claimed_by=worker,
            claimed_at=now,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
            stage="",
            progress_done=0,
            progress_total=0,
        )
        if claimed:
            return Job.objects.get(pk=pk)
    return None


def requeue_stale(now: datetime | None = None) -> int:
    """Queue again (or fail, after ``MAX_ATTEMPTS``) the running jobs whose worker is gone.
    Returns how many jobs it took back."""
    now = now or timezone.now()
    stale = timedelta(seconds=settings.JOB_STALE_SECONDS)
    taken = 0
    running = Job.objects.filter(status=Job.Status.RUNNING).values_list(
        "pk", "public_id", "claimed_by", "heartbeat_at", "claimed_at", "attempts"
    )
    for pk, public_id, claimed_by, heartbeat_at, claimed_at, attempts in running:
        silent = now - (heartbeat_at or claimed_at or now)
        state = claimer_state(claimed_by)
        if state == "alive":
            lost = silent > stale * LOCAL_HUNG_FACTOR
        else:
            lost = state == "dead" or silent > stale
        if not lost:
            continue
        mine = Job.objects.filter(pk=pk, status=Job.Status.RUNNING, claimed_by=claimed_by)
        if attempts >= MAX_ATTEMPTS:
            error = JobFailed("worker_lost", str(attempts)).as_json()
            changed = mine.update(status=Job.Status.FAILED, error=error, finished_at=now)
            if changed:
                logger.warning("job %s: its worker stopped %s times; failed", public_id, attempts)
        else:
            changed = mine.update(
                status=Job.Status.QUEUED,
                claimed_by="",
                claimed_at=None,
                heartbeat_at=None,
                stage="",
                progress_done=0,
                progress_total=0,
            )
            if changed:
                logger.warning("job %s: its worker stopped (%s); queued again", public_id, state)
        taken += changed
    return taken


# --- Running one job ---------------------------------------------------------------------------


class _Tracker:
    """The progress a job reports, kept in memory; the heartbeat thread writes it."""

    def __init__(self, stop: threading.Event | None) -> None:
        self._lock = threading.Lock()
        self._stop = stop
        self.stage = ""
        self.done = 0
        self.total = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self._stop is not None and self._stop.is_set():
            raise JobInterrupted
        with self._lock:
            self.stage, self.done, self.total = stage, int(done), int(total)

    def snapshot(self) -> tuple[str, int, int]:
        with self._lock:
            return self.stage[:40], self.done, self.total


class _Heartbeat(threading.Thread):
    """Writes the job's heartbeat and progress every ``HEARTBEAT_SECONDS`` on its own
    connection, until ``finished`` is set."""

    def __init__(self, job: Job, worker: str, tracker: _Tracker) -> None:
        super().__init__(name=f"job-heartbeat-{job.pk}", daemon=True)
        self.job_pk = job.pk
        self.worker = worker
        self.tracker = tracker
        self.finished = threading.Event()
        self.lost = False

    def run(self) -> None:
        try:
            while not self.finished.wait(HEARTBEAT_SECONDS):
                self.beat()
        finally:
            connections.close_all()

    def beat(self) -> None:
        stage, done, total = self.tracker.snapshot()
        try:
            if connection.vendor == "sqlite":
                # Give up quickly while an import holds the write lock; the next beat retries.
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA busy_timeout = 1000")
            changed = Job.objects.filter(
                pk=self.job_pk, status=Job.Status.RUNNING, claimed_by=self.worker
            ).update(
                heartbeat_at=timezone.now(),
                stage=stage,
                progress_done=done,
                progress_total=total,
            )
        except DatabaseError:
            logger.debug("job heartbeat skipped: the database is busy")
            return
        if not changed and not self.lost:
            self.lost = True
            logger.warning("job %s is no longer claimed by this worker", self.job_pk)


@dataclass
class _Outcome:
    status: str
    fields: dict[str, Any] = field(default_factory=dict)


def _execute(job: Job, tracker: _Tracker) -> _Outcome:
    from fupin.exchange.services import JOB_RUNNERS

    try:
        fields = JOB_RUNNERS[job.kind](job, tracker)
    except JobInterrupted:
        return _Outcome(Job.Status.QUEUED)
    except JobFailed as exc:
        return _Outcome(Job.Status.FAILED, {"error": exc.as_json()})
    except Exception as exc:
        # Logged with its traceback (the log filter masks personal data); the person who asked
        # sees a general message and the job's id.
        logger.exception("job %s failed", job.public_id)
        detail = f"{type(exc).__name__}: {exc}"
        return _Outcome(Job.Status.FAILED, {"error": JobFailed("internal", detail).as_json()})
    return _Outcome(Job.Status.DONE, fields)


def run_job(job: Job, worker: str, *, stop: threading.Event | None = None) -> str:
    """Run a job ``worker`` has claimed and store its outcome; returns the job's new status.

    The outcome is stored only while the job is still this worker's: a job taken back as stale
    (and perhaps claimed by another worker) keeps the other run's result."""
    tracker = _Tracker(stop)
    heartbeat = _Heartbeat(job, worker, tracker)
    heartbeat.start()
    try:
        outcome = _execute(job, tracker)
    finally:
        heartbeat.finished.set()
        heartbeat.join()
    stage, done, total = tracker.snapshot()
    now = timezone.now()
    mine = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, claimed_by=worker)
    if outcome.status == Job.Status.QUEUED:
        # Interrupted by a stopping worker: not an attempt that failed.
        changed = mine.update(
            status=Job.Status.QUEUED,
            claimed_by="",
            claimed_at=None,
            heartbeat_at=None,
            attempts=F("attempts") - 1,
            stage="",
            progress_done=0,
            progress_total=0,
        )
    else:
        changed = mine.update(
            status=outcome.status,
            finished_at=now,
            heartbeat_at=now,
            stage=stage,
            progress_done=done,
            progress_total=total,
            **outcome.fields,
        )
    if not changed:
        logger.warning("job %s was taken from this worker; its outcome is dropped", job.public_id)
    return outcome.status


# --- Workers -----------------------------------------------------------------------------------


def _refresh_connection() -> None:
    """Drop a broken or expired connection between jobs, as Django does between requests (never
    inside a transaction: a caller's, or a test's)."""
    if not connection.in_atomic_block:
        close_old_connections()


class Worker:
    """Claims and runs jobs one at a time until stopped (``fupin run-jobs``, or the thread a web
    process starts)."""

    def __init__(
        self, *, tag: str = "", poll: float = 2.0, stop: threading.Event | None = None
    ) -> None:
        self.identity = worker_identity(tag)
        self.poll = poll
        self.stop = stop or threading.Event()

    def run_once(self) -> bool:
        """Take back stale jobs, then claim and run one job. False when none was queued."""
        _refresh_connection()
        requeue_stale()
        job = claim_next(self.identity)
        if job is None:
            return False
        run_job(job, self.identity, stop=self.stop)
        return True

    def run(
        self,
        *,
        drain: bool = False,
        idle_exit: float | None = None,
        may_exit: Callable[[], bool] | None = None,
    ) -> int:
        """Work until stopped; with ``drain`` until the queue is empty; with ``idle_exit`` after
        that many seconds without work, when ``may_exit()`` agrees. Returns the jobs run."""
        ran = 0
        idle_since = time.monotonic()
        while not self.stop.is_set():
            try:
                worked = self.run_once()
            except DatabaseError:
                if drain:
                    raise
                # The database restarted or is unreachable: wait and try again.
                logger.exception("job worker: database error; retrying in %s s", self.poll)
                _refresh_connection()
                worked = False
            if worked:
                ran += 1
                idle_since = time.monotonic()
                continue
            if drain:
                break
            if (
                idle_exit is not None
                and time.monotonic() - idle_since >= idle_exit
                and (may_exit is None or may_exit())
            ):
                break
            self.stop.wait(self.poll)
        return ran


# --- The worker thread of a web process (JOBS_AUTOSTART) ---------------------------------------

_autostart_lock = threading.Lock()
_autostart_thread: threading.Thread | None = None


def start_worker_thread() -> bool:
    """Start a worker thread in this process when ``settings.JOBS_AUTOSTART`` is on and none is
    running. Called after a job is queued and when a page shows an unfinished job (so jobs left
    by a restarted server resume). Returns whether a thread was started."""
    global _autostart_thread  # noqa: PLW0603 (one worker thread per process)
    if not settings.JOBS_AUTOSTART:
        return False
    with _autostart_lock:
        if _autostart_thread is not None and _autostart_thread.is_alive():
            return False
        thread = threading.Thread(target=_autostart_main, name="fupin-jobs", daemon=True)
        _autostart_thread = thread
        thread.start()
    return True


def _may_exit() -> bool:
    """Under the lock that ``start_worker_thread`` takes: leave only when nothing is queued, so a
    job queued just now is either seen here or starts a new thread."""
    global _autostart_thread  # noqa: PLW0603
    with _autostart_lock:
        if Job.objects.filter(status=Job.Status.QUEUED).exists():
            return False
        if _autostart_thread is threading.current_thread():
            _autostart_thread = None
        return True


def _autostart_main() -> None:
    global _autostart_thread  # noqa: PLW0603
    try:
        Worker(tag="web").run(idle_exit=IDLE_EXIT_SECONDS, may_exit=_may_exit)
    except Exception:
        logger.exception("job worker thread stopped")
    finally:
        with _autostart_lock:
            if _autostart_thread is threading.current_thread():
                _autostart_thread = None
        connections.close_all()
