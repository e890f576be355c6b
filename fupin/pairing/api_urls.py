"""Pairing routes of API v1 (under ``/api/v1/``), keyed by public ids, usernames, household
numbers and division codes. Each path is also accepted with a trailing slash (left out of the
schema), as the registry's are."""

from django.urls import URLPattern, path
from rest_framework.views import APIView

from fupin.pairing import api


def _route(route: str, view: type[APIView], name: str) -> list[URLPattern]:
    return [
        path(route, view.as_view(), name=name),
        path(f"{route}/", view.as_view(schema=None), name=f"{name}-slash"),
    ]


urlpatterns: list[URLPattern] = [
    *_route("pairings", api.PairingListApi, "api-pairing-list"),
    *_route("pairings/<str:public_id>/end", api.PairingEndApi, "api-pairing-end"),
    *_route(
        "households/<str:household_no>/pairings", api.HouseholdPairingsApi, "api-household-pairings"
    ),
    *_route("officials", api.OfficialListApi, "api-official-list"),
    *_route("officials/<str:username>", api.OfficialDetailApi, "api-official-detail"),
    *_route("pairing-coverage", api.CoverageApi, "api-pairing-coverage"),
    *_route("pairing-proposals", api.ProposalApi, "api-pairing-proposal"),
    *_route("pairing-quotas", api.QuotaRuleApi, "api-pairing-quotas"),
    *_route("visit-rules", api.VisitRuleApi, "api-visit-rules"),
    *_route("help-units", api.HelpUnitApi, "api-help-units"),
    *_route("visits", api.VisitListApi, "api-visit-list"),
    *_route("visits/<str:public_id>", api.VisitDetailApi, "api-visit-detail"),
    *_route("visits/<str:public_id>/photos", api.VisitPhotosApi, "api-visit-photos"),
    *_route("visits/<str:public_id>/photos/<str:photo_id>", api.VisitPhotoApi, "api-visit-photo"),
    *_route("overdue-visits", api.OverdueApi, "api-overdue-visits"),
    *_route("key-villages", api.KeyVillageListApi, "api-key-village-list"),
    *_route("key-villages/<str:code>", api.KeyVillageDetailApi, "api-key-village-detail"),
    *_route("key-villages/<str:code>/team", api.TeamAddApi, "api-team-add"),
    *_route("team-members/<str:public_id>/end", api.TeamEndApi, "api-team-end"),
    *_route(
        "team-members/<str:public_id>/attendance/<str:month>",
        api.AttendanceApi,
        "api-team-attendance",
    ),
]
