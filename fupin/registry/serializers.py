"""API v1 serializers of the registry: input serializers parse types, output serializers shape.

Every rule (codes, id numbers, amounts, one head per household, scope) lives in the services;
the input serializers only turn JSON into the values the services take.

Output serializers read two things from their context, both set by the API views:
``can_see_personal_data`` (a function of a division path; without it personal data is masked)
and ``code_lists`` (the code lists whose Chinese labels the ``*_label`` fields show).
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# ErrorOutputSerializer now lives with the API plumbing; importable from here as before.
from fupin.core.api import ErrorOutputSerializer as ErrorOutputSerializer  # noqa: PLC0414
from fupin.core.code_lists import CodeList
from fupin.core.masking import mask_mapping
from fupin.divisions.models import Division
from fupin.registry.models import Household, Member, YearlyRecord

# ---------------------------------------------------------------------------------------------
# Output


def _may_see_personal_data(serializer: serializers.BaseSerializer[Any], division_path: str) -> bool:
    check: Callable[[str], bool] | None = serializer.context.get("can_see_personal_data")
    return bool(check and check(division_path))


@extend_schema_field(OpenApiTypes.STR)
class CodeLabelField(serializers.Field[str, str, str, Any]):
    """The Chinese label (``label_zh``) of a code of the code list ``list_key``."""

    def __init__(self, list_key: str, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)
        self.list_key = list_key

    def to_representation(self, value: str) -> str:
        if not value:
            return ""
        lists: dict[str, CodeList] = self.context.get("code_lists") or {}
        code_list = lists.get(self.list_key)
        item = code_list.codes.get(value) if code_list else None
        return item.label_zh if item else value


class DivisionOutputSerializer(serializers.ModelSerializer[Division]):
    class Meta:
        model = Division
        fields = ["code", "name"]
        read_only_fields = fields


class RecordSummaryOutputSerializer(serializers.ModelSerializer[YearlyRecord]):
    per_capita_net_income = serializers.DecimalField(
        max_digits=12, decimal_places=2, read_only=True
    )

    class Meta:
        model = YearlyRecord
        fields = ["survey_year", "household_size", "per_capita_net_income"]
        read_only_fields = fields


class RecordOutputSerializer(serializers.ModelSerializer[YearlyRecord]):
    housing_grade_label = CodeLabelField("housing_grade", source="housing_grade")
    net_income = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    per_capita_net_income = serializers.DecimalField(
        max_digits=12, decimal_places=2, read_only=True
    )

    class Meta:
        model = YearlyRecord
        fields = [
            "survey_year", "household_size", "wage_income", "business_income", "property_income",
            "transfer_income", "business_cost", "excluded_income", "net_income",
            "per_capita_net_income", "farmland_mu", "housing_grade", "housing_grade_label",
            "safe_water", "food_secure", "clothing_secure", "has_electricity",
        ]  # fmt: skip
        read_only_fields = fields


class MemberOutputSerializer(serializers.ModelSerializer[Member]):
    """A member, current or former; the id number is masked for roles without the right to it."""

    household_no = serializers.CharField(source="household.household_no", read_only=True)
    sex_label = CodeLabelField("sex", source="sex")
    relation_label = CodeLabelField("relation", source="relation")
    ethnicity_label = CodeLabelField("ethnicity", source="ethnicity")
    education_label = CodeLabelField("education", source="education")
    schooling_label = CodeLabelField("schooling", source="schooling")
    health_label = CodeLabelField("health", source="health")
    labour_label = CodeLabelField("labour", source="labour")
    work_place_label = CodeLabelField("work_place", source="work_place")

    class Meta:
        model = Member
        fields = [
            "public_id", "household_no", "name", "id_number", "sex", "sex_label", "birth_date",
            "relation", "relation_label", "ethnicity", "ethnicity_label", "education",
            "education_label", "schooling", "schooling_label", "health", "health_label",
            "labour", "labour_label", "work_place", "work_place_label", "work_months",
            "basic_medical", "critical_illness", "pension", "dibao", "tekun", "is_active",
            "left_on", "left_reason",
        ]  # fmt: skip
        read_only_fields = fields

    def to_representation(self, instance: Member) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if not _may_see_personal_data(self, instance.household.division.path):
            data = mask_mapping(data)
        return data


class HouseholdListOutputSerializer(serializers.ModelSerializer[Household]):
    """One household of the list, with its active member count and its latest yearly record."""

    # Context: ``member_counts`` (household pk → active members) and ``latest_records``
    # (household pk → newest yearly record), both read for the whole page at once.

    division = DivisionOutputSerializer(read_only=True)
    other_causes = serializers.ListField(child=serializers.CharField(), read_only=True)
    member_count = serializers.SerializerMethodField()
    latest_record = serializers.SerializerMethodField()

    class Meta:
        model = Household
        fields = [
            "household_no", "division", "head_name", "phone", "identified_year", "standard",
            "category", "main_cause", "other_causes", "status", "exit_year", "member_count",
            "latest_record",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.INT)
    def get_member_count(self, household: Household) -> int:
        counts: dict[int, int] = self.context.get("member_counts") or {}
        return counts.get(household.pk, 0)

    @extend_schema_field(RecordSummaryOutputSerializer(allow_null=True))
    def get_latest_record(self, household: Household) -> dict[str, Any] | None:
        records: dict[int, YearlyRecord] = self.context.get("latest_records") or {}
        record = records.get(household.pk)
        if record is None:
            return None
        data: dict[str, Any] = RecordSummaryOutputSerializer(record, context=self.context).data
        return data

    def to_representation(self, instance: Household) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if not _may_see_personal_data(self, instance.division.path):
            data = mask_mapping(data)
        return data


class HouseholdDetailOutputSerializer(serializers.ModelSerializer[Household]):
    """A household with all its members (active and former) and all its yearly records."""

    # Context: ``members`` and ``records``, read by the view through the selectors.

    division = DivisionOutputSerializer(read_only=True)
    other_causes = serializers.ListField(child=serializers.CharField(), read_only=True)
    standard_label = CodeLabelField("standard", source="standard")
    category_label = CodeLabelField("category", source="category")
    main_cause_label = CodeLabelField("main_cause", source="main_cause")
    other_causes_labels = serializers.ListField(
        child=CodeLabelField("main_cause"), source="other_causes", read_only=True
    )
    status_label = CodeLabelField("status", source="status")
    members = serializers.SerializerMethodField()
    records = serializers.SerializerMethodField()

    class Meta:
        model = Household
        fields = [
            "household_no", "division", "head_name", "phone", "identified_year", "standard",
            "standard_label", "category", "category_label", "main_cause", "main_cause_label",
            "other_causes", "other_causes_labels", "status", "status_label", "exit_year",
            "created_at", "updated_at", "members", "records",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(MemberOutputSerializer(many=True))
    def get_members(self, household: Household) -> list[dict[str, Any]]:
        members = self.context.get("members") or []
        return [MemberOutputSerializer(item, context=self.context).data for item in members]

    @extend_schema_field(RecordOutputSerializer(many=True))
    def get_records(self, household: Household) -> list[dict[str, Any]]:
        records = self.context.get("records") or []
        return [RecordOutputSerializer(item, context=self.context).data for item in records]

    def to_representation(self, instance: Household) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if not _may_see_personal_data(self, instance.division.path):
            data = mask_mapping(data)
        return data


# ---------------------------------------------------------------------------------------------
# Input: types only. Strings may be blank and codes are free text so that the services report
# missing and unknown values, in the people's language, at the field they concern.


def _text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(allow_blank=True, **kwargs)


def _optional_text() -> serializers.CharField:
    return serializers.CharField(allow_blank=True, required=False, default="")


def _optional_bool() -> serializers.BooleanField:
    return serializers.BooleanField(allow_null=True, required=False, default=None)


def _amount(**kwargs: Any) -> serializers.DecimalField:
    # No digit limits here: validate_record reports negative, too large and too precise amounts.
    return serializers.DecimalField(max_digits=None, decimal_places=None, **kwargs)


class HouseholdUpdateInputSerializer(serializers.Serializer[Any]):
    """The household's own facts (PUT replaces them all, PATCH the given ones)."""

    division_code = _text(help_text="12-digit code of the village or village group")
    identified_year = serializers.IntegerField()
    standard = _text(help_text="code list 'standard'")
    category = _text(help_text="code list 'category'")
    main_cause = _text(help_text="code list 'main_cause'")
    status = _text(help_text="code list 'status'")
    other_causes = serializers.ListField(
        child=serializers.CharField(), required=False, default=list,
        help_text="up to two more codes of the list 'main_cause'",
    )  # fmt: skip
    exit_year = serializers.IntegerField(allow_null=True, required=False, default=None)
    phone = _optional_text()


class MemberInputSerializer(serializers.Serializer[Any]):
    name = _text()
    id_number = _text(help_text="18-character id number or 20-character disability number")
    sex = _text(help_text="code list 'sex'")
    birth_date = serializers.DateField()
    relation = _text(help_text="code list 'relation'; exactly one member is 'head'")
    health = _text(help_text="code list 'health'")
    labour = _text(help_text="code list 'labour'")
    basic_medical = serializers.BooleanField()
    ethnicity = _optional_text()
    education = _optional_text()
    schooling = _optional_text()
    work_place = _optional_text()
    work_months = serializers.IntegerField(allow_null=True, required=False, default=None)
    critical_illness = _optional_bool()
    pension = _optional_bool()
    dibao = _optional_bool()
    tekun = _optional_bool()


class RecordInputSerializer(serializers.Serializer[Any]):
    """A yearly record (入户核查); its survey year is the one in the path."""

    household_size = serializers.IntegerField(help_text="number of active members")
    wage_income = _amount()
    business_income = _amount()
    property_income = _amount()
    transfer_income = _amount()
    business_cost = _amount()
    excluded_income = _amount(required=False, default=Decimal(0))
    farmland_mu = _amount(allow_null=True, required=False, default=None)
    housing_grade = _text(help_text="code list 'housing_grade'")
    safe_water = serializers.BooleanField()
    food_secure = serializers.BooleanField()
    clothing_secure = serializers.BooleanField()
    has_electricity = _optional_bool()


class FirstRecordInputSerializer(RecordInputSerializer):
    """The household's first yearly record."""

    survey_year = serializers.IntegerField()


class HouseholdRegisterInputSerializer(HouseholdUpdateInputSerializer):
    """A new household: its facts, its members (exactly one head) and its first yearly record."""

    household_no = serializers.CharField(
        allow_blank=True, required=False, default="",
        help_text="leave out to number the household after its division",
    )  # fmt: skip
    members = MemberInputSerializer(many=True)
    record = FirstRecordInputSerializer()


class MemberLeaveInputSerializer(serializers.Serializer[Any]):
    reason = _text(help_text="death, marriage out, moving away…")
    left_on = serializers.DateField(
        allow_null=True, required=False, default=None, help_text="default: today"
    )


class MemberMoveInputSerializer(serializers.Serializer[Any]):
    to_household_no = serializers.CharField()
    relation = _text(help_text="relation to the head of the new household")
