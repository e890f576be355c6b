"""Procedure routes of API v1 (under ``/api/v1/``); the slash variant is left out of the schema."""

from django.urls import URLPattern

from fupin.core.api import api_route
from fupin.procedures import api

urlpatterns: list[URLPattern] = [
    *api_route("procedures/cases", api.CaseListApi, "api-case-list"),
    *api_route("procedures/cases/batch", api.CaseBatchApi, "api-case-batch"),
    *api_route("procedures/cases/<uuid:case_id>", api.CaseDetailApi, "api-case-detail"),
    *api_route(
        "procedures/cases/<uuid:case_id>/transition", api.CaseTransitionApi, "api-case-transition"
    ),
    *api_route("procedures/cases/<uuid:case_id>/comments", api.CaseCommentApi, "api-case-comments"),
    *api_route(
        "procedures/cases/<uuid:case_id>/objections", api.CaseObjectionApi, "api-case-objections"
    ),
    *api_route(
        "procedures/cases/<uuid:case_id>/objections/resolve", api.CaseResolveApi, "api-case-resolve"
    ),
    *api_route(
        "procedures/cases/<uuid:case_id>/attachments", api.CaseAttachmentApi, "api-case-attachments"
    ),
    *api_route(
        "procedures/attachments/<uuid:attachment_id>", api.AttachmentFileApi, "api-attachment-file"
    ),
]
