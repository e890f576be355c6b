"""Procedure routes of API v1 (under ``/api/v1/``); the slash variant is left out of the schema."""

from django.urls import URLPattern, path

from fupin.procedures import api

urlpatterns: list[URLPattern] = [
    path("procedures/cases", api.CaseListApi.as_view(), name="api-case-list"),
    path("procedures/cases/", api.CaseListApi.as_view(schema=None), name="api-case-list-slash"),
    path("procedures/cases/batch", api.CaseBatchApi.as_view(), name="api-case-batch"),
    path(
        "procedures/cases/batch/",
        api.CaseBatchApi.as_view(schema=None),
        name="api-case-batch-slash",
    ),
    path("procedures/cases/<uuid:case_id>", api.CaseDetailApi.as_view(), name="api-case-detail"),
    path(
        "procedures/cases/<uuid:case_id>/",
        api.CaseDetailApi.as_view(schema=None),
        name="api-case-detail-slash",
    ),
    path(
        "procedures/cases/<uuid:case_id>/transition",
        api.CaseTransitionApi.as_view(),
        name="api-case-transition",
    ),
    path(
        "procedures/cases/<uuid:case_id>/transition/",
        api.CaseTransitionApi.as_view(schema=None),
        name="api-case-transition-slash",
    ),
    path(
        "procedures/cases/<uuid:case_id>/comments",
        api.CaseCommentApi.as_view(),
        name="api-case-comments",
    ),
    path(
        "procedures/cases/<uuid:case_id>/comments/",
        api.CaseCommentApi.as_view(schema=None),
        name="api-case-comments-slash",
    ),
    path(
        "procedures/cases/<uuid:case_id>/objections",
        api.CaseObjectionApi.as_view(),
        name="api-case-objections",
    ),
    path(
        "procedures/cases/<uuid:case_id>/objections/",
        api.CaseObjectionApi.as_view(schema=None),
        name="api-case-objections-slash",
    ),
    path(
        "procedures/cases/<uuid:case_id>/objections/resolve",
        api.CaseResolveApi.as_view(),
        name="api-case-resolve",
    ),
    path(
        "procedures/cases/<uuid:case_id>/objections/resolve/",
        api.CaseResolveApi.as_view(schema=None),
        name="api-case-resolve-slash",
    ),
    path(
        "procedures/cases/<uuid:case_id>/attachments",
        api.CaseAttachmentApi.as_view(),
        name="api-case-attachments",
    ),
    path(
        "procedures/cases/<uuid:case_id>/attachments/",
        api.CaseAttachmentApi.as_view(schema=None),
        name="api-case-attachments-slash",
    ),
    path(
        "procedures/attachments/<uuid:attachment_id>",
        api.AttachmentFileApi.as_view(),
        name="api-attachment-file",
    ),
    path(
        "procedures/attachments/<uuid:attachment_id>/",
        api.AttachmentFileApi.as_view(schema=None),
        name="api-attachment-file-slash",
    ),
]
