"""Assistance routes of API v1 (under ``/api/v1/``), keyed by public ids and codes.

As in the registry, paths have no trailing slash; each is accepted with one too, left out of
the schema.
"""

from django.urls import URLPattern, path
from rest_framework.views import APIView

from fupin.assistance import api


def _route(route: str, view: type[APIView], name: str) -> list[URLPattern]:
    return [
        path(route, view.as_view(), name=name),
        path(f"{route}/", view.as_view(schema=None), name=f"{name}-slash"),
    ]


urlpatterns: list[URLPattern] = [
    *_route("measure-types", api.MeasureTypeListApi, "api-measure-type-list"),
    *_route("measure-types/<str:type_code>", api.MeasureTypeDetailApi, "api-measure-type-detail"),
    *_route("measures", api.MeasureListApi, "api-measure-list"),
    *_route("measures/<str:measure_id>", api.MeasureDetailApi, "api-measure-detail"),
    *_route("measures/<str:measure_id>/status", api.MeasureStatusApi, "api-measure-status"),
    *_route("measures/<str:measure_id>/stages", api.MeasureStageApi, "api-measure-stage"),
    *_route("measures/<str:measure_id>/photos", api.MeasurePhotoApi, "api-measure-photos"),
    *_route("photos/<str:photo_id>", api.PhotoFileApi, "api-photo-file"),
    *_route(
        "households/<str:household_no>/measures",
        api.HouseholdMeasuresApi,
        "api-household-measures",
    ),
    *_route(
        "households/<str:household_no>/timeline",
        api.HouseholdTimelineApi,
        "api-household-timeline",
    ),
    *_route("projects", api.ProjectListApi, "api-project-list"),
    *_route("overdue-milestones", api.OverdueMilestoneApi, "api-overdue-milestones"),
    *_route("projects/<str:project_code>", api.ProjectDetailApi, "api-project-detail"),
    *_route("projects/<str:project_code>/funding", api.ProjectFundingApi, "api-project-funding"),
    *_route(
        "projects/<str:project_code>/disbursements",
        api.ProjectDisbursementApi,
        "api-project-disbursements",
    ),
    *_route(
        "projects/<str:project_code>/milestones/<str:kind>",
        api.ProjectMilestoneApi,
        "api-project-milestone",
    ),
    *_route(
        "projects/<str:project_code>/beneficiaries",
        api.ProjectBeneficiaryApi,
        "api-project-beneficiaries",
    ),
    *_route("projects/<str:project_code>/benefits", api.ProjectBenefitApi, "api-project-benefits"),
    *_route("projects/<str:project_code>/photos", api.ProjectPhotoApi, "api-project-photos"),
]
