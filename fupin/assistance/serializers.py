"""API v1 serializers of assistance: input serializers parse types, output serializers shape.

Every rule (amounts not negative, dates not in the future, catalogue fields, status order,
budgets, scope) lives in the services; the input serializers only turn JSON into values.
Labels (``*_label``) follow the request's language.
"""

from decimal import Decimal
from typing import Any

from django.db import models
from django.urls import reverse
from rest_framework import serializers

from fupin.assistance.models import (
    Disbursement,
    Family,
    FundSource,
    IncomeComponent,
    Measure,
    MeasureStage,
    MeasureType,
    Milestone,
    MilestoneKind,
    Photo,
    Project,
    ProjectBeneficiary,
    Stage,
)


def money(**kwargs: Any) -> serializers.DecimalField:
    """Yuan with two decimals."""
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


def _values(choices: type[models.TextChoices]) -> str:
    """The codes of a choice set, for the schema (plain strings: enum components of the same
    field name in other apps would collide)."""
    return "one of: " + ", ".join(choices.values)


# ---------------------------------------------------------------------------------------------
# The catalogue


class FieldSpecSerializer(serializers.Serializer[dict[str, Any]]):
    key = serializers.CharField()
    type = serializers.ChoiceField(
        choices=["text", "integer", "decimal", "date", "boolean", "choice"]
    )
    label_zh = serializers.CharField()
    label_en = serializers.CharField(required=False)
    required = serializers.BooleanField(required=False)  # type: ignore[assignment]
    unit = serializers.CharField(required=False)
    min = serializers.DecimalField(required=False, max_digits=14, decimal_places=2)
    max = serializers.DecimalField(required=False, max_digits=14, decimal_places=2)
    max_length = serializers.IntegerField(required=False)
    future = serializers.BooleanField(required=False, help_text="dates may lie in the future")
    choices = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()), required=False
    )


class MeasureTypeOutputSerializer(serializers.ModelSerializer[MeasureType]):
    family = serializers.CharField(read_only=True, help_text=_values(Family))
    target = serializers.CharField(read_only=True, help_text="household, member")
    income_component = serializers.CharField(read_only=True, help_text=_values(IncomeComponent))
    family_label = serializers.CharField(source="get_family_display", read_only=True)
    name = serializers.CharField(read_only=True)
    fields = FieldSpecSerializer(many=True, read_only=True)  # type: ignore[assignment]

    class Meta:
        model = MeasureType
        fields = [
            "code", "family", "family_label", "name", "name_zh", "name_en", "description",
            "target", "fields", "has_stages", "income_component", "default_income", "is_active",
            "is_bundled",
        ]  # fmt: skip
        read_only_fields = fields


class MeasureTypeInputSerializer(serializers.Serializer[dict[str, Any]]):
    code = serializers.CharField(max_length=40)
    family = serializers.CharField(max_length=20)
    name_zh = serializers.CharField(max_length=60)
    name_en = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    target = serializers.CharField(required=False, default="household")
    fields = serializers.ListField(  # type: ignore[assignment]
        child=serializers.JSONField(), required=False, default=list
    )
    has_stages = serializers.BooleanField(required=False, default=False)
    income_component = serializers.CharField(required=False, default="none")
    default_income = money(required=False, allow_null=True, default=None)
    is_active = serializers.BooleanField(required=False, default=True)


# ---------------------------------------------------------------------------------------------
# Measures


class StageOutputSerializer(serializers.ModelSerializer[MeasureStage]):
    stage = serializers.CharField(read_only=True, help_text=_values(Stage))
    stage_label = serializers.CharField(source="get_stage_display", read_only=True)

    class Meta:
        model = MeasureStage
        fields = ["stage", "stage_label", "on", "note"]
        read_only_fields = fields


class PhotoOutputSerializer(serializers.ModelSerializer[Photo]):
    phase = serializers.CharField(read_only=True, help_text=_values(Photo.Phase))
    taken_at_origin = serializers.CharField(read_only=True, help_text="exif, entered or empty")
    position_origin = serializers.CharField(read_only=True, help_text="exif, entered or empty")
    id = serializers.UUIDField(source="public_id", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Photo
        fields = [
            "id", "phase", "content_type", "size", "width", "height", "sha256", "taken_at",
            "taken_at_origin", "latitude", "longitude", "position_origin", "caption",
            "uploaded_at", "url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_url(self, photo: Photo) -> str:
        return reverse("api-photo-file", kwargs={"photo_id": photo.public_id})


class MeasureOutputSerializer(serializers.ModelSerializer[Measure]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    household_no = serializers.CharField(source="household.household_no", read_only=True)
    member = serializers.SerializerMethodField()
    type = serializers.CharField(source="type.code", read_only=True)
    type_name = serializers.CharField(source="type.name", read_only=True)
    family = serializers.CharField(source="type.family", read_only=True)
    income_component = serializers.CharField(source="type.income_component", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    project = serializers.SerializerMethodField()
    status = serializers.CharField(read_only=True, help_text=_values(Measure.Status))
    fund_source = serializers.CharField(read_only=True, help_text=_values(FundSource))
    stages = serializers.SerializerMethodField()

    class Meta:
        model = Measure
        fields = [
            "id", "household_no", "member", "type", "type_name", "family", "content", "year",
            "quarter", "planned_amount", "actual_amount", "fund_source", "responsible_unit",
            "responsible_person", "status", "status_label", "started_on", "completed_on",
            "verified_on", "expected_income", "recorded_income", "income_component", "project",
            "extra", "notes", "stages",
        ]  # fmt: skip
        read_only_fields = fields

    def get_member(self, measure: Measure) -> dict[str, str] | None:
        if measure.member is None:
            return None
        return {"id": str(measure.member.public_id), "name": measure.member.name}

    def get_project(self, measure: Measure) -> str:
        return measure.project.code if measure.project else ""

    def get_stages(self, measure: Measure) -> list[dict[str, Any]]:
        if not measure.type.has_stages:
            return []
        stages = sorted(measure.stages.all(), key=lambda s: s.on)
        return list(StageOutputSerializer(stages, many=True).data)


class MeasureDetailOutputSerializer(MeasureOutputSerializer):
    photos = PhotoOutputSerializer(many=True, read_only=True)

    class Meta(MeasureOutputSerializer.Meta):
        fields = [*MeasureOutputSerializer.Meta.fields, "photos"]
        read_only_fields = fields


class MeasureInputSerializer(serializers.Serializer[dict[str, Any]]):
    type = serializers.CharField(max_length=40)
    content = serializers.CharField(max_length=500, allow_blank=True)
    year = serializers.IntegerField()
    quarter = serializers.IntegerField(required=False, allow_null=True, default=None)
    member = serializers.CharField(required=False, allow_blank=True, default="")
    planned_amount = money(required=False, default=Decimal(0))
    actual_amount = money(required=False, allow_null=True, default=None)
    fund_source = serializers.CharField(required=False, allow_blank=True, default="")
    responsible_unit = serializers.CharField(required=False, allow_blank=True, default="")
    responsible_person = serializers.CharField(required=False, allow_blank=True, default="")
    expected_income = money(required=False, allow_null=True, default=None)
    recorded_income = money(required=False, allow_null=True, default=None)
    project = serializers.CharField(required=False, allow_blank=True, default="")
    extra = serializers.DictField(required=False, default=dict)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    status = serializers.CharField(required=False, default="planned")
    started_on = serializers.DateField(required=False, allow_null=True, default=None)
    completed_on = serializers.DateField(required=False, allow_null=True, default=None)


class MeasureCreateInputSerializer(MeasureInputSerializer):
    household_no = serializers.CharField(max_length=32)


class MeasureStatusInputSerializer(serializers.Serializer[dict[str, Any]]):
    status = serializers.CharField()
    on = serializers.DateField(required=False, allow_null=True, default=None)
    actual_amount = money(required=False, allow_null=True, default=None)
    recorded_income = money(required=False, allow_null=True, default=None)


class StageInputSerializer(serializers.Serializer[dict[str, Any]]):
    stage = serializers.CharField()
    on = serializers.DateField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class PhotoInputSerializer(serializers.Serializer[dict[str, Any]]):
    file = serializers.FileField(help_text="a JPEG or PNG image")
    phase = serializers.CharField(required=False, default="evidence")
    taken_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    latitude = serializers.DecimalField(
        required=False, allow_null=True, default=None, max_digits=12, decimal_places=6
    )
    longitude = serializers.DecimalField(
        required=False, allow_null=True, default=None, max_digits=12, decimal_places=6
    )
    caption = serializers.CharField(required=False, allow_blank=True, default="")


class TimelineEntryOutputSerializer(serializers.Serializer[Any]):
    on = serializers.DateField()
    kind = serializers.CharField()
    title = serializers.CharField()
    detail = serializers.CharField()
    status = serializers.CharField()
    status_code = serializers.CharField()
    amount = money(allow_null=True)
    planned = serializers.BooleanField()


class TimelineRecordOutputSerializer(serializers.Serializer[Any]):
    survey_year = serializers.IntegerField()
    household_size = serializers.IntegerField()
    per_capita_net_income = money()
    housing_grade = serializers.CharField()


class TimelineYearOutputSerializer(serializers.Serializer[Any]):
    year = serializers.IntegerField()
    record = TimelineRecordOutputSerializer(allow_null=True)
    entries = TimelineEntryOutputSerializer(many=True)


# ---------------------------------------------------------------------------------------------
# Projects


class ProjectListOutputSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(source="project.code")
    name = serializers.CharField(source="project.name")
    category = serializers.CharField(source="project.category")
    year = serializers.IntegerField(source="project.year")
    division_code = serializers.CharField(source="project.division.code")
    division_name = serializers.CharField(source="project.division.name")
    progress = serializers.IntegerField(source="project.progress")
    budget = serializers.DecimalField(max_digits=16, decimal_places=2)
    disbursed = serializers.DecimalField(max_digits=16, decimal_places=2)
    stage = serializers.CharField(help_text="the latest milestone reached")
    overdue = serializers.IntegerField(help_text="milestones past their planned date")


class FundLineOutputSerializer(serializers.Serializer[Any]):
    source = serializers.CharField()  # type: ignore[assignment]
    label = serializers.CharField()  # type: ignore[assignment]
    budget = serializers.DecimalField(max_digits=16, decimal_places=2)
    disbursed = serializers.DecimalField(max_digits=16, decimal_places=2)
    share = serializers.IntegerField(help_text="per cent of the budget disbursed")


class MilestoneLineOutputSerializer(serializers.Serializer[Any]):
    kind = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    planned_on = serializers.DateField(allow_null=True)
    actual_on = serializers.DateField(allow_null=True)
    note = serializers.CharField()
    overdue = serializers.BooleanField()
    days_late = serializers.IntegerField()


class ProjectDetailOutputSerializer(serializers.ModelSerializer[Project]):
    division_code = serializers.CharField(source="division.code", read_only=True)
    division_name = serializers.CharField(source="division.name", read_only=True)
    villages = serializers.SerializerMethodField()
    budget = serializers.SerializerMethodField()
    disbursed = serializers.SerializerMethodField()
    stage = serializers.SerializerMethodField()
    funds = serializers.SerializerMethodField()
    milestones = serializers.SerializerMethodField()
    beneficiaries = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "code", "name", "category", "year", "division_code", "division_name", "villages",
            "responsible_unit", "responsible_person", "content", "expected_benefit", "progress",
            "budget", "disbursed", "stage", "funds", "milestones", "beneficiaries",
        ]  # fmt: skip
        read_only_fields = fields

    def get_villages(self, project: Project) -> list[dict[str, str]]:
        return [{"code": v.code, "name": v.name} for v in self.context["villages"]]

    def get_budget(self, project: Project) -> str:
        return f"{self.context['summary'].budget:.2f}"

    def get_disbursed(self, project: Project) -> str:
        return f"{self.context['summary'].disbursed:.2f}"

    def get_stage(self, project: Project) -> str:
        return str(self.context["summary"].stage)

    def get_funds(self, project: Project) -> list[dict[str, Any]]:
        return list(FundLineOutputSerializer(self.context["summary"].funds, many=True).data)

    def get_milestones(self, project: Project) -> list[dict[str, Any]]:
        return list(
            MilestoneLineOutputSerializer(self.context["summary"].milestones, many=True).data
        )

    def get_beneficiaries(self, project: Project) -> dict[str, int]:
        seen, total = self.context["beneficiary_counts"]
        return {"visible": seen, "total": total}


class ProjectInputSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField(max_length=120, allow_blank=True)
    category = serializers.CharField(max_length=20)
    year = serializers.IntegerField()
    division_code = serializers.CharField(max_length=12)
    village_codes = serializers.ListField(child=serializers.CharField(max_length=12))
    responsible_unit = serializers.CharField(max_length=100, allow_blank=True)
    responsible_person = serializers.CharField(max_length=50, allow_blank=True)
    content = serializers.CharField(required=False, allow_blank=True, default="")
    expected_benefit = serializers.CharField(required=False, allow_blank=True, default="")
    progress = serializers.IntegerField(required=False, default=0)


class ProjectCreateInputSerializer(ProjectInputSerializer):
    funding = serializers.DictField(
        child=serializers.DecimalField(max_digits=16, decimal_places=2),
        required=False,
        default=dict,
        help_text="budget by fund source: central, provincial, city, county, township_village, "
        "self_raised, social",
    )
    planned = serializers.DictField(
        child=serializers.DateField(),
        required=False,
        default=dict,
        help_text="planned dates by milestone: approval, filing, tender, start, completion, "
        "acceptance",
    )


class FundingInputSerializer(serializers.Serializer[dict[str, Any]]):
    funding = serializers.DictField(child=serializers.DecimalField(max_digits=16, decimal_places=2))


class DisbursementSerializer(serializers.ModelSerializer[Disbursement]):
    source = serializers.CharField(help_text=_values(FundSource))  # type: ignore[assignment]

    class Meta:
        model = Disbursement
        fields = ["source", "amount", "paid_on", "note"]
        extra_kwargs = {"amount": {"min_value": None}, "note": {"required": False}}


class MilestoneInputSerializer(serializers.Serializer[dict[str, Any]]):
    planned_on = serializers.DateField(required=False, allow_null=True, default=None)
    actual_on = serializers.DateField(required=False, allow_null=True, default=None)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class MilestoneOutputSerializer(serializers.ModelSerializer[Milestone]):
    kind = serializers.CharField(read_only=True, help_text=_values(MilestoneKind))

    class Meta:
        model = Milestone
        fields = ["kind", "planned_on", "actual_on", "note"]
        read_only_fields = fields


class BeneficiaryOutputSerializer(serializers.ModelSerializer[ProjectBeneficiary]):
    household_no = serializers.CharField(source="household.household_no", read_only=True)
    head_name = serializers.CharField(source="household.head_name", read_only=True)
    village_code = serializers.CharField(source="household.division.code", read_only=True)
    paid = money(read_only=True, allow_null=True)

    class Meta:
        model = ProjectBeneficiary
        fields = [
            "household_no",
            "head_name",
            "village_code",
            "expected_benefit",
            "added_on",
            "paid",
        ]
        read_only_fields = fields


class BeneficiariesInputSerializer(serializers.Serializer[dict[str, Any]]):
    household_nos = serializers.ListField(child=serializers.CharField(max_length=32))
    expected_benefit = money(required=False, allow_null=True, default=None)
    added_on = serializers.DateField(required=False, allow_null=True, default=None)


class BenefitsInputSerializer(serializers.Serializer[dict[str, Any]]):
    year = serializers.IntegerField()
    paid_on = serializers.DateField()
    amounts = serializers.DictField(child=money(), help_text="amount paid by household number")


class OverdueMilestoneOutputSerializer(serializers.ModelSerializer[Milestone]):
    kind = serializers.CharField(read_only=True, help_text=_values(MilestoneKind))
    project_code = serializers.CharField(source="project.code", read_only=True)
    project_name = serializers.CharField(source="project.name", read_only=True)
    division_code = serializers.CharField(source="project.division.code", read_only=True)
    responsible_unit = serializers.CharField(source="project.responsible_unit", read_only=True)
    responsible_person = serializers.CharField(source="project.responsible_person", read_only=True)
    days_late = serializers.SerializerMethodField()

    class Meta:
        model = Milestone
        fields = [
            "project_code", "project_name", "division_code", "kind", "planned_on", "days_late",
            "responsible_unit", "responsible_person",
        ]  # fmt: skip
        read_only_fields = fields

    def get_days_late(self, milestone: Milestone) -> int:
        from django.utils import timezone

        if milestone.planned_on is None:
            return 0
        return (timezone.localdate() - milestone.planned_on).days
