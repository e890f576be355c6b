"""Exchange routes of API v1 (under ``/api/v1/``), keyed by the job's public id.

Like the registry's, the paths have no trailing slash as documented; each is accepted with one
too, left out of the schema.
"""

from django.urls import URLPattern

from fupin.core.api import api_route
from fupin.exchange import api

urlpatterns: list[URLPattern] = [
    *api_route("imports", api.ImportCreateApi, "api-import-create"),
    *api_route("imports/<str:job_id>", api.ImportDetailApi, "api-import-detail"),
    *api_route(
        "imports/<str:job_id>/error-workbook",
        api.ImportErrorWorkbookApi,
        "api-import-error-workbook",
    ),
    *api_route("exports", api.ExportCreateApi, "api-export-create"),
    *api_route("exports/<str:job_id>", api.ExportDetailApi, "api-export-detail"),
    *api_route("exports/<str:job_id>/download", api.ExportDownloadApi, "api-export-download"),
]
