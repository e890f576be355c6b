"""Helpers shared by the job, page, API and browser tests of the exchange jobs."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError

from fupin.exchange.jobs import Worker
from fupin.exchange.models import Job


def upload(name: str, content: bytes = b"PK\x03\x04 not really a workbook") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def run_queued_jobs() -> int:
    """Run every queued job here and now, as ``fupin run-jobs --once`` does."""
    return Worker(tag="test").run(drain=True)


def data_path(relative: str) -> Path:
    return Path(settings.DATA_DIR) / relative


def wait_for(check: Callable[[], Any], timeout: float = 20.0, step: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy. On SQLite's shared in-memory test
    database another thread's write can make a read fail for a moment: that is retried."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except OperationalError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(step)


def issue(n: int, code: str = "required", **extra: Any) -> dict[str, Any]:
    return {
        "sheet": "成员信息",
        "row": n + 2,
        "column": "姓名",
        "code": code,
        "message": f"msg-{n}",
        **extra,
    }


def finished_import(job: Job, *, errors: int = 0, warnings: int = 0, workbook: bool = True) -> Job:
    """Mark an import job done with a report of ``errors`` errors, as the worker stores it (the
    import engine's own behaviour is tested with the engine)."""
    report = {
        "ok": errors == 0,
        "mode": job.params.get("mode", "strict"),
        "dry_run": bool(job.params.get("dry_run")),
        "encoding": "xlsx",
        "households": {"created": 3, "updated": 1, "unchanged": 0, "rejected": 1 if errors else 0},
        "members": {"created": 7, "updated": 0, "unchanged": 0, "left": 0, "rejected": errors},
        "errors": [issue(n) for n in range(errors)],
        "warnings": [issue(n, "unknown_column") for n in range(warnings)],
    }
    fields: dict[str, Any] = {"status": Job.Status.DONE, "report": report}
    if workbook and errors:
        relative = f"uploads/{job.public_id}/errors.xlsx"
        path = data_path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"PK\x03\x04 error workbook")
        fields["error_workbook_path"] = relative
    Job.objects.filter(pk=job.pk).update(**fields)
    job.refresh_from_db()
    return job


def finished_export(job: Job) -> Job:
    """Mark an export job done with a file, as the worker stores it."""
    relative = f"exports/{job.public_id}/export.xlsx"
    path = data_path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PK\x03\x04 export")
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.DONE,
        result_path=relative,
        report={"households": 1, "members": 2},
    )
    job.refresh_from_db()
    return job
