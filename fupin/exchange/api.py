"""API v1 of the exchange: queue an import or an export, follow it, download its files.

Thin like the registry's API: input serializers parse, the services validate and queue (400 with
field errors, in Chinese unless the client asks for English), output serializers shape. A job is
keyed by its public id; one that is missing, of the other kind or not the actor's answers 404.
Jobs run in the background (``fupin.exchange.jobs``): creation answers 202 with the job and its
``Location``, and the client polls it.
"""

import json
from collections.abc import Mapping
from typing import Any

from django.http import FileResponse
from django.urls import reverse
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fupin.core.api import JsonApi, field_errors_response
from fupin.exchange.access import access_job_by_public_id
from fupin.exchange.forms import UploadLimitHandler
from fupin.exchange.jobs import start_worker_thread
from fupin.exchange.models import Job
from fupin.exchange.selectors import error_workbook_name
from fupin.exchange.serializers import (
    ExportCreateInputSerializer,
    ExportJobOutputSerializer,
    ImportCreateInputSerializer,
    ImportJobOutputSerializer,
)
from fupin.exchange.services import (
    export_file_name,
    export_job_create,
    import_job_create,
    upload_too_large_message,
)
from fupin.exchange.views import job_file_response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TAGS = ["exchange"]

JOB_ID = OpenApiParameter(
    "job_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="the job's id"
)
ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = field_errors_response("Field errors: `{field: [message, …]}`.")
NOT_AUTHENTICATED = OpenApiResponse(ERROR, description="not authenticated")
NOT_FOUND = OpenApiResponse(
    ERROR, description="missing, of the other kind, or not the actor's (the same answer)"
)


class AnyRenderer(BaseRenderer):
    """Lets a client that asks for the file's own type reach a download; the file goes out as
    it is, and an error as JSON."""

    media_type = "*/*"
    format = "file"
    charset = None

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return json.dumps(data, ensure_ascii=False).encode()


def _parse(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        errors: dict[str, list[str]] = {}
        for key, value in serializer.errors.items():
            # A list field's errors come per item ({"0": […]}): one list per field is enough.
            items = value.values() if isinstance(value, Mapping) else [value]
            errors[key] = [
                str(e) for item in items for e in (item if isinstance(item, list) else [item])
            ]
        raise exceptions.ValidationError(errors)
    return dict(serializer.validated_data)


def _context(request: Request) -> dict[str, Any]:
    return {"request": request, "language": translation.get_language()}


def _job(request: Request, job_id: str, kind: str) -> Job:
    job = access_job_by_public_id(request.user, job_id, kind=kind)
    if not job.is_finished:
        start_worker_thread()  # resumes jobs left queued by a restarted server
    return job


def _job_queued(
    request: Request, job: Job, serializer_class: type[serializers.Serializer[Any]], url_name: str
) -> Response:
    """202 with the queued job and the ``Location`` the client polls."""
    return Response(
        serializer_class(job, context=_context(request)).data,
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": reverse(url_name, kwargs={"job_id": job.public_id})},
    )


# ---------------------------------------------------------------------------------------------
# Imports


class ImportCreateApi(JsonApi, APIView):
    parser_classes = [MultiPartParser]

    def initialize_request(self, request: Any, *args: Any, **kwargs: Any) -> Request:
        # Before the body is read: an upload over the limit is cut off, not stored.
        self.upload_limit = UploadLimitHandler.install(request)
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        operation_id="import_create",
        summary="Queue an import",
        description="Upload an exchange package (exchange-format §1): one XLSX workbook or ZIP, "
        "or the field `file` twice with households.csv and members.csv. The import runs in "
        "the background; poll the job at `Location` for its progress and report (§6). Only "
        "roles that edit households may import, and only into their own area: rows outside it "
        "are reported as errors (`unknown_division` where the actor cannot see the division, "
        "`out_of_scope` where the actor may read but not change it).",
        tags=TAGS,
        request={"multipart/form-data": ImportCreateInputSerializer},
        responses={
            202: ImportJobOutputSerializer,
            400: FIELD_ERRORS,
            401: NOT_AUTHENTICATED,
            403: OpenApiResponse(ERROR, description="the role may not import"),
        },
    )
    def post(self, request: Request) -> Response:
        data = request.data
        if self.upload_limit.exceeded:
            raise exceptions.ValidationError({"file": [upload_too_large_message()]})
        values = _parse(ImportCreateInputSerializer, data)
        job = import_job_create(
            actor=request.user,
            files=values["file"],
            mode=values["mode"],
            dry_run=values["dry_run"],
            source="api",
        )
        return _job_queued(request, job, ImportJobOutputSerializer, "api-import-detail")


class ImportDetailApi(JsonApi, APIView):
    @extend_schema(
        operation_id="import_retrieve",
        summary="Follow an import",
        description="Status (queued, running, done, failed), progress, and when done the report "
        "(exchange-format §6) and the link to the error workbook (when there were errors). A "
        "package that cannot be read at all fails the job with the reason in `error`.",
        tags=TAGS,
        parameters=[JOB_ID],
        responses={200: ImportJobOutputSerializer, 401: NOT_AUTHENTICATED, 404: NOT_FOUND},
    )
    def get(self, request: Request, job_id: str) -> Response:
        job = _job(request, job_id, Job.Kind.IMPORT)
        return Response(ImportJobOutputSerializer(job, context=_context(request)).data)


class ImportErrorWorkbookApi(JsonApi, APIView):
    renderer_classes = [JSONRenderer, AnyRenderer]

    @extend_schema(
        operation_id="import_error_workbook",
        summary="Download an import's error workbook",
        description="The offending rows of the package with the reason for each, ready to fix "
        "and send again. 404 until the import is done, or when it had no errors.",
        tags=TAGS,
        parameters=[JOB_ID],
        responses={
            (200, XLSX): OpenApiResponse(OpenApiTypes.BINARY, description="XLSX workbook"),
            401: NOT_AUTHENTICATED,
            404: NOT_FOUND,
        },
    )
    def get(self, request: Request, job_id: str) -> FileResponse:
        job = access_job_by_public_id(request.user, job_id, kind=Job.Kind.IMPORT)
        return job_file_response(job.error_workbook_path, error_workbook_name(job))


# ---------------------------------------------------------------------------------------------
# Exports


class ExportCreateApi(JsonApi, APIView):
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        operation_id="export_create",
        summary="Queue an export",
        description="Export the actor's area, or one division in it, in the exchange format "
        "(§8): an XLSX workbook, or households.csv and members.csv in a ZIP. Id numbers and "
        "phones are masked for roles without the right to see them (asking for `masked: "
        "false` without it is refused). The export is audited. Poll the job at `Location`.",
        tags=TAGS,
        request=ExportCreateInputSerializer,
        responses={
            202: ExportJobOutputSerializer,
            400: FIELD_ERRORS,
            401: NOT_AUTHENTICATED,
            403: OpenApiResponse(ERROR, description="the actor has no area to export"),
        },
    )
    def post(self, request: Request) -> Response:
        values = _parse(ExportCreateInputSerializer, request.data)
        job = export_job_create(
            actor=request.user,
            fmt=values["format"],
            division_code=values["division"] or "",
            since=values["since"],
            year=values["year"],
            masked=values["masked"],
            source="api",
        )
        return _job_queued(request, job, ExportJobOutputSerializer, "api-export-detail")


class ExportDetailApi(JsonApi, APIView):
    @extend_schema(
        operation_id="export_retrieve",
        summary="Follow an export",
        description="Status, progress, and when done the counts and the download link.",
        tags=TAGS,
        parameters=[JOB_ID],
        responses={200: ExportJobOutputSerializer, 401: NOT_AUTHENTICATED, 404: NOT_FOUND},
    )
    def get(self, request: Request, job_id: str) -> Response:
        job = _job(request, job_id, Job.Kind.EXPORT)
        return Response(ExportJobOutputSerializer(job, context=_context(request)).data)


class ExportDownloadApi(JsonApi, APIView):
    renderer_classes = [JSONRenderer, AnyRenderer]

    @extend_schema(
        operation_id="export_download",
        summary="Download an export",
        description="The exported XLSX workbook or ZIP. 404 until the export is done.",
        tags=TAGS,
        parameters=[JOB_ID],
        responses={
            (200, XLSX): OpenApiResponse(OpenApiTypes.BINARY, description="XLSX workbook"),
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="ZIP of households.csv and members.csv"
            ),
            401: NOT_AUTHENTICATED,
            404: NOT_FOUND,
        },
    )
    def get(self, request: Request, job_id: str) -> FileResponse:
        job = access_job_by_public_id(request.user, job_id, kind=Job.Kind.EXPORT)
        return job_file_response(job.result_path, export_file_name(job))
