"""API v1 of pairing: pairings, officials, coverage, the proposal, visits and their photos,
overdue visits, key villages with their work teams, and the policy rules.

Thin like the registry's API: access functions and selectors for reads (out of scope answers
404 like missing), one service per write with ``ChangeSource.api()``, service validation errors
as 400 keyed by field.
"""

import datetime as dt
from typing import Any

from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fupin.accounts.roles import Role
from fupin.accounts.scope import actor_scope
from fupin.core.api import (
    NOT_AUTHENTICATED,
    error_response,
    field_errors_response,
    paginated_response,
    parse_input,
)
from fupin.core.audit import ChangeSource
from fupin.core.errors import NotFound, PermissionDenied
from fupin.pairing import access, selectors, services
from fupin.pairing.models import Pairing
from fupin.pairing.policy import today
from fupin.pairing.proposal import proposal_apply, propose
from fupin.pairing.serializers import (
    AttendanceInputSerializer,
    AttendanceOutputSerializer,
    CoverageOutputSerializer,
    HelpUnitSerializer,
    KeyVillageDetailSerializer,
    KeyVillageOutputSerializer,
    OfficialOutputSerializer,
    OverdueOutputSerializer,
    PairingAssignInputSerializer,
    PairingEndInputSerializer,
    PairingOutputSerializer,
    PhotosInputSerializer,
    ProposalInputSerializer,
    ProposalOutputSerializer,
    QuotaRuleSerializer,
    TeamEndInputSerializer,
    TeamMemberInputSerializer,
    TeamMemberOutputSerializer,
    VisitInputSerializer,
    VisitOutputSerializer,
    VisitPhotoOutputSerializer,
    VisitRuleSerializer,
)
from fupin.pairing.services import VisitData
from fupin.pairing.views import photo_response

FIELD_ERRORS = field_errors_response(
    "Field errors `{field: [message, …]}` (e.g. a pairing beyond quota, a visit "
    "dated in the future, a photo that is not an image): nothing was saved."
)
READ = {
    401: NOT_AUTHENTICATED,
    404: error_response("missing, or outside your area"),
}
WRITE = {
    400: FIELD_ERRORS,
    403: error_response("your role may not change this"),
    **READ,
}
DIVISION = OpenApiParameter(
    "division", OpenApiTypes.STR, description="12-digit division code (default: your area)"
)


def _parse(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    """Pairing's 400 answers keep DRF's nesting (``{"photos": {"0": […]}}``)."""
    return parse_input(serializer_class, data, flat_errors=False)


def _official(actor: Any, username: str) -> Any:
    """An official named in a request body: unknown or invisible is a field error."""
    try:
        return access.access_official_by_username(actor, username)
    except NotFound:
        raise exceptions.ValidationError({"official": [_("Unknown official.")]}) from None


def _bool(value: str | None) -> bool | None:
    if not value:
        return None
    return value.lower() in ("1", "true", "yes")


# --- Pairings -----------------------------------------------------------------------------------


class PairingListApi(APIView):
    @extend_schema(
        operation_id="pairings_list",
        summary="Pairings in your area",
        parameters=[
            DIVISION,
            OpenApiParameter("official", OpenApiTypes.STR, description="username"),
            OpenApiParameter("household", OpenApiTypes.STR, description="household number"),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=Pairing.Kind.values),
            OpenApiParameter("active", OpenApiTypes.BOOL, description="default: true"),
        ],
        responses={200: PairingOutputSerializer(many=True), **READ},
    )
    def get(self, request: Request) -> Response:
        active = _bool(request.query_params.get("active"))
        filters = selectors.PairingFilters(
            division_code=request.query_params.get("division", ""),
            official=request.query_params.get("official", ""),
            household_no=request.query_params.get("household", ""),
            kind=request.query_params.get("kind", ""),
            active=True if active is None else active,
        )
        return paginated_response(
            request,
            self,
            selectors.pairing_list(actor=request.user, filters=filters),
            PairingOutputSerializer,
        )

    @extend_schema(
        operation_id="pairings_assign",
        summary="Assign a responsible official (within the quota of their rank level)",
        request=PairingAssignInputSerializer,
        responses={201: PairingOutputSerializer, **WRITE},
    )
    def post(self, request: Request) -> Response:
        data = _parse(PairingAssignInputSerializer, request.data)
        household = access.access_household_for_pairing(
            request.user, data["household_no"], for_manage=True
        )
        official = _official(request.user, data["official"])
        member = None
        if data.get("member"):
            member = selectors.household_member(household, data["member"])
            if member is None:
                raise exceptions.ValidationError({"member": [_("Unknown member.")]})
        pairing = services.pairing_assign(
            actor=request.user,
            source=ChangeSource.api(),
            official=official,
            household=household,
            kind=data["kind"],
            member=member,
            started_on=data.get("started_on"),
        )
        return Response(PairingOutputSerializer(pairing).data, status=status.HTTP_201_CREATED)


class PairingEndApi(APIView):
    @extend_schema(
        operation_id="pairings_end",
        summary="End a pairing (kept as history)",
        request=PairingEndInputSerializer,
        responses={200: PairingOutputSerializer, **WRITE},
    )
    def post(self, request: Request, public_id: str) -> Response:
        pairing = access.access_pairing_by_public_id(request.user, public_id, for_manage=True)
        data = _parse(PairingEndInputSerializer, request.data)
        pairing = services.pairing_end(
            actor=request.user,
            source=ChangeSource.api(),
            pairing=pairing,
            ended_on=data.get("ended_on"),
            reason=data.get("reason") or "",
        )
        return Response(PairingOutputSerializer(pairing).data)


class HouseholdPairingsApi(APIView):
    @extend_schema(
        operation_id="household_pairings",
        summary="A household's responsible officials, active and past",
        responses={200: PairingOutputSerializer(many=True), **READ},
    )
    def get(self, request: Request, household_no: str) -> Response:
        household = access.access_household_for_pairing(request.user, household_no)
        pairings = selectors.household_pairings(household).select_related("household__division")
        return Response(PairingOutputSerializer(pairings, many=True).data)


# --- Officials, coverage, proposal --------------------------------------------------------------


class OfficialListApi(APIView):
    @extend_schema(
        operation_id="officials_list",
        summary="Pairing officials you may see, with their quota and pairings",
        responses={200: OfficialOutputSerializer(many=True), **READ},
    )
    def get(self, request: Request) -> Response:
        officials = selectors.official_list(actor=request.user)
        return paginated_response(request, self, officials, OfficialOutputSerializer)


class OfficialDetailApi(APIView):
    @extend_schema(
        operation_id="officials_retrieve",
        summary="One official with their quota and pairings",
        responses={200: OfficialOutputSerializer, **READ},
    )
    def get(self, request: Request, username: str) -> Response:
        official = access.access_official_by_username(request.user, username)
        return Response(OfficialOutputSerializer(selectors.official_with_usage(official)).data)


class CoverageApi(APIView):
    @extend_schema(
        operation_id="pairing_coverage",
        summary="Households without a responsible official, officials over/under quota, by division",
        parameters=[DIVISION],
        responses={200: CoverageOutputSerializer, **READ},
    )
    def get(self, request: Request) -> Response:
        report = selectors.coverage(
            actor=request.user, division_code=request.query_params.get("division", "")
        )
        return Response(
            CoverageOutputSerializer(
                {
                    "division": report.division,
                    "day": report.day,
                    "statuses": report.statuses,
                    "total": report.total,
                    "rows": report.rows,
                }
            ).data
        )


class ProposalApi(APIView):
    @extend_schema(
        operation_id="pairing_proposal",
        summary="Compute (and with apply=true write) the automatic pairing proposal",
        request=ProposalInputSerializer,
        responses={200: ProposalOutputSerializer, **WRITE},
    )
    def post(self, request: Request) -> Response:
        data = _parse(ProposalInputSerializer, request.data)
        division = selectors.scope_root(request.user, data["division"])
        day = today()
        if data["apply"]:
            if not access.can_manage(actor_scope(request.user), division.path):
                raise PermissionDenied(str(access.READ_ONLY_MESSAGE))
            proposal = proposal_apply(
                actor=request.user, source=ChangeSource.api(), division=division, day=day
            )
        else:
            proposal = propose(division=division, day=day)
        return Response(ProposalOutputSerializer(proposal.summary()).data)


# --- Visits -------------------------------------------------------------------------------------


class VisitListApi(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        operation_id="visits_list",
        summary="Visits to households in your area (and your own)",
        parameters=[
            DIVISION,
            OpenApiParameter("official", OpenApiTypes.STR, description="username"),
            OpenApiParameter("household", OpenApiTypes.STR, description="household number"),
            OpenApiParameter("from", OpenApiTypes.DATE),
            OpenApiParameter("to", OpenApiTypes.DATE),
        ],
        responses={200: VisitOutputSerializer(many=True), **READ},
    )
    def get(self, request: Request) -> Response:
        def day(key: str) -> dt.date | None:
            value = request.query_params.get(key, "")
            try:
                return dt.date.fromisoformat(value) if value else None
            except ValueError:
                raise exceptions.ValidationError({key: [_("Not a date (YYYY-MM-DD).")]}) from None

        filters = selectors.VisitFilters(
            division_code=request.query_params.get("division", ""),
            official=request.query_params.get("official", ""),
            household_no=request.query_params.get("household", ""),
            date_from=day("from"),
            date_to=day("to"),
        )
        return paginated_response(
            request,
            self,
            selectors.visit_list(actor=request.user, filters=filters),
            VisitOutputSerializer,
        )

    @extend_schema(
        operation_id="visits_create",
        summary="Record a visit (multipart with photos, or JSON without)",
        request={
            "multipart/form-data": VisitInputSerializer,
            "application/json": VisitInputSerializer,
        },
        responses={201: VisitOutputSerializer, **WRITE},
    )
    def post(self, request: Request) -> Response:
        payload: Any = request.data
        if hasattr(payload, "getlist"):
            payload = {k: payload.get(k) for k in payload if k != "photos"} | {
                "photos": request.FILES.getlist("photos")
            }
        data = _parse(VisitInputSerializer, payload)
        household = access.access_household_for_pairing(
            request.user, data["household_no"], for_visit=True
        )
        official = _official(request.user, data["official"])
        visit = services.visit_log(
            actor=request.user,
            source=ChangeSource.api(),
            official=official,
            household=household,
            data=VisitData(
                visited_on=data["visited_on"],
                content=data["content"],
                next_steps=data.get("next_steps") or "",
                latitude=data.get("latitude"),
                longitude=data.get("longitude"),
            ),
            photos=data.get("photos") or [],
        )
        return Response(VisitOutputSerializer(visit).data, status=status.HTTP_201_CREATED)


class VisitDetailApi(APIView):
    @extend_schema(
        operation_id="visits_retrieve",
        summary="One visit",
        responses={200: VisitOutputSerializer, **READ},
    )
    def get(self, request: Request, public_id: str) -> Response:
        visit = access.access_visit_by_public_id(request.user, public_id)
        return Response(VisitOutputSerializer(visit).data)


class VisitPhotosApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="visits_photos_add",
        summary="Add photos to a visit",
        request={"multipart/form-data": PhotosInputSerializer},
        responses={201: VisitPhotoOutputSerializer(many=True), **WRITE},
    )
    def post(self, request: Request, public_id: str) -> Response:
        visit = access.access_visit_by_public_id(request.user, public_id)
        photos = services.visit_photo_add(
            actor=request.user,
            source=ChangeSource.api(),
            visit=visit,
            photos=request.FILES.getlist("photos"),
        )
        return Response(
            VisitPhotoOutputSerializer(photos, many=True).data, status=status.HTTP_201_CREATED
        )


class VisitPhotoApi(APIView):
    @extend_schema(
        operation_id="visits_photo_retrieve",
        summary="The photo file (JPEG, PNG or WebP)",
        responses={(200, "image/*"): OpenApiTypes.BINARY, **READ},
    )
    def get(self, request: Request, public_id: str, photo_id: str) -> FileResponse:
        return photo_response(access.access_visit_photo(request.user, public_id, photo_id))


class OverdueApi(APIView):
    @extend_schema(
        operation_id="overdue_visits",
        summary="Overdue visits per official and per village",
        parameters=[DIVISION],
        responses={200: OverdueOutputSerializer, **READ},
    )
    def get(self, request: Request) -> Response:
        division = selectors.scope_root(request.user, request.query_params.get("division", ""))
        day = today()
        summary = selectors.overdue_summary(actor=request.user, division=division, day=day)
        return Response(
            OverdueOutputSerializer(
                {
                    "division": division,
                    "day": day,
                    "total": summary.total,
                    "by_official": summary.by_official,
                    "by_village": summary.by_village,
                }
            ).data
        )


# --- Key villages and teams ---------------------------------------------------------------------


class KeyVillageListApi(APIView):
    @extend_schema(
        operation_id="key_villages_list",
        summary="Key villages in your area with their first secretary (flagged without one)",
        parameters=[
            DIVISION,
            OpenApiParameter("missing", OpenApiTypes.BOOL, description="only those without"),
        ],
        responses={200: KeyVillageOutputSerializer(many=True), **READ},
    )
    def get(self, request: Request) -> Response:
        rows = selectors.key_village_list(
            actor=request.user,
            division_code=request.query_params.get("division", ""),
            only_missing=bool(_bool(request.query_params.get("missing"))),
        )
        return paginated_response(request, self, rows, KeyVillageOutputSerializer)


class KeyVillageDetailApi(APIView):
    @extend_schema(
        operation_id="key_villages_retrieve",
        summary="A key village with its work team and attendance",
        responses={200: KeyVillageDetailSerializer, **READ},
    )
    def get(self, request: Request, code: str) -> Response:
        village = access.access_key_village_by_code(request.user, code)
        team = selectors.village_team(village)
        return Response(
            KeyVillageDetailSerializer(
                {
                    "code": village.division.code,
                    "name": village.division.name,
                    "designated_year": village.designated_year,
                    "source": village.source,
                    "has_first_secretary": any(
                        m.role == "first_secretary" and m.ended_on is None for m in team
                    ),
                    "team": team,
                },
                context={"attendance": selectors.attendance_by_member(team)},
            ).data
        )


class TeamAddApi(APIView):
    @extend_schema(
        operation_id="key_villages_team_add",
        summary="Post an official to the village's work team",
        request=TeamMemberInputSerializer,
        responses={201: TeamMemberOutputSerializer, **WRITE},
    )
    def post(self, request: Request, code: str) -> Response:
        village = access.access_key_village_by_code(request.user, code, for_manage=True)
        data = _parse(TeamMemberInputSerializer, request.data)
        member = services.team_member_add(
            actor=request.user,
            source=ChangeSource.api(),
            village=village,
            official=_official(request.user, data["official"]),
            role=data["role"],
            started_on=data["started_on"],
            unit=data.get("unit") or "",
        )
        return Response(TeamMemberOutputSerializer(member).data, status=status.HTTP_201_CREATED)


class TeamEndApi(APIView):
    @extend_schema(
        operation_id="team_members_end",
        summary="End a work team posting",
        request=TeamEndInputSerializer,
        responses={200: TeamMemberOutputSerializer, **WRITE},
    )
    def post(self, request: Request, public_id: str) -> Response:
        member = access.access_team_member_by_public_id(request.user, public_id, for_manage=True)
        data = _parse(TeamEndInputSerializer, request.data)
        member = services.team_member_end(
            actor=request.user,
            source=ChangeSource.api(),
            member=member,
            ended_on=data.get("ended_on"),
        )
        return Response(TeamMemberOutputSerializer(member).data)


class AttendanceApi(APIView):
    @extend_schema(
        operation_id="team_members_attendance",
        summary="Set the days a team member spent in the village in a month (YYYY-MM)",
        request=AttendanceInputSerializer,
        responses={200: AttendanceOutputSerializer, **WRITE},
    )
    def put(self, request: Request, public_id: str, month: str) -> Response:
        member = access.access_team_member_by_public_id(request.user, public_id)
        try:
            first = dt.date.fromisoformat(f"{month}-01")
        except ValueError:
            raise exceptions.ValidationError({"month": [_("Not a month (YYYY-MM).")]}) from None
        data = _parse(AttendanceInputSerializer, request.data)
        row = services.attendance_record(
            actor=request.user,
            source=ChangeSource.api(),
            member=member,
            month=first,
            days=data["days"],
        )
        return Response({"month": row.month.strftime("%Y-%m"), "days": row.days})


# --- Policy -------------------------------------------------------------------------------------


class QuotaRuleApi(APIView):
    @extend_schema(
        operation_id="pairing_quotas_list",
        summary="Pairing quotas per rank level, every version with its source",
        responses={200: QuotaRuleSerializer(many=True), 401: NOT_AUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        return Response(QuotaRuleSerializer(selectors.quota_rules(), many=True).data)

    @extend_schema(
        operation_id="pairing_quotas_create",
        summary="A new version of a rank level's quota (city administrators)",
        request=QuotaRuleSerializer,
        responses={201: QuotaRuleSerializer, **WRITE},
    )
    def post(self, request: Request) -> Response:
        if not actor_scope(request.user).paths(frozenset({Role.CITY_ADMIN})):
            raise PermissionDenied(str(access.READ_ONLY_MESSAGE))
        data = _parse(QuotaRuleSerializer, request.data)
        rule = services.quota_rule_set(
            actor=request.user,
            source=ChangeSource.api(),
            rank_level=data["rank_level"],
            households=data["households"],
            orphans=data["orphans"],
            valid_from=data["valid_from"],
            source_note=data["source"],
        )
        return Response(QuotaRuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class VisitRuleApi(APIView):
    @extend_schema(
        operation_id="visit_rules_list",
        summary="Visit frequency rules, every version with its source",
        responses={200: VisitRuleSerializer(many=True), 401: NOT_AUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        return Response(VisitRuleSerializer(selectors.visit_rules(), many=True).data)


class HelpUnitApi(APIView):
    @extend_schema(
        operation_id="help_units_list",
        summary="Help units and the village or township each is paired with",
        responses={200: HelpUnitSerializer(many=True), 401: NOT_AUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        return paginated_response(request, self, selectors.help_units(), HelpUnitSerializer)

    @extend_schema(
        operation_id="help_units_save",
        summary="Create a help unit or change its seat and paired village or township",
        request=HelpUnitSerializer,
        responses={200: HelpUnitSerializer, **WRITE},
    )
    def put(self, request: Request) -> Response:
        data = _parse(HelpUnitSerializer, request.data)
        unit = services.help_unit_save(
            actor=request.user,
            source=ChangeSource.api(),
            name=data["name"],
            home_code=data["home"]["code"],
            paired_code=data["paired_division"]["code"],
        )
        return Response(HelpUnitSerializer(unit).data)
