"""Policy routes of API v1 (under ``/api/v1/``); the slash variant is left out of the schema."""

from django.urls import URLPattern, path

from fupin.policy import api

urlpatterns: list[URLPattern] = [
    path(
        "households/<str:household_no>/evaluation",
        api.HouseholdEvaluationApi.as_view(),
        name="api-household-evaluation",
    ),
    path(
        "households/<str:household_no>/evaluation/",
        api.HouseholdEvaluationApi.as_view(schema=None),
        name="api-household-evaluation-slash",
    ),
]
