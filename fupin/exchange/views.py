"""Pages of the exchange: import and export forms, the jobs list, a job's page with its progress
(polled by htmx) and report, and the downloads.

Views stay thin: they parse input, call an access function, a selector or a service, and render.
A job that is missing or not the actor's answers 404; files are served only through these views.
"""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRefresh

from fupin.core.views import access_or_404, show_service_errors
from fupin.exchange.access import access_job_by_public_id, can_export, can_import
from fupin.exchange.forms import ExportForm, ImportForm, UploadLimitHandler
from fupin.exchange.jobs import start_worker_thread
from fupin.exchange.models import Job
from fupin.exchange.selectors import (
    data_file,
    error_workbook_name,
    import_report_page,
    job_error_text,
    job_list,
    job_progress,
)
from fupin.exchange.services import export_file_name, export_job_create, import_job_create

PAGE_SIZE = 50
ERRORS_PER_PAGE = 50


def _job(request: HttpRequest, job_id: Any, *, kind: str = "", with_report: bool = True) -> Job:
    return access_or_404(
        access_job_by_public_id, request.user, job_id, kind=kind, with_report=with_report
    )


@login_required
@require_GET
def job_list_view(request: HttpRequest) -> HttpResponse:
    page = Paginator(job_list(actor=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "jobs": [(job, job_progress(job)) for job in page.object_list],
        "can_import": can_import(request.user),
        "can_export": can_export(request.user),
    }
    return render(request, "exchange/job_list.html", context)


# The upload guard must be in place before the body is read, hence CSRF checked inside.
@csrf_exempt
@login_required
@require_http_methods(["GET", "POST"])
def import_view(request: HttpRequest) -> HttpResponse:
    if not can_import(request.user):
        raise PermissionDenied
    limit = UploadLimitHandler.install(request)
    return _import(request, limit)


@csrf_protect
def _import(request: HttpRequest, limit: UploadLimitHandler) -> HttpResponse:
    if request.method != "POST":
        form = ImportForm()
    else:
        form = ImportForm(request.POST, request.FILES, too_large=limit.exceeded)
        if form.is_valid():
            try:
                job = import_job_create(
                    actor=request.user,
                    files=form.cleaned_data["file"],
                    mode=form.cleaned_data["mode"],
                    dry_run=form.cleaned_data["dry_run"],
                    source="web",
                )
            except ValidationError as exc:
                show_service_errors(form, exc)
            else:
                return redirect("exchange:job-detail", job_id=job.public_id)
    return render(request, "exchange/import_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def export_view(request: HttpRequest) -> HttpResponse:
    if not can_export(request.user):
        raise PermissionDenied
    if request.method != "POST":
        form = ExportForm(actor=request.user)
    else:
        form = ExportForm(request.POST, actor=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                job = export_job_create(
                    actor=request.user,
                    fmt=data["format"],
                    division_code=data["division"] or "",
                    since=data["since"],
                    year=data["year"],
                    masked=True if form.masked_forced else data["masked"],
                    source="web",
                )
            except ValidationError as exc:
                show_service_errors(form, exc)
            else:
                return redirect("exchange:job-detail", job_id=job.public_id)
    return render(request, "exchange/export_form.html", {"form": form})


def _status_context(job: Job) -> dict[str, Any]:
    return {
        "job": job,
        "progress": job_progress(job),
        "error": job_error_text(job),
    }


@login_required
@require_GET
def job_detail_view(request: HttpRequest, job_id: Any) -> HttpResponse:
    job = _job(request, job_id)
    if not job.is_finished:
        start_worker_thread()  # resumes jobs left queued by a restarted server
    context = _status_context(job)
    shown = import_report_page(
        job,
        language=translation.get_language() or "zh-hans",
        page=request.GET.get("page"),
        warnings_page=request.GET.get("wpage"),
        per_page=ERRORS_PER_PAGE,
    )
    if shown is not None:
        context["report"] = shown.report
        context["errors_page"] = shown.errors
        context["warnings_page"] = shown.warnings
        context["has_error_workbook"] = data_file(job.error_workbook_path) is not None
    elif job.kind == Job.Kind.EXPORT and job.report is not None:
        context["result"] = job.report
        context["has_download"] = data_file(job.result_path) is not None
        context["download_name"] = export_file_name(job)
    return render(request, "exchange/job_detail.html", context)


@login_required
@require_GET
def job_progress_view(request: HttpRequest, job_id: Any) -> HttpResponse:
    """The status box, polled by htmx while the job runs; once it has finished, the whole page
    reloads to show the report."""
    job = _job(request, job_id, with_report=False)
    if job.is_finished and getattr(request, "htmx", False):
        return HttpResponseClientRefresh()
    if not job.is_finished:
        start_worker_thread()
    return render(request, "exchange/_job_status.html", _status_context(job))


def job_file_response(relative: str, name: str) -> FileResponse:
    """A job's file (export or error workbook) as a download; 404 when it is not there (yet).
    Shared with the API."""
    path = data_file(relative)
    if path is None:
        raise Http404
    return FileResponse(path.open("rb"), as_attachment=True, filename=name)


@login_required
@require_GET
def job_download_view(request: HttpRequest, job_id: Any) -> FileResponse:
    job = _job(request, job_id, kind=Job.Kind.EXPORT, with_report=False)
    return job_file_response(job.result_path, export_file_name(job))


@login_required
@require_GET
def job_error_workbook_view(request: HttpRequest, job_id: Any) -> FileResponse:
    job = _job(request, job_id, kind=Job.Kind.IMPORT, with_report=False)
    return job_file_response(job.error_workbook_path, error_workbook_name(job))
