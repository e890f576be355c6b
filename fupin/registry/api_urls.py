"""Registry routes of API v1 (under ``/api/v1/``), keyed by household number and public ids.

The list is ``households/`` and the paths below a household have no trailing slash, as
documented; each path is accepted with the other spelling too, left out of the schema.
"""

from django.urls import URLPattern, path

from fupin.core.api import api_route
from fupin.registry import api

household_list = api.HouseholdViewSet.as_view({"get": "list", "post": "create"})
household_list_no_slash = api.HouseholdViewSet.as_view(
    {"get": "list", "post": "create"}, schema=None
)
household_detail = api.HouseholdViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update"}
)
household_detail_slash = api.HouseholdViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update"}, schema=None
)

urlpatterns: list[URLPattern] = [
    path("households/", household_list, name="api-household-list"),
    path("households", household_list_no_slash, name="api-household-list-no-slash"),
    path("households/<str:household_no>", household_detail, name="api-household-detail"),
    path(
        "households/<str:household_no>/", household_detail_slash, name="api-household-detail-slash"
    ),
    *api_route("households/<str:household_no>/members", api.MemberAddApi, "api-member-add"),
    *api_route(
        "households/<str:household_no>/members/<str:public_id>",
        api.MemberUpdateApi,
        "api-member-update",
    ),
    *api_route(
        "households/<str:household_no>/members/<str:public_id>/leave",
        api.MemberLeaveApi,
        "api-member-leave",
    ),
    *api_route(
        "households/<str:household_no>/members/<str:public_id>/move",
        api.MemberMoveApi,
        "api-member-move",
    ),
    *api_route(
        "households/<str:household_no>/records/<int:year>", api.RecordSaveApi, "api-record-save"
    ),
]
