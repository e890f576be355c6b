"""Services of the exchange jobs: queue an import of an uploaded package or an export of the
actor's area, and run a queued job (called by the worker, ``fupin.exchange.jobs``).

Uploads are kept under ``DATA_DIR/uploads/<job id>/`` and exports written under
``DATA_DIR/exports/<job id>/``, readable by the server's user only (they hold personal data),
and served only through views that check access.
"""

import datetime as dt
import hashlib
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fupin.accounts.roles import EDITOR_ROLES
from fupin.accounts.scope import actor_scope
from fupin.core.audit import ChangeSource
from fupin.core.errors import PermissionDenied
from fupin.core.models import AuditEvent
from fupin.divisions.models import Division
from fupin.exchange.access import can_export, can_import, may_export_personal_data
from fupin.exchange.columns import HOUSEHOLD_CSV, MEMBER_CSV
from fupin.exchange.exporting import FORMATS, ExportError, common_path, export_registry
from fupin.exchange.jobs import JobFailed, Progress, start_worker_thread
from fupin.exchange.models import Job

MODES = ("strict", "partial")
SOURCES = ("web", "api")
PACKAGE_SUFFIXES = (".xlsx", ".zip")
CSV_PAIR = frozenset({HOUSEHOLD_CSV, MEMBER_CSV})
UPLOADS = "uploads"
EXPORTS = "exports"
ERROR_WORKBOOK = "errors.xlsx"
_CHUNK = 1 << 20

WRONG_FILES = _(
    "Upload one XLSX workbook, one ZIP holding households.csv and members.csv, or the two "
    "files households.csv and members.csv together."
)
IMPORT_DENIED = _("Your role may not import into the registry.")
EXPORT_DENIED = _("Your role may not export from the registry.")


def data_dir() -> Path:
    return Path(settings.DATA_DIR)


def upload_too_large_message() -> str:
    return str(
        _("The upload is larger than %(limit)s.")
        % {"limit": filesizeformat(settings.UPLOAD_MAX_BYTES)}
    )


# --- Queueing ----------------------------------------------------------------------------------


def import_job_create(
    *,
    actor: Any,
    files: Sequence[UploadedFile],
    mode: str = "strict",
    dry_run: bool = False,
    source: str = "web",
) -> Job:
    """Queue an import of an uploaded exchange package and keep the upload for the worker.

    ``files`` is one XLSX workbook or ZIP, or the two CSV files households.csv and members.csv
    (kept together as a folder package). Only roles that edit households may import
    (``PermissionDenied`` otherwise); the import engine checks each row against the actor's
    editing area when the job runs. Bad input raises ``ValidationError`` keyed by ``file`` or
    ``mode``. The worker starts after commit (``JOBS_AUTOSTART``)."""
    if not can_import(actor):
        raise PermissionDenied(str(IMPORT_DENIED))
    errors: dict[str, list[Any]] = {}
    if mode not in MODES:
        errors["mode"] = [_("Choose strict or partial.")]
    file_error = _check_upload(files)
    if file_error:
        errors["file"] = [file_error]
    if errors:
        raise ValidationError(errors)

    scope = actor_scope(actor)
    job = Job(
        kind=Job.Kind.IMPORT,
        created_by=actor,
        division_path=common_path(scope.paths(EDITOR_ROLES)),
        params={"mode": mode, "dry_run": bool(dry_run), "source": _source(source)},
    )
    folder = data_dir() / UPLOADS / str(job.public_id)
    try:
        job.file_path, job.file_sha256, job.file_size = _store_upload(folder, files)
        job.file_name = " + ".join(f.name or "" for f in files)[:255]
        with transaction.atomic():
            job.save()
            transaction.on_commit(start_worker_thread)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return job


def export_job_create(
    *,
    actor: Any,
    fmt: str = "xlsx",
    division_code: str = "",
    since: dt.datetime | None = None,
    year: int | None = None,
    masked: bool | None = None,
    source: str = "web",
) -> Job:
    """Queue an export (exchange-format §8) of the actor's area, or of ``division_code`` in it.

    ``masked`` None masks id numbers and phones unless the actor may see them in all of the
    exported area; False for an actor without that right is refused. A division missing or
    outside the area gets the same error. Bad input raises ``ValidationError`` keyed by
    ``format``, ``division``, ``year``, ``since`` or ``masked``."""
    if not can_export(actor):
        raise PermissionDenied(str(EXPORT_DENIED))
    errors: dict[str, list[Any]] = {}
    if fmt not in FORMATS:
        errors["format"] = [_("Choose xlsx or csv.")]
    if year is not None and not 2000 <= year <= 2100:
        errors["year"] = [_("Give a four-digit year between 2000 and 2100.")]
    if since is not None and timezone.is_naive(since):
        since = timezone.make_aware(since)
    if since is not None and since > timezone.now():
        errors["since"] = [_("The time is in the future.")]
    scope = actor_scope(actor)
    path = ""
    if division_code:
        found = Division.objects.filter(code=division_code).values_list("path", flat=True).first()
        if found is None or not scope.can_see(found):
            errors["division"] = [_("Unknown division, or outside your area.")]
        else:
            path = found
    if "division" not in errors:
        personal = may_export_personal_data(actor, path)
        if masked is None:
            masked = not personal
        elif not masked and not personal:
            errors["masked"] = [
                _("Your role may not export id numbers and phones unmasked for this area.")
            ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        job = Job.objects.create(
            kind=Job.Kind.EXPORT,
            created_by=actor,
            division_path=path or common_path(scope.paths()),
            params={
                "format": fmt,
                "division_code": division_code,
                "since": since.isoformat() if since else None,
                "year": year,
                "masked": bool(masked),
                "source": _source(source),
            },
        )
        transaction.on_commit(start_worker_thread)
    return job


def _source(source: str) -> str:
    return source if source in SOURCES else "web"


def _check_upload(files: Sequence[UploadedFile]) -> Any:
    """The problem with the uploaded files, or None."""
    if not files:
        return _("Choose the file to import.")
    names = [Path(f.name or "").name.lower() for f in files]
    if len(files) == 1:
        if not names[0].endswith(PACKAGE_SUFFIXES):
            return WRONG_FILES
    elif len(files) != 2 or set(names) != CSV_PAIR:
        return WRONG_FILES
    if any(not f.size for f in files):
        return _("The file is empty.")
    if sum(f.size or 0 for f in files) > settings.UPLOAD_MAX_BYTES:
        return upload_too_large_message()
    return None


def _store_upload(folder: Path, files: Sequence[UploadedFile]) -> tuple[str, str, int]:
    """Copy the upload into ``folder`` under safe names; its relative path, SHA-256 and size.

    One file is kept as ``package.xlsx`` or ``package.zip``; two CSV files as the folder package
    ``package/`` holding them, with the checksum of both in order (households, then members)."""
    folder.mkdir(mode=0o700, parents=True)
    digest = hashlib.sha256()
    size = 0
    if len(files) == 1:
        target = folder / ("package" + Path(files[0].name or "").suffix.lower())
        size += _copy(files[0], target, digest)
    else:
        target = folder / "package"
        target.mkdir(mode=0o700)
        by_name = {Path(f.name or "").name.lower(): f for f in files}
        for name in (HOUSEHOLD_CSV, MEMBER_CSV):
            size += _copy(by_name[name], target / name, digest)
    return str(target.relative_to(data_dir())), digest.hexdigest(), size


def _copy(upload: UploadedFile, target: Path, digest: Any) -> int:
    size = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        for chunk in upload.chunks(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return size


# --- Running (called by the worker) ------------------------------------------------------------


def import_job_execute(job: Job, progress: Progress) -> dict[str, Any]:
    """Run a queued import through the import engine; the job fields to store.

    The report is kept in the exchange-format §6 shape with Chinese messages, each entry with
    the ``detail`` its message was made with (so pages can show it in another language); the
    error workbook is written next to the upload when there are errors."""
    from fupin.exchange.import_issues import PackageUnreadable
    from fupin.exchange.importing import import_package
    from fupin.exchange.report import write_error_workbook

    package = data_dir() / job.file_path
    if not job.file_path or not package.exists():
        raise JobFailed("file_missing")
    try:
        report = import_package(
            package,
            actor=job.created_by,
            mode=job.params.get("mode", "strict"),
            dry_run=bool(job.params.get("dry_run")),
            progress=progress,
            file_name=job.file_name,
        )
    except PackageUnreadable as exc:
        raise JobFailed(exc.code, exc.detail, file=exc.file) from None
    except PermissionDenied as exc:
        raise JobFailed("permission", str(exc)) from None
    stored = _stored_report(report)
    fields: dict[str, Any] = {"report": stored}
    out = data_dir() / UPLOADS / str(job.public_id) / ERROR_WORKBOOK
    out.unlink(missing_ok=True)  # from an earlier, killed run
    if stored.get("errors"):
        write_error_workbook(report, package, out)
        out.chmod(0o600)
        fields["error_workbook_path"] = str(out.relative_to(data_dir()))
    return fields


def _stored_report(report: Any) -> dict[str, Any]:
    data: dict[str, Any] = dict(report.as_json("zh-hans"))
    for key in ("errors", "warnings"):
        issues = getattr(report, key, None)
        entries = data.get(key)
        if not isinstance(issues, list) or not isinstance(entries, list):
            continue
        for entry, issue in zip(entries, issues, strict=False):
            detail = getattr(issue, "detail", "")
            same_place = (entry.get("sheet"), entry.get("row"), entry.get("code")) == (
                getattr(issue, "sheet", None),
                getattr(issue, "row", None),
                getattr(issue, "code", None),
            )
            if detail and same_place:
                entry["detail"] = detail
    return data


def export_file_name(job: Job) -> str:
    """``fupin-export-<division or 'all'>-<local time>.xlsx|zip`` (CSV exports are a ZIP)."""
    when = timezone.localtime(job.created_at).strftime("%Y%m%d-%H%M%S")
    division = job.params.get("division_code") or "all"
    suffix = "xlsx" if job.params.get("format") == "xlsx" else "zip"
    return f"fupin-export-{division}-{when}.{suffix}"


def export_job_execute(job: Job, progress: Progress) -> dict[str, Any]:
    """Run a queued export through the export engine (audited there); the job fields to store."""
    params = job.params
    folder = data_dir() / EXPORTS / str(job.public_id)
    # A run again after a killed worker: drop what the killed run left half-written.
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700, parents=True)
    path = folder / export_file_name(job)
    since = params.get("since")
    kind = AuditEvent.Source.API if params.get("source") == "api" else AuditEvent.Source.WEB
    try:
        result = export_registry(
            path,
            actor=job.created_by,
            fmt=params.get("format", "xlsx"),
            division_code=params.get("division_code") or "",
            since=dt.datetime.fromisoformat(since) if since else None,
            year=params.get("year"),
            masked=bool(params.get("masked", True)),
            progress=progress,
            source=ChangeSource(kind, {"job": str(job.public_id)}),
        )
    except ExportError as exc:
        raise JobFailed("export_failed", str(exc)) from None
    except PermissionDenied as exc:
        raise JobFailed("permission", str(exc)) from None
    return {
        "result_path": str(path.relative_to(data_dir())),
        "report": {"households": result.households, "members": result.members},
    }


JOB_RUNNERS: dict[str, Callable[[Job, Progress], dict[str, Any]]] = {
    Job.Kind.IMPORT: import_job_execute,
    Job.Kind.EXPORT: export_job_execute,
}
