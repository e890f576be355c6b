"""API v1 of the policy app: a household's evaluation explained criterion by criterion.

Thin: the access function answers 404 for a household outside the actor's area exactly as for a
missing one; the explanation is computed live with the policy in force (``explain``).
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fupin.core.api import READ_ERRORS
from fupin.policy.explain import explain_household
from fupin.registry.access import access_household_by_no
from fupin.registry.selectors import household_records


class EvaluationSourceOutputSerializer(serializers.Serializer[Any]):
    parameter = serializers.CharField(help_text="policy parameter, e.g. poverty_line")
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    qualifier = serializers.CharField(help_text="standard, province code, level or step")
    value = serializers.JSONField(help_text="the value used (yuan, %, years …)")
    unit = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)
    valid_from = serializers.DateField(allow_null=True)
    valid_to = serializers.DateField(allow_null=True)
    note = serializers.CharField(help_text="where the value comes from")
    override = serializers.BooleanField()


class EvaluationCriterionOutputSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    value = serializers.JSONField(help_text="the household's value (yuan as a decimal string)")
    op = serializers.CharField(help_text="> ≥ < ≤ == is in")
    threshold = serializers.JSONField()
    unit = serializers.CharField(help_text="yuan, count, grade, flag, months or percent")
    passed = serializers.BooleanField()
    decisive = serializers.BooleanField(help_text="false: taken into account, not deciding")
    sources = EvaluationSourceOutputSerializer(many=True)
    details = serializers.DictField()


class EvaluationTestOutputSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="identification, exit, monitoring or elimination")
    name = serializers.CharField()
    applies = serializers.BooleanField(help_text="the test that decides this household's outcome")
    passed = serializers.BooleanField()
    criteria = EvaluationCriterionOutputSerializer(many=True)


class EvaluationStoredOutputSerializer(serializers.Serializer[Any]):
    run_id = serializers.IntegerField()
    outcome = serializers.CharField()
    category = serializers.CharField()
    failed = serializers.ListField(child=serializers.CharField())
    policy_version = serializers.IntegerField()
    data_version = serializers.CharField()
    agrees = serializers.BooleanField(help_text="the stored result equals the live one")


class EvaluationRiskOutputSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label


class EvaluationOutputSerializer(serializers.Serializer[Any]):
    household_no = serializers.CharField()
    year = serializers.IntegerField()
    outcome = serializers.CharField(
        help_text="exit_qualified, still_poor, returned, identified, monitoring, "
        "risk_eliminated, stable, not_poor or no_record"
    )
    outcome_label = serializers.CharField()
    category = serializers.CharField(help_text="monitoring category: unstable, marginal, sudden")
    category_label = serializers.CharField()
    risks = EvaluationRiskOutputSerializer(many=True)
    failed = serializers.ListField(child=serializers.CharField())
    per_capita_income = serializers.DecimalField(
        max_digits=14, decimal_places=2, allow_null=True, coerce_to_string=True
    )
    policy_version = serializers.IntegerField()
    tests = EvaluationTestOutputSerializer(many=True)
    out_of_school = serializers.ListField(child=serializers.DictField())
    renovation = serializers.DictField(allow_null=True)
    stored = EvaluationStoredOutputSerializer(allow_null=True)


class HouseholdEvaluationApi(APIView):
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="household_evaluation",
        summary="A household's evaluation, criterion by criterion",
        description=(
            "Identification, exit, monitoring and risk elimination for the year with the policy "
            "in force: each criterion's household value, threshold, pass or fail and the source "
            "of the threshold. Without `year`, the household's latest survey year."
        ),
        parameters=[
            OpenApiParameter(
                "household_no",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="household number (户编号)",
            ),
            OpenApiParameter("year", OpenApiTypes.INT, description="the policy year"),
        ],
        responses={
            200: EvaluationOutputSerializer,
            400: OpenApiResponse(description="bad year or no policy for it"),
            **READ_ERRORS,
        },
    )
    def get(self, request: Request, household_no: str) -> Response:
        household = access_household_by_no(request.user, household_no)
        raw = request.query_params.get("year", "")
        if raw:
            if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
                raise DjangoValidationError({"year": [_("Give the year as four digits.")]})
            year = int(raw)
        else:
            records = household_records(household)
            if not records:
                raise DjangoValidationError(
                    {"year": [_("The household has no yearly record: give the year.")]}
                )
            year = records[-1].survey_year
        return Response(explain_household(household, year).as_dict())
