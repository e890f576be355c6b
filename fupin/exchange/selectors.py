"""Reads of exchange jobs: the jobs an actor may see, and a job's progress, report and error in
the reader's language."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from fupin.exchange.access import visible_jobs_q
from fupin.exchange.import_issues import UNREADABLE_MESSAGES, Issue, PackageUnreadable
from fupin.exchange.models import Job

# Why a job failed, beside the unreadable-package reasons of import_issues.
JOB_ERROR_MESSAGES: dict[str, Any] = {
    "internal": _(
        "An unexpected error stopped the job. It has been logged: give the administrator the "
        "job number."
    ),
    "worker_lost": _("The worker running this job stopped several times; it is not retried."),
    "file_missing": _("The uploaded file is no longer on the server; upload it again."),
    "export_failed": _("The export could not be made."),
    "permission": _("Your role may not do this."),
}
# Errors whose detail is meant for the person who asked (the others' detail is for the log).
_SHOWN_DETAIL = frozenset({"export_failed", "permission"})

STAGE_LABELS: dict[str, Any] = {
    "households": _("households"),
    "members": _("members"),
    "read": _("reading the package"),
    "validate": _("checking"),
    "compare": _("comparing with the registry"),
    "write": _("writing"),
    "apply": _("writing"),
}


def job_list(*, actor: Any, kind: str = "") -> QuerySet[Job]:
    """The jobs the actor may see (their own; for administrators also those acting in their
    subtree), newest first, without their reports."""
    jobs = Job.objects.filter(visible_jobs_q(actor)).defer("report").select_related("created_by")
    if kind:
        jobs = jobs.filter(kind=kind)
    return jobs.order_by("-created_at", "-id")


def data_file(relative: str) -> Path | None:
    """A job's file under the data folder, if it is recorded and still there."""
    if not relative:
        return None
    path = Path(settings.DATA_DIR) / relative
    return path if path.is_file() else None


def error_workbook_name(job: Job) -> str:
    """The error workbook's download name: the upload's name with 错误 (errors) added."""
    stem = job.file_name.split(" + ")[0].rsplit(".", 1)[0] or "import"
    return f"{stem}-错误.xlsx"


@dataclass(frozen=True)
class ProgressView:
    stage: str
    stage_label: str
    done: int
    total: int

    @property
    def percent(self) -> int | None:
        if self.total <= 0:
            return None
        return min(100, max(0, round(100 * self.done / self.total)))


def job_progress(job: Job) -> ProgressView:
    label = STAGE_LABELS.get(job.stage)
    return ProgressView(
        stage=job.stage,
        stage_label=str(label) if label is not None else job.stage,
        done=job.progress_done,
        total=job.progress_total,
    )


def job_error_text(job: Job, language: str | None = None) -> str:
    """Why the job failed, in ``language`` (the active one by default); "" when it did not."""
    error = job.error or {}
    code = str(error.get("code", ""))
    if not code:
        return ""
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    detail = str(error.get("detail", ""))
    if code in UNREADABLE_MESSAGES:
        return PackageUnreadable(code, detail, file=str(error.get("file", ""))).message(language)
    with translation.override(language):
        text = str(JOB_ERROR_MESSAGES.get(code, code))
    if code in _SHOWN_DETAIL and detail:
        text = f"{text} {detail}"
    return text


def localised_issues(entries: list[dict[str, Any]], language: str) -> list[dict[str, Any]]:
    """Report entries (stored with Chinese messages and their ``detail``) in ``language``, in the
    §6 shape: sheet, row, column, code, message and value where there is one."""
    out = []
    for entry in entries:
        issue = Issue(
            sheet=str(entry.get("sheet", "")),
            row=int(entry.get("row") or 0),
            column=str(entry.get("column", "")),
            code=str(entry.get("code", "")),
            value=str(entry.get("value", "") or ""),
            detail=str(entry.get("detail", "") or ""),
        )
        if issue.detail or language != "zh-hans":
            shown = issue.as_json(language)
        else:
            shown = {k: v for k, v in entry.items() if k != "detail"}
        out.append(shown)
    return out


def job_report(job: Job, language: str | None = None) -> dict[str, Any] | None:
    """The import's report in the §6 shape with messages in ``language``; for an export, its
    counts. None before the job is done."""
    if job.report is None:
        return None
    report = dict(job.report)
    if job.kind != Job.Kind.IMPORT:
        return report
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    for key in ("errors", "warnings"):
        report[key] = localised_issues(list(report.get(key) or []), language)
    return report


@dataclass(frozen=True)
class ReportPage:
    """An import's report for the screen: the counts, and one page each of errors and warnings
    (only those messages are made in the reader's language, so 10,000 errors stay quick)."""

    report: dict[str, Any]
    errors: Page[dict[str, Any]]
    warnings: Page[dict[str, Any]]


def import_report_page(
    job: Job, *, language: str, page: Any = 1, warnings_page: Any = 1, per_page: int = 50
) -> ReportPage | None:
    if job.kind != Job.Kind.IMPORT or job.report is None:
        return None
    pages = []
    for key, number in (("errors", page), ("warnings", warnings_page)):
        shown = Paginator(list(job.report.get(key) or []), per_page).get_page(number)
        shown.object_list = localised_issues(list(shown.object_list), language)
        pages.append(shown)
    return ReportPage(report=job.report, errors=pages[0], warnings=pages[1])
