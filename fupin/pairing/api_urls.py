"""Pairing routes of API v1 (under ``/api/v1/``), keyed by public ids, usernames, household
numbers and division codes. Each path is also accepted with a trailing slash (left out of the
schema), as the registry's are."""

from django.urls import URLPattern

from fupin.core.api import api_route
from fupin.pairing import api

urlpatterns: list[URLPattern] = [
    *api_route("pairings", api.PairingListApi, "api-pairing-list"),
    *api_route("pairings/<str:public_id>/end", api.PairingEndApi, "api-pairing-end"),
    *api_route(
        "households/<str:household_no>/pairings", api.HouseholdPairingsApi, "api-household-pairings"
    ),
    *api_route("officials", api.OfficialListApi, "api-official-list"),
    *api_route("officials/<str:username>", api.OfficialDetailApi, "api-official-detail"),
    *api_route("pairing-coverage", api.CoverageApi, "api-pairing-coverage"),
    *api_route("pairing-proposals", api.ProposalApi, "api-pairing-proposal"),
    *api_route("pairing-quotas", api.QuotaRuleApi, "api-pairing-quotas"),
    *api_route("visit-rules", api.VisitRuleApi, "api-visit-rules"),
    *api_route("help-units", api.HelpUnitApi, "api-help-units"),
    *api_route("visits", api.VisitListApi, "api-visit-list"),
    *api_route("visits/<str:public_id>", api.VisitDetailApi, "api-visit-detail"),
    *api_route("visits/<str:public_id>/photos", api.VisitPhotosApi, "api-visit-photos"),
    *api_route(
        "visits/<str:public_id>/photos/<str:photo_id>", api.VisitPhotoApi, "api-visit-photo"
    ),
    *api_route("overdue-visits", api.OverdueApi, "api-overdue-visits"),
    *api_route("key-villages", api.KeyVillageListApi, "api-key-village-list"),
    *api_route("key-villages/<str:code>", api.KeyVillageDetailApi, "api-key-village-detail"),
    *api_route("key-villages/<str:code>/team", api.TeamAddApi, "api-team-add"),
    *api_route("team-members/<str:public_id>/end", api.TeamEndApi, "api-team-end"),
    *api_route(
        "team-members/<str:public_id>/attendance/<str:month>",
        api.AttendanceApi,
        "api-team-attendance",
    ),
]
