"""Assistance routes of API v1 (under ``/api/v1/``), keyed by public ids and codes.

As in the registry, paths have no trailing slash; each is accepted with one too, left out of
the schema.
"""

from django.urls import URLPattern

from fupin.assistance import api
from fupin.core.api import api_route

urlpatterns: list[URLPattern] = [
    *api_route("measure-types", api.MeasureTypeListApi, "api-measure-type-list"),
    *api_route(
        "measure-types/<str:type_code>", api.MeasureTypeDetailApi, "api-measure-type-detail"
    ),
    *api_route("measures", api.MeasureListApi, "api-measure-list"),
    *api_route("measures/<str:measure_id>", api.MeasureDetailApi, "api-measure-detail"),
    *api_route("measures/<str:measure_id>/status", api.MeasureStatusApi, "api-measure-status"),
    *api_route("measures/<str:measure_id>/stages", api.MeasureStageApi, "api-measure-stage"),
    *api_route("measures/<str:measure_id>/photos", api.MeasurePhotoApi, "api-measure-photos"),
    *api_route("photos/<str:photo_id>", api.PhotoFileApi, "api-photo-file"),
    *api_route(
        "households/<str:household_no>/measures",
        api.HouseholdMeasuresApi,
        "api-household-measures",
    ),
    *api_route(
        "households/<str:household_no>/timeline",
        api.HouseholdTimelineApi,
        "api-household-timeline",
    ),
    *api_route("projects", api.ProjectListApi, "api-project-list"),
    *api_route("overdue-milestones", api.OverdueMilestoneApi, "api-overdue-milestones"),
    *api_route("projects/<str:project_code>", api.ProjectDetailApi, "api-project-detail"),
    *api_route("projects/<str:project_code>/funding", api.ProjectFundingApi, "api-project-funding"),
    *api_route(
        "projects/<str:project_code>/disbursements",
        api.ProjectDisbursementApi,
        "api-project-disbursements",
    ),
    *api_route(
        "projects/<str:project_code>/milestones/<str:kind>",
        api.ProjectMilestoneApi,
        "api-project-milestone",
    ),
    *api_route(
        "projects/<str:project_code>/beneficiaries",
        api.ProjectBeneficiaryApi,
        "api-project-beneficiaries",
    ),
    *api_route(
        "projects/<str:project_code>/benefits", api.ProjectBenefitApi, "api-project-benefits"
    ),
    *api_route("projects/<str:project_code>/photos", api.ProjectPhotoApi, "api-project-photos"),
]
