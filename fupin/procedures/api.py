"""API v1 of the procedures: cases of the actor's area, opening a case, a case with its
timeline, a transition and a batch of transitions, comments, objections (raise, resolve) and
attachments (upload, access-checked download).

A case or attachment outside the actor's area answers 404 like a missing one. A refused action
changes nothing and answers 403 (the role is not the step's level, or may read but not change)
or 409 (closed, paused by an objection, publicity running, out of order, a duplicate case …)
with a ``code``.
"""

from collections.abc import Sequence
from typing import Any

from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser, MultiPartParser
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
from fupin.core.errors import NotFound
from fupin.procedures.access import access_attachment, access_case
from fupin.procedures.definitions import PROCEDURES
from fupin.procedures.forms import CaseFilterForm
from fupin.procedures.models import Case
from fupin.procedures.selectors import CaseFilters, case_list, cases_by_ids
from fupin.procedures.serializers import (
    AttachmentInputSerializer,
    AttachmentOutputSerializer,
    BatchInputSerializer,
    BatchOutputSerializer,
    CaseDetailOutputSerializer,
    CaseOpenInputSerializer,
    CaseOutputSerializer,
    CommentOutputSerializer,
    ObjectionOutputSerializer,
    RefusalOutputSerializer,
    ResolveInputSerializer,
    TextInputSerializer,
    TransitionInputSerializer,
)
from fupin.procedures.services import (
    BatchResult,
    NotAllowed,
    Refused,
    allowed_actions,
    attachment_add,
    case_batch_transition,
    case_open,
    case_transition,
    comment_add,
    objection_raise,
    objection_resolve,
    publicity_ends,
    refusal_of,
)
from fupin.procedures.views import attachment_response
from fupin.registry.access import access_household_by_no

CASE_ID = OpenApiParameter("case_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
ATTACHMENT_ID = OpenApiParameter("attachment_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
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

READ_ONLY = OpenApiResponse(
    RefusalOutputSerializer,
    description="`wrong_level`: the role may read the case but not change it",
)
WRITE_ERRORS = {
    400: ERRORS[400],
    401: ERRORS[401],
    403: READ_ONLY,
    404: ERRORS[404],
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


class ProcedureApi(JsonApi, APIView):
    """A refusal of the services (Refused, NotAllowed) answers 409 or 403 with its code."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, Refused | NotAllowed):
            return _refusal(exc)
        return super().handle_exception(exc)


class CaseListApi(ProcedureApi):
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

    @extend_schema(
        operation_id="procedure_case_open",
        summary="Open a case",
        description="Open a case for a household of the caller's area on the procedure's first "
        "step, by a role of that step's level (the village). Monitoring needs the discovery "
        "`channel`. Refused (nothing is written) when the household already has an open case of "
        "the procedure (`duplicate`), when only a poor household can exit (`not_poor`), or for "
        "risk elimination when the household is not under monitoring (`not_monitored`), has no "
        "labour capacity (`no_labour`) or the policy's criteria fail (`criteria_fail`). A "
        "household outside the caller's area is reported like a missing one, on `household_no`.",
        request=CaseOpenInputSerializer,
        responses={
            201: CaseDetailOutputSerializer,
            400: ERRORS[400],
            401: ERRORS[401],
            403: OpenApiResponse(
                RefusalOutputSerializer,
                description="`wrong_level`: only the first step's level opens the procedure",
            ),
            409: OpenApiResponse(
                RefusalOutputSerializer,
                description="duplicate, not_poor, not_monitored, no_labour or criteria_fail",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        values = parse_input(CaseOpenInputSerializer, request.data)
        try:
            household = access_household_by_no(request.user, values["household_no"])
        except NotFound:
            raise exceptions.ValidationError(
                {"household_no": [_("No such household in your area.")]}
            ) from None
        case = case_open(
            actor=request.user,
            source=ChangeSource.api(),
            household=household,
            procedure=values["procedure"],
            year=values["year"],
            channel=values["channel"],
            comment=values["comment"],
        )
        return Response(
            _detail(request.user, case),
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api-case-detail", kwargs={"case_id": case.public_id})},
        )


class CaseDetailApi(ProcedureApi):
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


class CaseTransitionApi(ProcedureApi):
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
        case = case_transition(
            actor=request.user,
            source=ChangeSource.api(),
            case=case,
            action=values["action"],
            comment=values.get("comment", ""),
            to_state=values.get("to_state") or None,
        )
        return Response(_detail(request.user, case))


class CaseBatchApi(ProcedureApi):
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


class CaseCommentApi(ProcedureApi):
    @extend_schema(
        operation_id="procedure_case_comments",
        summary="The comments of a case",
        description="Oldest first, each with the step the case was at.",
        parameters=[CASE_ID],
        responses={200: CommentOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, case_id: str) -> Response:
        case = access_case(request.user, case_id)
        return Response(CommentOutputSerializer(case.comments.all(), many=True).data)

    @extend_schema(
        operation_id="procedure_case_comment_add",
        summary="Comment on a case",
        description="By a role that may change the case's area; the comment is kept with the "
        "current step.",
        parameters=[CASE_ID],
        request=TextInputSerializer,
        responses={201: CommentOutputSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, case_id: str) -> Response:
        case = access_case(request.user, case_id)
        values = parse_input(TextInputSerializer, request.data)
        comment = comment_add(
            actor=request.user, source=ChangeSource.api(), case=case, text=values["text"]
        )
        return Response(CommentOutputSerializer(comment).data, status=status.HTTP_201_CREATED)


class CaseObjectionApi(ProcedureApi):
    @extend_schema(
        operation_id="procedure_case_objections",
        summary="The objections of a case",
        description="Oldest first; an objection without a `decision` is unresolved and keeps "
        "the case paused.",
        parameters=[CASE_ID],
        responses={200: ObjectionOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, case_id: str) -> Response:
        case = access_case(request.user, case_id)
        return Response(ObjectionOutputSerializer(case.objections.all(), many=True).data)

    @extend_schema(
        operation_id="procedure_case_objection_raise",
        summary="Raise an objection",
        description="During a publicity period, by a role that may change the case's area: the "
        "case is paused (no step is completed) until a township or county role resolves it. "
        "Refused outside a publicity period (`not_publicity`) or while another objection is "
        "unresolved (`paused`).",
        parameters=[CASE_ID],
        request=TextInputSerializer,
        responses={
            201: ObjectionOutputSerializer,
            **WRITE_ERRORS,
            409: OpenApiResponse(RefusalOutputSerializer, description="not_publicity or paused"),
        },
    )
    def post(self, request: Request, case_id: str) -> Response:
        case = access_case(request.user, case_id)
        values = parse_input(TextInputSerializer, request.data)
        objection = objection_raise(
            actor=request.user, source=ChangeSource.api(), case=case, text=values["text"]
        )
        return Response(ObjectionOutputSerializer(objection).data, status=status.HTTP_201_CREATED)


class CaseResolveApi(ProcedureApi):
    @extend_schema(
        operation_id="procedure_case_objection_resolve",
        summary="Resolve the unresolved objection",
        description="A case has at most one unresolved objection; a township or county role of "
        "the household's area resolves it. `dismissed`: the case resumes and its publicity "
        "period is extended by the time it was paused; `upheld`: the case is rejected. Refused "
        "when no objection is unresolved (`not_paused`).",
        parameters=[CASE_ID],
        request=ResolveInputSerializer,
        responses={
            200: CaseDetailOutputSerializer,
            400: ERRORS[400],
            401: ERRORS[401],
            403: OpenApiResponse(
                RefusalOutputSerializer,
                description="`wrong_level`: not a township or county role of the area",
            ),
            404: ERRORS[404],
            409: OpenApiResponse(RefusalOutputSerializer, description="not_paused"),
        },
    )
    def post(self, request: Request, case_id: str) -> Response:
        case = access_case(request.user, case_id)
        values = parse_input(ResolveInputSerializer, request.data)
        case = objection_resolve(
            actor=request.user,
            source=ChangeSource.api(),
            case=case,
            decision=values["decision"],
            resolution=values["resolution"],
        )
        return Response(_detail(request.user, case))


# Refusals of an upload that are about the file itself: reported on the field, like bad input.
FILE_REFUSALS = {"type", "too_large"}


class CaseAttachmentApi(ProcedureApi):
    parser_classes: Sequence[type[BaseParser]] = [MultiPartParser]

    @extend_schema(
        operation_id="procedure_case_attachments",
        summary="The attachments of a case",
        description="Oldest first; `url` downloads the file.",
        parameters=[CASE_ID],
        responses={200: AttachmentOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, case_id: str) -> Response:
        case = access_case(request.user, case_id)
        return Response(AttachmentOutputSerializer(case.attachments.all(), many=True).data)

    @extend_schema(
        operation_id="procedure_case_attachment_add",
        summary="Attach a file to a case",
        description="Multipart: one `file` (PDF, JPEG, PNG, Word, Excel or plain text) within "
        "the size limit, by a role that may change the case's area. A file of another type or "
        "too large is reported on `file` and nothing is kept.",
        parameters=[CASE_ID],
        request={"multipart/form-data": AttachmentInputSerializer},
        responses={201: AttachmentOutputSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, case_id: str) -> Response:
        case = access_case(request.user, case_id)
        values = parse_input(AttachmentInputSerializer, request.data)
        try:
            attachment = attachment_add(
                actor=request.user, source=ChangeSource.api(), case=case, upload=values["file"]
            )
        except Refused as error:
            if error.refusal in FILE_REFUSALS:
                raise exceptions.ValidationError({"file": error.messages}) from None
            raise
        return Response(AttachmentOutputSerializer(attachment).data, status=status.HTTP_201_CREATED)


class AttachmentFileApi(ProcedureApi):
    @extend_schema(
        operation_id="procedure_attachment_file",
        summary="Download an attachment",
        description="The file as uploaded, after the same access check as its case.",
        parameters=[ATTACHMENT_ID],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="the file, with its own content type"
            ),
            **READ_ERRORS,
        },
    )
    def get(self, request: Request, attachment_id: str) -> FileResponse:
        response = attachment_response(access_attachment(request.user, attachment_id))
        if response is None:
            raise NotFound
        return response
