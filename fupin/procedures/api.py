"""API v1 of the procedures: cases of the actor's area, a case with its timeline, a transition
and a batch of transitions.

A case outside the actor's area answers 404 like a missing one. A refused transition changes
nothing and answers 403 (the role is not the step's level) or 409 (closed, paused by an
objection, publicity running, out of order) with a ``code``.
"""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fupin.core.api import (
    ERRORS,
    READ_ERRORS,
    JsonApi,
    paginated_response,
    parse_input,
    valid_filters,
)
from fupin.core.audit import ChangeSource
from fupin.procedures.access import access_case
from fupin.procedures.definitions import PROCEDURES
from fupin.procedures.forms import CaseFilterForm
from fupin.procedures.models import Case
from fupin.procedures.selectors import CaseFilters, case_list, cases_by_ids
from fupin.procedures.serializers import (
    BatchInputSerializer,
    BatchOutputSerializer,
    CaseDetailOutputSerializer,
    CaseOutputSerializer,
    RefusalOutputSerializer,
    TransitionInputSerializer,
)
from fupin.procedures.services import (
    BatchResult,
    NotAllowed,
    Refused,
    allowed_actions,
    case_batch_transition,
    case_transition,
    publicity_ends,
    refusal_of,
)

CASE_ID = OpenApiParameter("case_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
FILTERS = [
    OpenApiParameter("procedure", str, description="identification, exit, monitoring, elimination"),
    OpenApiParameter("state", str, description="a step code or an end state"),
    OpenApiParameter("village", str, description="the village's 12-digit code"),
    OpenApiParameter("overdue", bool, description="open cases past their step's deadline"),
    OpenApiParameter("open_only", bool),
    OpenApiParameter("page", int),
    OpenApiParameter("page_size", int),
]
REFUSED = {
    403: OpenApiResponse(RefusalOutputSerializer, description="the role is not the step's level"),
    409: OpenApiResponse(
        RefusalOutputSerializer,
        description="closed, paused by an objection, publicity running or out of order",
    ),
}


def _detail(actor: Any, case: Case) -> dict[str, Any]:
    current = PROCEDURES[case.procedure].step(case.state)
    case.allowed_actions = allowed_actions(actor, case)  # type: ignore[attr-defined]
    case.publicity_ends = publicity_ends(case, current) if current else None  # type: ignore[attr-defined]
    data: dict[str, Any] = CaseDetailOutputSerializer(case).data
    return data


def _refusal(error: Exception) -> Response:
    code, message = refusal_of(error)
    status_code = (
        status.HTTP_403_FORBIDDEN if isinstance(error, NotAllowed) else status.HTTP_409_CONFLICT
    )
    return Response({"code": code, "detail": message}, status=status_code)


class CaseListApi(JsonApi, APIView):
    @extend_schema(
        operation_id="procedure_case_list",
        summary="List procedure cases",
        description="The cases of the actor's area, newest first, filtered like the web list.",
        parameters=FILTERS,
        responses={200: CaseOutputSerializer(many=True), 400: ERRORS[400], 401: ERRORS[401]},
    )
    def get(self, request: Request) -> Response:
        values = valid_filters(CaseFilterForm(request.query_params))
        cases = case_list(actor=request.user, filters=CaseFilters(**values))
        return paginated_response(request, self, cases, CaseOutputSerializer)


class CaseDetailApi(JsonApi, APIView):
    @extend_schema(
        operation_id="procedure_case_detail",
        summary="A procedure case",
        description="The case with its transitions, comments, objections, attachments and the "
        "actions the caller may take now.",
        parameters=[CASE_ID],
        responses={200: CaseDetailOutputSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, case_id: str) -> Response:
        return Response(_detail(request.user, access_case(request.user, case_id)))


class CaseTransitionApi(JsonApi, APIView):
    @extend_schema(
        operation_id="procedure_case_transition",
        summary="Complete the current step or reject",
        description="`advance` completes the current step (by the role of its level, after any "
        "publicity period, never with an unresolved objection); `reject` closes the case at a "
        "review step. Nothing changes when refused.",
        parameters=[CASE_ID],
        request=TransitionInputSerializer,
        responses={
            200: CaseDetailOutputSerializer,
            400: ERRORS[400],
            401: ERRORS[401],
            404: ERRORS[404],
            **REFUSED,
        },
    )
    def post(self, request: Request, case_id: str) -> Response:
        case = access_case(request.user, case_id)
        values = parse_input(TransitionInputSerializer, request.data)
        try:
            case = case_transition(
                actor=request.user,
                source=ChangeSource.api(),
                case=case,
                action=values["action"],
                comment=values.get("comment", ""),
                to_state=values.get("to_state") or None,
            )
        except (Refused, NotAllowed) as error:
            return _refusal(error)
        return Response(_detail(request.user, case))


class CaseBatchApi(JsonApi, APIView):
    @extend_schema(
        operation_id="procedure_case_batch",
        summary="The same action on many cases",
        description="Each case gets its own result; with `all_or_nothing` one refusal rolls every "
        "case back. A case outside the caller's area is reported as `not_found`.",
        request=BatchInputSerializer,
        responses={200: BatchOutputSerializer, 400: ERRORS[400], 401: ERRORS[401]},
    )
    def post(self, request: Request) -> Response:
        values = parse_input(BatchInputSerializer, request.data)
        ids = [str(i) for i in values["cases"]]
        cases = cases_by_ids(actor=request.user, public_ids=ids)
        seen = {str(c.public_id) for c in cases}
        missing = [BatchResult(i, False, "", "not_found", "") for i in ids if i not in seen]
        if missing and values["all_or_nothing"]:
            results = missing
        else:
            results = (
                case_batch_transition(
                    actor=request.user,
                    source=ChangeSource.api(),
                    cases=cases,
                    action=values["action"],
                    comment=values["comment"],
                    all_or_nothing=values["all_or_nothing"],
                )
                + missing
            )
        done = sum(1 for r in results if r.ok)
        data = {"done": done, "refused": len(results) - done, "results": results}
        return Response(BatchOutputSerializer(data).data)
