"""Policy routes of API v1 (under ``/api/v1/``); the slash variant is left out of the schema."""

from django.urls import URLPattern

from fupin.core.api import api_route
from fupin.policy import api

urlpatterns: list[URLPattern] = [
    *api_route(
        "households/<str:household_no>/evaluation",
        api.HouseholdEvaluationApi,
        "api-household-evaluation",
    ),
]
