"""API v1 of assistance: the measure catalogue, measures with stages and photos, the household
timeline, projects with budget, disbursements, milestones, beneficiaries and benefits.

Thin like the registry's API: an access function fetches what an endpoint touches (out of scope
answers 404 like missing; a read-only role gets 403), an input serializer parses the body, one
service does the work with ``ChangeSource.api()``, an output serializer shapes the answer.
Service errors become 400 answers keyed by the input's field names.
"""

from collections.abc import Sequence
from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fupin.assistance import selectors
from fupin.assistance.access import (
    access_measure_by_public_id,
    access_measure_type_by_code,
    access_photo_by_public_id,
    access_project_by_code,
)
from fupin.assistance.forms import MeasureFilterForm, ProjectFilterForm
from fupin.assistance.models import Measure, MeasureType, Project
from fupin.assistance.serializers import (
    BeneficiariesInputSerializer,
    BeneficiaryOutputSerializer,
    BenefitsInputSerializer,
    DisbursementSerializer,
    FundingInputSerializer,
    MeasureCreateInputSerializer,
    MeasureDetailOutputSerializer,
    MeasureInputSerializer,
    MeasureOutputSerializer,
    MeasureStatusInputSerializer,
    MeasureTypeInputSerializer,
    MeasureTypeOutputSerializer,
    MilestoneInputSerializer,
    MilestoneOutputSerializer,
    OverdueMilestoneOutputSerializer,
    PhotoInputSerializer,
    PhotoOutputSerializer,
    ProjectCreateInputSerializer,
    ProjectDetailOutputSerializer,
    ProjectInputSerializer,
    ProjectListOutputSerializer,
    StageInputSerializer,
    StageOutputSerializer,
    TimelineYearOutputSerializer,
)
from fupin.assistance.services import (
    DisbursementData,
    MeasureData,
    MeasureTypeData,
    PhotoData,
    ProjectData,
    beneficiaries_add,
    benefits_distribute,
    disbursement_add,
    measure_create,
    measure_set_status,
    measure_stage_record,
    measure_type_create,
    measure_type_update,
    measure_update,
    milestone_set,
    photo_add,
    project_create,
    project_set_funding,
    project_update,
)
from fupin.assistance.views import photo_response
from fupin.core.api import (
    ERRORS,
    FIELD_ERRORS,
    READ_ERRORS,
    JsonApi,
    paginated_response,
    parse_input,
    valid_filters,
)
from fupin.core.audit import ChangeSource
from fupin.core.pagination import Pagination
from fupin.registry.access import access_household_by_no
from fupin.registry.panels import household_timeline
from fupin.registry.selectors import household_records

MEASURE_ID = OpenApiParameter(
    "measure_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="the measure's id"
)
PROJECT_CODE = OpenApiParameter(
    "project_code", OpenApiTypes.STR, OpenApiParameter.PATH, description="project code (XM…)"
)
TYPE_CODE = OpenApiParameter(
    "type_code", OpenApiTypes.STR, OpenApiParameter.PATH, description="measure type code"
)
HOUSEHOLD_NO = OpenApiParameter(
    "household_no", OpenApiTypes.STR, OpenApiParameter.PATH, description="household number (户编号)"
)
MEASURE_FILTERS = [
    OpenApiParameter(
        "division", OpenApiTypes.STR, description="12-digit division code: its subtree"
    ),
    OpenApiParameter("year", OpenApiTypes.INT),
    OpenApiParameter("status", OpenApiTypes.STR, enum=list(Measure.Status.values)),
    OpenApiParameter("family", OpenApiTypes.STR, description="measure family"),
    OpenApiParameter("type", OpenApiTypes.STR, description="measure type code"),
    OpenApiParameter("household_no", OpenApiTypes.STR),
]
PROJECT_FILTERS = [
    OpenApiParameter(
        "division", OpenApiTypes.STR, description="12-digit division code: its subtree"
    ),
    OpenApiParameter("year", OpenApiTypes.INT),
    OpenApiParameter("category", OpenApiTypes.STR),
    OpenApiParameter("q", OpenApiTypes.STR, description="name or the start of the code"),
    OpenApiParameter("overdue", OpenApiTypes.BOOL, description="only with overdue milestones"),
]


# ---------------------------------------------------------------------------------------------
# The catalogue


def _type_data(values: dict[str, Any]) -> MeasureTypeData:
    return MeasureTypeData(
        code=values["code"],
        family=values["family"],
        name_zh=values["name_zh"],
        name_en=values["name_en"],
        description=values["description"],
        target=values["target"],
        fields=list(values["fields"]),
        has_stages=values["has_stages"],
        income_component=values["income_component"],
        default_income=values["default_income"],
        is_active=values["is_active"],
    )


class MeasureTypeListApi(JsonApi, APIView):
    @extend_schema(
        operation_id="measure_type_list",
        summary="The measure catalogue",
        description="Every measure type with the extra fields its measures record.",
        responses={200: MeasureTypeOutputSerializer(many=True), 401: ERRORS[401]},
    )
    def get(self, request: Request) -> Response:
        return Response(MeasureTypeOutputSerializer(selectors.measure_type_list(), many=True).data)

    @extend_schema(
        operation_id="measure_type_create",
        summary="Add a measure type (city administrators)",
        request=MeasureTypeInputSerializer,
        responses={201: MeasureTypeOutputSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = _type_data(parse_input(MeasureTypeInputSerializer, request.data))
        measure_type = measure_type_create(actor=request.user, source=ChangeSource.api(), data=data)
        return Response(
            MeasureTypeOutputSerializer(measure_type).data, status=status.HTTP_201_CREATED
        )


class MeasureTypeDetailApi(JsonApi, APIView):
    @extend_schema(
        operation_id="measure_type_read",
        summary="Read a measure type",
        parameters=[TYPE_CODE],
        responses={200: MeasureTypeOutputSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, type_code: str) -> Response:
        measure_type = access_measure_type_by_code(request.user, type_code)
        return Response(MeasureTypeOutputSerializer(measure_type).data)

    @extend_schema(
        operation_id="measure_type_update",
        summary="Change a measure type (city administrators)",
        description="The fields left out keep their values; the code never changes.",
        parameters=[TYPE_CODE],
        request=MeasureTypeInputSerializer,
        responses={200: MeasureTypeOutputSerializer, **ERRORS},
    )
    def patch(self, request: Request, type_code: str) -> Response:
        measure_type = access_measure_type_by_code(request.user, type_code, for_edit=True)
        values = parse_input(MeasureTypeInputSerializer, request.data, partial=True)
        current = _type_current(measure_type)
        current.update(values)
        measure_type = measure_type_update(
            actor=request.user,
            source=ChangeSource.api(),
            measure_type=measure_type,
            data=_type_data(current),
        )
        return Response(MeasureTypeOutputSerializer(measure_type).data)


def _type_current(t: MeasureType) -> dict[str, Any]:
    return {
        "code": t.code,
        "family": t.family,
        "name_zh": t.name_zh,
        "name_en": t.name_en,
        "description": t.description,
        "target": t.target,
        "fields": list(t.fields),
        "has_stages": t.has_stages,
        "income_component": t.income_component,
        "default_income": t.default_income,
        "is_active": t.is_active,
    }


# ---------------------------------------------------------------------------------------------
# Measures


def _measure_data(values: dict[str, Any]) -> MeasureData:
    return MeasureData(
        type_code=values["type"],
        content=values["content"],
        year=values["year"],
        quarter=values["quarter"],
        member_id=values["member"],
        planned_amount=values["planned_amount"],
        actual_amount=values["actual_amount"],
        fund_source=values["fund_source"],
        responsible_unit=values["responsible_unit"],
        responsible_person=values["responsible_person"],
        expected_income=values["expected_income"],
        recorded_income=values["recorded_income"],
        project_code=values["project"],
        extra=dict(values["extra"]),
        notes=values["notes"],
        status=values["status"],
        started_on=values["started_on"],
        completed_on=values["completed_on"],
    )


def _measure_current(m: Measure) -> dict[str, Any]:
    return {
        "type": m.type.code,
        "content": m.content,
        "year": m.year,
        "quarter": m.quarter,
        "member": str(m.member.public_id) if m.member else "",
        "planned_amount": m.planned_amount,
        "actual_amount": m.actual_amount,
        "fund_source": m.fund_source,
        "responsible_unit": m.responsible_unit,
        "responsible_person": m.responsible_person,
        "expected_income": m.expected_income,
        "recorded_income": m.recorded_income,
        "project": m.project.code if m.project else "",
        "extra": dict(m.extra),
        "notes": m.notes,
        "status": m.status,
        "started_on": m.started_on,
        "completed_on": m.completed_on,
    }


def _measure_detail(measure: Measure) -> dict[str, Any]:
    data: dict[str, Any] = MeasureDetailOutputSerializer(measure).data
    return data


class MeasureListApi(JsonApi, APIView):
    @extend_schema(
        operation_id="measure_list",
        summary="List measures",
        description="Measures of the households the actor may see, newest year first.",
        parameters=MEASURE_FILTERS,
        responses={200: MeasureOutputSerializer(many=True), 400: FIELD_ERRORS, 401: ERRORS[401]},
    )
    def get(self, request: Request) -> Response:
        d = valid_filters(MeasureFilterForm(request.query_params))
        filters = selectors.MeasureFilters(
            division_code=d.get("division") or "",
            year=d.get("year"),
            status=d.get("status") or "",
            family=d.get("family") or "",
            type_code=(d.get("type") or "").strip(),
            household_no=(d.get("household_no") or "").strip(),
        )
        measures = selectors.Counted(
            selectors.measure_list(actor=request.user, filters=filters).prefetch_related(
                "stages", "project"
            ),
            lambda: selectors.measure_count(actor=request.user, filters=filters),
        )
        return paginated_response(request, self, measures, MeasureOutputSerializer)

    @extend_schema(
        operation_id="measure_create",
        summary="Give a household a measure",
        description="`extra` holds the fields of the measure type (see the catalogue). A measure "
        "starts planned, under way or done; verification is `POST …/status` by the township.",
        request=MeasureCreateInputSerializer,
        responses={201: MeasureDetailOutputSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        values = parse_input(MeasureCreateInputSerializer, request.data)
        household = access_household_by_no(request.user, values.pop("household_no"), for_edit=True)
        measure = measure_create(
            actor=request.user,
            source=ChangeSource.api(),
            household=household,
            data=_measure_data(values),
        )
        return Response(_measure_detail(measure), status=status.HTTP_201_CREATED)


class MeasureDetailApi(JsonApi, APIView):
    @extend_schema(
        operation_id="measure_read",
        summary="Read a measure",
        parameters=[MEASURE_ID],
        responses={200: MeasureDetailOutputSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, measure_id: str) -> Response:
        return Response(_measure_detail(access_measure_by_public_id(request.user, measure_id)))

    @extend_schema(
        operation_id="measure_update",
        summary="Change a measure",
        description="The fields left out keep their values. A verified measure no longer changes.",
        parameters=[MEASURE_ID],
        request=MeasureInputSerializer,
        responses={200: MeasureDetailOutputSerializer, **ERRORS},
    )
    def patch(self, request: Request, measure_id: str) -> Response:
        measure = access_measure_by_public_id(request.user, measure_id, for_edit=True)
        values = parse_input(MeasureInputSerializer, request.data, partial=True)
        current = _measure_current(measure)
        current.update(values)
        measure = measure_update(
            actor=request.user,
            source=ChangeSource.api(),
            measure=measure,
            data=_measure_data(current),
        )
        return Response(_measure_detail(measure))


class MeasureStatusApi(JsonApi, APIView):
    @extend_schema(
        operation_id="measure_status",
        summary="Move a measure along its status",
        description="planned → under_way → done → verified (or one step back before "
        "verification). `verified` needs a township-level role or above (403 otherwise).",
        parameters=[MEASURE_ID],
        request=MeasureStatusInputSerializer,
        responses={200: MeasureDetailOutputSerializer, **ERRORS},
    )
    def post(self, request: Request, measure_id: str) -> Response:
        measure = access_measure_by_public_id(request.user, measure_id, for_edit=True)
        values = parse_input(MeasureStatusInputSerializer, request.data)
        measure = measure_set_status(
            actor=request.user, source=ChangeSource.api(), measure=measure, **values
        )
        return Response(_measure_detail(measure))


class MeasureStageApi(JsonApi, APIView):
    @extend_schema(
        operation_id="measure_stage",
        summary="Record a construction stage",
        description="开工 (started) → 竣工 (completed) → 验收 (accepted) → 入住 (moved_in), in order, "
        "for measure types with stages such as housing renovation.",
        parameters=[MEASURE_ID],
        request=StageInputSerializer,
        responses={201: StageOutputSerializer, **ERRORS},
    )
    def post(self, request: Request, measure_id: str) -> Response:
        measure = access_measure_by_public_id(request.user, measure_id, for_edit=True)
        values = parse_input(StageInputSerializer, request.data)
        stage = measure_stage_record(
            actor=request.user, source=ChangeSource.api(), measure=measure, **values
        )
        return Response(StageOutputSerializer(stage).data, status=status.HTTP_201_CREATED)


class MeasurePhotoApi(APIView):
    parser_classes: Sequence[type[BaseParser]] = [MultiPartParser]
    renderer_classes: Sequence[type[BaseRenderer]] = [JSONRenderer]

    @extend_schema(
        operation_id="measure_photo_list",
        summary="The evidence photos of a measure",
        parameters=[MEASURE_ID],
        responses={200: PhotoOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, measure_id: str) -> Response:
        measure = access_measure_by_public_id(request.user, measure_id)
        return Response(PhotoOutputSerializer(selectors.measure_photos(measure), many=True).data)

    @extend_schema(
        operation_id="measure_photo_add",
        summary="Add an evidence photo",
        description="Multipart: a JPEG or PNG `file` within the size limit. The photo's own EXIF "
        "time and GPS position are kept when present; otherwise `taken_at`, `latitude` and "
        "`longitude` as given.",
        parameters=[MEASURE_ID],
        request={"multipart/form-data": PhotoInputSerializer},
        responses={201: PhotoOutputSerializer, **ERRORS},
    )
    def post(self, request: Request, measure_id: str) -> Response:
        measure = access_measure_by_public_id(request.user, measure_id, for_edit=True)
        return _photo_add(request, measure=measure)


def _photo_add(request: Request, **owner: Any) -> Response:
    values = parse_input(PhotoInputSerializer, request.data)
    upload = values.pop("file")
    photo = photo_add(
        actor=request.user,
        source=ChangeSource.api(),
        upload=upload,
        data=PhotoData(**values),
        **owner,
    )
    return Response(PhotoOutputSerializer(photo).data, status=status.HTTP_201_CREATED)


class PhotoFileApi(APIView):
    renderer_classes: Sequence[type[BaseRenderer]] = [JSONRenderer]

    @extend_schema(
        operation_id="photo_file",
        summary="The bytes of a photo",
        description="Served after the same access check as its measure or project.",
        parameters=[
            OpenApiParameter("photo_id", OpenApiTypes.UUID, OpenApiParameter.PATH),
        ],
        responses={
            (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY),
            **READ_ERRORS,
        },
    )
    def get(self, request: Request, photo_id: str) -> FileResponse:
        return photo_response(access_photo_by_public_id(request.user, photo_id))


class HouseholdMeasuresApi(JsonApi, APIView):
    @extend_schema(
        operation_id="household_measures",
        summary="The measures of a household",
        parameters=[HOUSEHOLD_NO],
        responses={200: MeasureOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, household_no: str) -> Response:
        household = access_household_by_no(request.user, household_no)
        measures = selectors.household_measures(household)
        return Response(MeasureOutputSerializer(measures, many=True).data)


class HouseholdTimelineApi(JsonApi, APIView):
    @extend_schema(
        operation_id="household_timeline",
        summary="The household's timeline",
        description="By year, newest first: the yearly record beside what happened that year "
        "(measures, construction stages, project benefits, and what other apps add such as "
        "visits).",
        parameters=[HOUSEHOLD_NO],
        responses={200: TimelineYearOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, household_no: str) -> Response:
        household = access_household_by_no(request.user, household_no)
        years = household_timeline(request.user, household, household_records(household))
        return Response(TimelineYearOutputSerializer(years, many=True).data)


# ---------------------------------------------------------------------------------------------
# Projects


def _project_data(values: dict[str, Any]) -> ProjectData:
    return ProjectData(
        name=values["name"],
        category=values["category"],
        year=values["year"],
        division_code=values["division_code"],
        village_codes=list(values["village_codes"]),
        responsible_unit=values["responsible_unit"],
        responsible_person=values["responsible_person"],
        content=values["content"],
        expected_benefit=values["expected_benefit"],
        progress=values["progress"],
    )


def _project_detail(request: Request, project: Project) -> dict[str, Any]:
    context = {
        "summary": selectors.project_summary(project),
        "villages": selectors.project_villages(project),
        "beneficiary_counts": selectors.project_beneficiary_count(
            actor=request.user, project=project
        ),
    }
    data: dict[str, Any] = ProjectDetailOutputSerializer(project, context=context).data
    return data


class ProjectListApi(JsonApi, APIView):
    @extend_schema(
        operation_id="project_list",
        summary="List projects",
        description="Projects whose owning division or one of whose villages the actor sees.",
        parameters=PROJECT_FILTERS,
        responses={
            200: ProjectListOutputSerializer(many=True),
            400: FIELD_ERRORS,
            401: ERRORS[401],
        },
    )
    def get(self, request: Request) -> Response:
        d = valid_filters(ProjectFilterForm(request.query_params))
        filters = selectors.ProjectFilters(
            division_code=d.get("division") or "",
            year=d.get("year"),
            category=d.get("category") or "",
            q=d.get("q") or "",
            overdue=bool(d.get("overdue")),
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(
            selectors.project_list(actor=request.user, filters=filters), request, view=self
        )
        rows = selectors.project_rows(list(page or []))
        return paginator.get_paginated_response(ProjectListOutputSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="project_create",
        summary="Add a project to the library",
        description="With its budget by fund source and planned milestone dates; the code is "
        "given by the system.",
        request=ProjectCreateInputSerializer,
        responses={201: ProjectDetailOutputSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        values = parse_input(ProjectCreateInputSerializer, request.data)
        funding = values.pop("funding")
        planned = values.pop("planned")
        project = project_create(
            actor=request.user,
            source=ChangeSource.api(),
            data=_project_data(values),
            funding=funding,
            planned=planned,
        )
        return Response(_project_detail(request, project), status=status.HTTP_201_CREATED)


class ProjectDetailApi(JsonApi, APIView):
    @extend_schema(
        operation_id="project_read",
        summary="Read a project",
        description="Progress, funds used against budget by source, milestones (overdue ones "
        "flagged) and how many beneficiary households the actor sees.",
        parameters=[PROJECT_CODE],
        responses={200: ProjectDetailOutputSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, project_code: str) -> Response:
        project = access_project_by_code(request.user, project_code)
        return Response(_project_detail(request, project))

    @extend_schema(
        operation_id="project_update",
        summary="Change a project",
        description="The fields left out keep their values; the owning division stays.",
        parameters=[PROJECT_CODE],
        request=ProjectInputSerializer,
        responses={200: ProjectDetailOutputSerializer, **ERRORS},
    )
    def patch(self, request: Request, project_code: str) -> Response:
        project = access_project_by_code(request.user, project_code, for_edit=True)
        values = parse_input(ProjectInputSerializer, request.data, partial=True)
        current = {
            "name": project.name,
            "category": project.category,
            "year": project.year,
            "division_code": project.division.code,
            "village_codes": [v.code for v in selectors.project_villages(project)],
            "responsible_unit": project.responsible_unit,
            "responsible_person": project.responsible_person,
            "content": project.content,
            "expected_benefit": project.expected_benefit,
            "progress": project.progress,
        }
        current.update(values)
        project = project_update(
            actor=request.user,
            source=ChangeSource.api(),
            project=project,
            data=_project_data(current),
        )
        return Response(_project_detail(request, project))


class ProjectFundingApi(JsonApi, APIView):
    @extend_schema(
        operation_id="project_funding",
        summary="Replace the project's budget by fund source",
        parameters=[PROJECT_CODE],
        request=FundingInputSerializer,
        responses={200: ProjectDetailOutputSerializer, **ERRORS},
    )
    def put(self, request: Request, project_code: str) -> Response:
        project = access_project_by_code(request.user, project_code, for_edit=True)
        values = parse_input(FundingInputSerializer, request.data)
        project_set_funding(
            actor=request.user,
            source=ChangeSource.api(),
            project=project,
            funding=values["funding"],
        )
        return Response(_project_detail(request, project))


class ProjectDisbursementApi(JsonApi, APIView):
    @extend_schema(
        operation_id="project_disbursement_list",
        summary="The project's disbursements",
        parameters=[PROJECT_CODE],
        responses={200: DisbursementSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, project_code: str) -> Response:
        project = access_project_by_code(request.user, project_code)
        return Response(
            DisbursementSerializer(selectors.project_disbursements(project), many=True).data
        )

    @extend_schema(
        operation_id="project_disbursement_add",
        summary="Record a disbursement",
        description="Above zero, not in the future, within the budget left from its source.",
        parameters=[PROJECT_CODE],
        request=DisbursementSerializer,
        responses={201: DisbursementSerializer, **ERRORS},
    )
    def post(self, request: Request, project_code: str) -> Response:
        project = access_project_by_code(request.user, project_code, for_edit=True)
        values = parse_input(DisbursementSerializer, request.data)
        disbursement = disbursement_add(
            actor=request.user,
            source=ChangeSource.api(),
            project=project,
            data=DisbursementData(
                source=values["source"],
                amount=values["amount"],
                paid_on=values["paid_on"],
                note=values.get("note", ""),
            ),
        )
        return Response(DisbursementSerializer(disbursement).data, status=status.HTTP_201_CREATED)


class ProjectMilestoneApi(JsonApi, APIView):
    @extend_schema(
        operation_id="project_milestone",
        summary="Set a milestone's planned and actual dates",
        description="Kinds: approval, filing, tender, start, completion, acceptance. An actual "
        "date is never in the future and milestones are reached in order.",
        parameters=[
            PROJECT_CODE,
            OpenApiParameter("kind", OpenApiTypes.STR, OpenApiParameter.PATH),
        ],
        request=MilestoneInputSerializer,
        responses={200: MilestoneOutputSerializer, **ERRORS},
    )
    def put(self, request: Request, project_code: str, kind: str) -> Response:
        project = access_project_by_code(request.user, project_code, for_edit=True)
        values = parse_input(MilestoneInputSerializer, request.data)
        milestone = milestone_set(
            actor=request.user, source=ChangeSource.api(), project=project, kind=kind, **values
        )
        return Response(MilestoneOutputSerializer(milestone).data)


class ProjectBeneficiaryApi(JsonApi, APIView):
    @extend_schema(
        operation_id="project_beneficiary_list",
        summary="The project's beneficiary households the actor sees",
        parameters=[PROJECT_CODE],
        responses={200: BeneficiaryOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, project_code: str) -> Response:
        project = access_project_by_code(request.user, project_code)
        items = selectors.project_beneficiaries(actor=request.user, project=project)
        return paginated_response(request, self, items, BeneficiaryOutputSerializer)

    @extend_schema(
        operation_id="project_beneficiary_add",
        summary="Add beneficiary households",
        description="Each must live in one of the project's villages; those listed already are "
        "left as they are. The answer lists the households added.",
        parameters=[PROJECT_CODE],
        request=BeneficiariesInputSerializer,
        responses={201: BeneficiaryOutputSerializer(many=True), **ERRORS},
    )
    def post(self, request: Request, project_code: str) -> Response:
        project = access_project_by_code(request.user, project_code, for_edit=True)
        values = parse_input(BeneficiariesInputSerializer, request.data)
        added = beneficiaries_add(
            actor=request.user, source=ChangeSource.api(), project=project, **values
        )
        for beneficiary in added:
            beneficiary.paid = None  # type: ignore[attr-defined]
        return Response(
            BeneficiaryOutputSerializer(added, many=True).data, status=status.HTTP_201_CREATED
        )


class ProjectBenefitApi(JsonApi, APIView):
    @extend_schema(
        operation_id="project_benefit_distribute",
        summary="Record benefits paid to beneficiary households for a year",
        parameters=[PROJECT_CODE],
        request=BenefitsInputSerializer,
        responses={201: OpenApiResponse(description="the number of payments recorded"), **ERRORS},
    )
    def post(self, request: Request, project_code: str) -> Response:
        project = access_project_by_code(request.user, project_code, for_edit=True)
        values = parse_input(BenefitsInputSerializer, request.data)
        payments = benefits_distribute(
            actor=request.user, source=ChangeSource.api(), project=project, **values
        )
        return Response({"recorded": len(payments)}, status=status.HTTP_201_CREATED)


class ProjectPhotoApi(APIView):
    parser_classes: Sequence[type[BaseParser]] = [MultiPartParser]
    renderer_classes: Sequence[type[BaseRenderer]] = [JSONRenderer]

    @extend_schema(
        operation_id="project_photo_list",
        summary="The photos of a project",
        parameters=[PROJECT_CODE],
        responses={200: PhotoOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, project_code: str) -> Response:
        project = access_project_by_code(request.user, project_code)
        return Response(PhotoOutputSerializer(selectors.project_photos(project), many=True).data)

    @extend_schema(
        operation_id="project_photo_add",
        summary="Add a project photo",
        parameters=[PROJECT_CODE],
        request={"multipart/form-data": PhotoInputSerializer},
        responses={201: PhotoOutputSerializer, **ERRORS},
    )
    def post(self, request: Request, project_code: str) -> Response:
        project = access_project_by_code(request.user, project_code, for_edit=True)
        return _photo_add(request, project=project)


class OverdueMilestoneApi(JsonApi, APIView):
    @extend_schema(
        operation_id="overdue_milestone_list",
        summary="Overdue project milestones (超期提醒)",
        description="Milestones past their planned date without an actual date, in the projects "
        "the actor sees, the longest overdue first.",
        parameters=[OpenApiParameter("division", OpenApiTypes.STR)],
        responses={200: OverdueMilestoneOutputSerializer(many=True), 401: ERRORS[401]},
    )
    def get(self, request: Request) -> Response:
        division = request.query_params.get("division", "")
        items = selectors.overdue_milestones(actor=request.user, division_code=division)
        return paginated_response(request, self, items, OverdueMilestoneOutputSerializer)
