"""API v1 of the registry: households, their members and yearly records.

Thin by design (STYLE.md §3.4): each endpoint fetches what it touches through an access function
(a household outside the actor's area answers 404 like a missing one; a role that may read but
not edit gets 403), parses the body with an input serializer, calls one service with
``ChangeSource.api()`` and shapes the answer with an output serializer. Service validation
errors become 400 answers keyed by field (``fupin.core.api.exception_handler``).
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fupin.accounts.scope import actor_scope
from fupin.core.api import (
    ERRORS,
    FIELD_ERRORS,
    READ_ERRORS,
    JsonApi,
    parse_input,
    valid_filters,
)
from fupin.core.audit import ChangeSource
from fupin.core.code_lists import code_lists
from fupin.core.errors import NotFound
from fupin.registry.access import access_household_by_no, access_member_by_public_id
from fupin.registry.filters import HouseholdFilterForm
from fupin.registry.models import Household, Member
from fupin.registry.selectors import (
    ORDERINGS,
    active_member_counts,
    household_list,
    household_members,
    latest_records,
)
from fupin.registry.serializers import (
    HouseholdDetailOutputSerializer,
    HouseholdListOutputSerializer,
    HouseholdRegisterInputSerializer,
    HouseholdUpdateInputSerializer,
    MemberInputSerializer,
    MemberLeaveInputSerializer,
    MemberMoveInputSerializer,
    MemberOutputSerializer,
    RecordInputSerializer,
    RecordOutputSerializer,
)
from fupin.registry.services import (
    household_register,
    household_update,
    member_add,
    member_leave,
    member_move,
    member_update,
    record_save,
)
from fupin.registry.validation import (
    HOUSEHOLD_LISTS,
    MEMBER_LISTS,
    RECORD_LISTS,
    HouseholdData,
    MemberData,
    RecordData,
)
from fupin.registry.validation import RECORD_FIELDS as VALIDATED_RECORD_FIELDS

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_D = TypeVar("_D", bound="DataclassInstance")

RECORD_FIELDS = frozenset(VALIDATED_RECORD_FIELDS)


# drf-spectacular leaves its extension registry hook (__init_subclass__) untyped.
class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Documents ``fupin.accounts.authentication.ApiTokenAuthentication`` in the schema."""

    target_class = "fupin.accounts.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>`; tokens come from `fupin create-token`.",
        }


# ---------------------------------------------------------------------------------------------
# Schema pieces

HOUSEHOLD_NO = OpenApiParameter(
    "household_no", OpenApiTypes.STR, OpenApiParameter.PATH, description="household number (户编号)"
)
PUBLIC_ID = OpenApiParameter(
    "public_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="the member's public id"
)
FILTERS = [
    OpenApiParameter(
        "division", OpenApiTypes.STR, description="12-digit division code: its whole subtree"
    ),
    OpenApiParameter("status", OpenApiTypes.STR, description="code of the list 'status'"),
    OpenApiParameter("category", OpenApiTypes.STR, description="code of the list 'category'"),
    OpenApiParameter("main_cause", OpenApiTypes.STR, description="code of the list 'main_cause'"),
    OpenApiParameter("identified_year", OpenApiTypes.INT, description="identification year"),
    OpenApiParameter("survey_year", OpenApiTypes.INT, description="has a record of this year"),
    OpenApiParameter(
        "q",
        OpenApiTypes.STR,
        description="household number, head's name or its pinyin initials, a member's name or id number",
    ),
    OpenApiParameter("ordering", OpenApiTypes.STR, enum=list(ORDERINGS), default="household_no"),
]


# ---------------------------------------------------------------------------------------------
# Helpers: parsing, error keys and output context


@contextmanager
def _error_keys(rename: Mapping[str, str]) -> Iterator[None]:
    """Report a service's field errors under the names the API's input uses."""
    try:
        yield
    except DjangoValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise DjangoValidationError(
            {rename.get(key, key): errors for key, errors in exc.error_dict.items()}
        ) from None


def _current(data_class: type[_D], obj: object, **known: Any) -> _D:
    """The service input holding ``obj``'s present values (the base a PATCH changes)."""
    values = {f.name: getattr(obj, f.name) for f in fields(data_class) if f.name not in known}
    return data_class(**values, **known)


def _context(request: Request, **extra: Any) -> dict[str, Any]:
    return {
        "request": request,
        "can_see_personal_data": actor_scope(request.user).can_see_personal_data,
        **extra,
    }


def _household_detail(request: Request, household: Household) -> dict[str, Any]:
    context = _context(
        request,
        members=list(household_members(household)),
        records=list(household.records.order_by("survey_year")),
        code_lists=code_lists(*HOUSEHOLD_LISTS, *MEMBER_LISTS, *RECORD_LISTS),
    )
    data: dict[str, Any] = HouseholdDetailOutputSerializer(household, context=context).data
    return data


def _member_output(request: Request, member: Member) -> dict[str, Any]:
    context = _context(request, code_lists=code_lists(*MEMBER_LISTS))
    data: dict[str, Any] = MemberOutputSerializer(member, context=context).data
    return data


def _household_member(request: Request, household_no: str, public_id: str) -> Member:
    """A member of the household in the path, both reachable for editing by the actor."""
    household = access_household_by_no(request.user, household_no, for_edit=True)
    member = access_member_by_public_id(request.user, public_id, for_edit=True)
    if member.household_id != household.pk:
        raise NotFound
    return member


# ---------------------------------------------------------------------------------------------
# Households


class HouseholdViewSet(JsonApi, viewsets.GenericViewSet[Household]):
    @extend_schema(
        summary="List households",
        description="The households the actor may see, filtered like the web list, one page at a time.",
        parameters=FILTERS,
        responses={
            200: HouseholdListOutputSerializer(many=True),
            400: FIELD_ERRORS,
            401: ERRORS[401],
        },
    )
    def list(self, request: Request) -> Response:
        form = HouseholdFilterForm(request.query_params)
        valid_filters(form)
        households = household_list(actor=request.user, filters=form.to_filters())
        page = list(self.paginate_queryset(households) or [])
        counts = active_member_counts(page)
        context = _context(request, member_counts=counts, latest_records=latest_records(page))
        data = HouseholdListOutputSerializer(page, many=True, context=context).data
        return self.get_paginated_response(data)

    @extend_schema(
        summary="Register a household",
        description="A household with its members (exactly one head) and its first yearly record.",
        request=HouseholdRegisterInputSerializer,
        responses={201: HouseholdDetailOutputSerializer, **ERRORS},
    )
    def create(self, request: Request) -> Response:
        values = parse_input(HouseholdRegisterInputSerializer, request.data)
        members = [MemberData(**m) for m in values.pop("members")]
        record = RecordData(**values.pop("record"))
        household_no = values.pop("household_no")
        # validate_record reports without a prefix; the API's record sits under "record".
        with _error_keys({key: f"record.{key}" for key in RECORD_FIELDS}):
            household = household_register(
                actor=request.user,
                source=ChangeSource.api(),
                household=HouseholdData(**values),
                members=members,
                record=record,
                household_no=household_no,
            )
        location = reverse("api-household-detail", kwargs={"household_no": household.household_no})
        return Response(
            _household_detail(request, household),
            status=status.HTTP_201_CREATED,
            headers={"Location": location},
        )

    @extend_schema(
        summary="Read a household",
        description="All its facts, members (active and former) and yearly records, with labels.",
        parameters=[HOUSEHOLD_NO],
        responses={200: HouseholdDetailOutputSerializer, **READ_ERRORS},
    )
    def retrieve(self, request: Request, household_no: str) -> Response:
        household = access_household_by_no(request.user, household_no)
        return Response(_household_detail(request, household))

    @extend_schema(
        summary="Replace a household's facts",
        description="Members and records have their own endpoints; the head's name follows the head.",
        parameters=[HOUSEHOLD_NO],
        request=HouseholdUpdateInputSerializer,
        responses={200: HouseholdDetailOutputSerializer, **ERRORS},
    )
    def update(self, request: Request, household_no: str) -> Response:
        return self._update(request, household_no, partial=False)

    @extend_schema(
        summary="Change some of a household's facts",
        description="The fields left out keep their values.",
        parameters=[HOUSEHOLD_NO],
        request=HouseholdUpdateInputSerializer,
        responses={200: HouseholdDetailOutputSerializer, **ERRORS},
    )
    def partial_update(self, request: Request, household_no: str) -> Response:
        return self._update(request, household_no, partial=True)

    def _update(self, request: Request, household_no: str, *, partial: bool) -> Response:
        household = access_household_by_no(request.user, household_no, for_edit=True)
        values = parse_input(HouseholdUpdateInputSerializer, request.data, partial=partial)
        if partial:
            current = _current(HouseholdData, household, division_code=household.division.code)
            data = replace(current, **values)
        else:
            data = HouseholdData(**values)
        household_update(
            actor=request.user, source=ChangeSource.api(), household=household, data=data
        )
        return Response(_household_detail(request, household))


# ---------------------------------------------------------------------------------------------
# Members and yearly records


class MemberAddApi(JsonApi, APIView):
    @extend_schema(
        operation_id="member_add",
        summary="Add a member",
        parameters=[HOUSEHOLD_NO],
        request=MemberInputSerializer,
        responses={201: MemberOutputSerializer, **ERRORS},
    )
    def post(self, request: Request, household_no: str) -> Response:
        household = access_household_by_no(request.user, household_no, for_edit=True)
        data = MemberData(**parse_input(MemberInputSerializer, request.data))
        member = member_add(
            actor=request.user, source=ChangeSource.api(), household=household, data=data
        )
        return Response(_member_output(request, member), status=status.HTTP_201_CREATED)


class MemberUpdateApi(JsonApi, APIView):
    @extend_schema(
        operation_id="member_update",
        summary="Change a member's facts",
        description="To change the head, make another member head first (the services' rule).",
        parameters=[HOUSEHOLD_NO, PUBLIC_ID],
        request=MemberInputSerializer,
        responses={200: MemberOutputSerializer, **ERRORS},
    )
    def patch(self, request: Request, household_no: str, public_id: str) -> Response:
        member = _household_member(request, household_no, public_id)
        values = parse_input(MemberInputSerializer, request.data, partial=True)
        data = replace(_current(MemberData, member), **values)
        member = member_update(
            actor=request.user, source=ChangeSource.api(), member=member, data=data
        )
        return Response(_member_output(request, member))


class MemberLeaveApi(JsonApi, APIView):
    @extend_schema(
        operation_id="member_leave",
        summary="A member leaves the household",
        description="Death, marriage out, moving away; the member stays as a former member.",
        parameters=[HOUSEHOLD_NO, PUBLIC_ID],
        request=MemberLeaveInputSerializer,
        responses={200: MemberOutputSerializer, **ERRORS},
    )
    def post(self, request: Request, household_no: str, public_id: str) -> Response:
        member = _household_member(request, household_no, public_id)
        values = parse_input(MemberLeaveInputSerializer, request.data)
        with _error_keys({"left_reason": "reason"}):
            member = member_leave(
                actor=request.user,
                source=ChangeSource.api(),
                member=member,
                reason=values["reason"],
                left_on=values["left_on"],
            )
        return Response(_member_output(request, member))


class MemberMoveApi(JsonApi, APIView):
    @extend_schema(
        operation_id="member_move",
        summary="Move a member to another household",
        description="The member leaves this household and joins the other one as a new member "
        "(a new public id), which the answer shows.",
        parameters=[HOUSEHOLD_NO, PUBLIC_ID],
        request=MemberMoveInputSerializer,
        responses={201: MemberOutputSerializer, **ERRORS},
    )
    def post(self, request: Request, household_no: str, public_id: str) -> Response:
        member = _household_member(request, household_no, public_id)
        values = parse_input(MemberMoveInputSerializer, request.data)
        target = access_household_by_no(request.user, values["to_household_no"], for_edit=True)
        with _error_keys({"household_no": "to_household_no"}):
            moved = member_move(
                actor=request.user,
                source=ChangeSource.api(),
                member=member,
                to_household=target,
                relation=values["relation"],
            )
        return Response(_member_output(request, moved), status=status.HTTP_201_CREATED)


class RecordSaveApi(JsonApi, APIView):
    @extend_schema(
        operation_id="record_save",
        summary="Create or replace the yearly record of a survey year",
        parameters=[HOUSEHOLD_NO],
        request=RecordInputSerializer,
        responses={200: RecordOutputSerializer, 201: RecordOutputSerializer, **ERRORS},
    )
    def put(self, request: Request, household_no: str, year: int) -> Response:
        household = access_household_by_no(request.user, household_no, for_edit=True)
        data = RecordData(survey_year=year, **parse_input(RecordInputSerializer, request.data))
        exists = household.records.filter(survey_year=year).exists()
        record = record_save(
            actor=request.user, source=ChangeSource.api(), household=household, data=data
        )
        context = _context(request, code_lists=code_lists(*RECORD_LISTS))
        return Response(
            RecordOutputSerializer(record, context=context).data,
            status=status.HTTP_200_OK if exists else status.HTTP_201_CREATED,
        )
