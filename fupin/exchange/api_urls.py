"""Exchange routes of API v1 (under ``/api/v1/``), keyed by the job's public id.

Like the registry's, the paths have no trailing slash as documented; each is accepted with one
too, left out of the schema.
"""

from django.urls import URLPattern, path
from rest_framework.views import APIView

from fupin.exchange import api


def _route(route: str, view: type[APIView], name: str) -> list[URLPattern]:
    return [
        path(route, view.as_view(), name=name),
        path(f"{route}/", view.as_view(schema=None), name=f"{name}-slash"),
    ]


urlpatterns: list[URLPattern] = [
    *_route("imports", api.ImportCreateApi, "api-import-create"),
    *_route("imports/<str:job_id>", api.ImportDetailApi, "api-import-detail"),
    *_route(
        "imports/<str:job_id>/error-workbook",
        api.ImportErrorWorkbookApi,
        "api-import-error-workbook",
    ),
    *_route("exports", api.ExportCreateApi, "api-export-create"),
    *_route("exports/<str:job_id>", api.ExportDetailApi, "api-export-detail"),
    *_route("exports/<str:job_id>/download", api.ExportDownloadApi, "api-export-download"),
]
