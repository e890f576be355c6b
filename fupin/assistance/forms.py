"""Forms of the assistance pages. They read and type the input; the services judge it (a
negative amount or a future date passes the form and is refused by the service at the field)."""

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from fupin.accounts.roles import EDITOR_ROLES
from fupin.accounts.scope import actor_scope
from fupin.assistance.catalogue import choice_label, field_label
from fupin.assistance.models import (
    Family,
    FundSource,
    IncomeComponent,
    Measure,
    MeasureType,
    MilestoneKind,
    Photo,
    Project,
    ProjectCategory,
    Stage,
)
from fupin.assistance.services import (
    TRANSITIONS,
    DisbursementData,
    MeasureData,
    MeasureTypeData,
    PhotoData,
    ProjectData,
)
from fupin.divisions.models import Division, Level
from fupin.registry.models import Member

BLANK = ("", "—")
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
TEXTAREA = forms.Textarea(attrs={"rows": 3})


class LongSelectMultiple(forms.SelectMultiple):
    """A multiple select rendered without a template per option (hundreds of villages)."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        final["multiple"] = True
        chosen = {str(v) for v in (value or [])}

        def option(code: Any, label: Any) -> str:
            mark = " selected" if str(code) in chosen else ""
            return f'<option value="{escape(code)}"{mark}>{escape(label)}</option>'

        parts = [f"<select{flatatt(final)}>"]
        for key, entry in self.choices:
            if isinstance(entry, list | tuple):
                parts.append(f'<optgroup label="{escape(key)}">')
                parts.extend(option(code, label) for code, label in entry)
                parts.append("</optgroup>")
            else:
                parts.append(option(key, entry))
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)


# ---------------------------------------------------------------------------------------------
# Measures


class MeasureForm(forms.Form):
    """The common facts of a measure; the type's own fields are added as ``extra__<key>``."""

    member = forms.ChoiceField(label=_("Member"), required=False)
    content = forms.CharField(label=_("Content"), max_length=500, widget=TEXTAREA)
    year = forms.IntegerField(label=_("Year"))
    quarter = forms.TypedChoiceField(
        label=_("Quarter"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[BLANK, (1, "1"), (2, "2"), (3, "3"), (4, "4")],
    )
    planned_amount = forms.DecimalField(label=_("Planned amount (yuan)"), max_digits=14)
    actual_amount = forms.DecimalField(
        label=_("Actual amount (yuan)"), max_digits=14, required=False
    )
    fund_source = forms.ChoiceField(
        label=_("Fund source"), required=False, choices=[BLANK, *FundSource.choices]
    )
    responsible_unit = forms.CharField(label=_("Responsible unit"), max_length=100, required=False)
    responsible_person = forms.CharField(
        label=_("Responsible person"), max_length=50, required=False
    )
    expected_income = forms.DecimalField(
        label=_("Expected income effect (yuan/year)"), max_digits=14, required=False
    )
    recorded_income = forms.DecimalField(
        label=_("Recorded income effect (yuan/year)"), max_digits=14, required=False
    )
    project = forms.ChoiceField(label=_("Project"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[
            (Measure.Status.PLANNED, Measure.Status.PLANNED.label),
            (Measure.Status.UNDER_WAY, Measure.Status.UNDER_WAY.label),
            (Measure.Status.DONE, Measure.Status.DONE.label),
        ],
    )
    started_on = forms.DateField(label=_("Started on"), required=False, widget=DATE_WIDGET)
    completed_on = forms.DateField(label=_("Completed on"), required=False, widget=DATE_WIDGET)
    notes = forms.CharField(label=_("Notes"), required=False, widget=TEXTAREA)

    common_fields = (
        "member",
        "content",
        "year",
        "quarter",
        "planned_amount",
        "actual_amount",
        "fund_source",
        "responsible_unit",
        "responsible_person",
        "expected_income",
        "recorded_income",
        "project",
    )
    status_fields = ("status", "started_on", "completed_on", "notes")

    def __init__(
        self,
        *args: Any,
        measure_type: MeasureType,
        members: list[Member],
        projects: list[Project],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.measure_type = measure_type
        member_field = self.fields["member"]
        assert isinstance(member_field, forms.ChoiceField)
        member_field.choices = [BLANK, *[(str(m.public_id), m.name) for m in members]]
        if measure_type.target == MeasureType.Target.MEMBER:
            member_field.required = True
        project_field = self.fields["project"]
        assert isinstance(project_field, forms.ChoiceField)
        project_field.choices = [BLANK, *[(p.code, f"{p.code} {p.name}") for p in projects]]
        self.extra_fields: list[str] = []
        for spec in measure_type.fields:
            name = f"extra__{spec['key']}"
            self.fields[name] = _extra_field(spec)
            self.extra_fields.append(name)

    def measure_data(self) -> MeasureData:
        d = self.cleaned_data
        extra = {
            name.removeprefix("extra__"): d.get(name)
            for name in self.extra_fields
            if d.get(name) not in (None, "")
        }
        return MeasureData(
            type_code=self.measure_type.code,
            content=d["content"],
            year=d["year"],
            quarter=d.get("quarter"),
            member_id=d.get("member") or "",
            planned_amount=d["planned_amount"],
            actual_amount=d.get("actual_amount"),
            fund_source=d.get("fund_source") or "",
            responsible_unit=d.get("responsible_unit") or "",
            responsible_person=d.get("responsible_person") or "",
            expected_income=d.get("expected_income"),
            recorded_income=d.get("recorded_income"),
            project_code=d.get("project") or "",
            extra=extra,
            notes=d.get("notes") or "",
            status=d["status"],
            started_on=d.get("started_on"),
            completed_on=d.get("completed_on"),
        )


def _yes_no(value: str) -> bool | None:
    return {"True": True, "False": False}.get(value)


def _extra_field(spec: dict[str, Any]) -> forms.Field:
    label = field_label(spec)
    if spec.get("unit"):
        label = f"{label}（{spec['unit']}）"
    required = bool(spec.get("required"))
    kind = spec["type"]
    if kind == "integer":
        return forms.IntegerField(label=label, required=required)
    if kind == "decimal":
        return forms.DecimalField(label=label, required=required, max_digits=14)
    if kind == "date":
        return forms.DateField(label=label, required=required, widget=DATE_WIDGET)
    if kind == "boolean":
        return forms.TypedChoiceField(
            label=label,
            required=required,
            coerce=_yes_no,
            empty_value=None,
            choices=[BLANK, ("True", _("Yes")), ("False", _("No"))],
        )
    if kind == "choice":
        return forms.ChoiceField(
            label=label,
            required=required,
            choices=[
                BLANK,
                *[(c["value"], choice_label(spec, c["value"])) for c in spec["choices"]],
            ],
        )
    return forms.CharField(label=label, required=required, max_length=spec.get("max_length", 200))


def measure_initial(measure: Measure) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "member": str(measure.member.public_id) if measure.member else "",
        "content": measure.content,
        "year": measure.year,
        "quarter": measure.quarter,
        "planned_amount": measure.planned_amount,
        "actual_amount": measure.actual_amount,
        "fund_source": measure.fund_source,
        "responsible_unit": measure.responsible_unit,
        "responsible_person": measure.responsible_person,
        "expected_income": measure.expected_income,
        "recorded_income": measure.recorded_income,
        "project": measure.project.code if measure.project else "",
        "status": measure.status,
        "started_on": measure.started_on,
        "completed_on": measure.completed_on,
        "notes": measure.notes,
    }
    for key, value in (measure.extra or {}).items():
        initial[f"extra__{key}"] = (
            {True: "True", False: "False"}.get(value, value) if isinstance(value, bool) else value
        )
    return initial


def new_measure_initial(measure_type: MeasureType) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "year": today.year,
        "quarter": (today.month - 1) // 3 + 1,
        "planned_amount": Decimal(0),
        "expected_income": measure_type.default_income,
        "status": Measure.Status.PLANNED,
    }


class MeasureStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"))
    on = forms.DateField(label=_("Date"), required=False, widget=DATE_WIDGET)
    actual_amount = forms.DecimalField(
        label=_("Actual amount (yuan)"), max_digits=14, required=False
    )
    recorded_income = forms.DecimalField(
        label=_("Recorded income effect (yuan/year)"), max_digits=14, required=False
    )

    def __init__(self, *args: Any, measure: Measure, can_verify: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = [
            s
            for s in Measure.Status
            if s.value in TRANSITIONS[measure.status]
            and (s != Measure.Status.VERIFIED or can_verify)
        ]
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(s.value, s.label) for s in allowed]


class StageForm(forms.Form):
    stage = forms.ChoiceField(label=_("Stage"), choices=Stage.choices)
    on = forms.DateField(label=_("Date"), widget=DATE_WIDGET)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class PhotoForm(forms.Form):
    file = forms.FileField(label=_("Photo (JPEG or PNG)"))
    phase = forms.ChoiceField(label=_("Phase"), choices=Photo.Phase.choices)
    taken_at = forms.DateTimeField(
        label=_("Taken at"),
        required=False,
        widget=DATETIME_WIDGET,
        help_text=_("Only needed when the photo does not carry its time."),
    )
    latitude = forms.DecimalField(label=_("Latitude"), required=False, max_digits=12)
    longitude = forms.DecimalField(
        label=_("Longitude"),
        required=False,
        max_digits=12,
        help_text=_("Only needed when the photo does not carry its position."),
    )
    caption = forms.CharField(label=_("Caption"), max_length=200, required=False)

    def __init__(self, *args: Any, with_phases: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_phases:
            field = self.fields["phase"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [(Photo.Phase.EVIDENCE, Photo.Phase.EVIDENCE.label)]

    def photo_data(self) -> PhotoData:
        d = self.cleaned_data
        return PhotoData(
            phase=d["phase"],
            taken_at=d.get("taken_at"),
            latitude=d.get("latitude"),
            longitude=d.get("longitude"),
            caption=d.get("caption") or "",
        )


class MeasureFilterForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), required=False, min_value=2013, max_value=2100)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *Measure.Status.choices]
    )
    family = forms.ChoiceField(
        label=_("Family"), required=False, choices=[("", _("All")), *Family.choices]
    )
    type = forms.CharField(label=_("Measure type"), required=False, max_length=40)
    household_no = forms.CharField(label=_("Household number"), required=False, max_length=32)
    division = forms.RegexField(label=_("Division"), regex=r"^[0-9]{12}$", required=False)


# ---------------------------------------------------------------------------------------------
# The catalogue


class MeasureTypeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        help_text=_("Lower-case letters, digits and _; it never changes."),
    )
    family = forms.ChoiceField(label=_("Family"), choices=[BLANK, *Family.choices])
    name_zh = forms.CharField(label=_("Chinese name"), max_length=60)
    name_en = forms.CharField(label=_("English name"), max_length=100)
    description = forms.CharField(label=_("Description"), required=False, widget=TEXTAREA)
    target = forms.ChoiceField(label=_("Given to"), choices=MeasureType.Target.choices)
    has_stages = forms.BooleanField(
        label=_("Has construction stages (开工 / 竣工 / 验收 / 入住)"), required=False
    )
    income_component = forms.ChoiceField(
        label=_("Income effect lands in"), choices=IncomeComponent.choices
    )
    default_income = forms.DecimalField(
        label=_("Usual income effect (yuan/year)"), required=False, max_digits=14
    )
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)
    fields_json = forms.CharField(
        label=_("Extra fields (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 14, "class": "mono"}),
        help_text=_(
            'A list such as [{"key": "donkeys", "type": "integer", "label_zh": "送驴头数", '
            '"label_en": "donkeys", "required": true, "min": 1}]; types: text, integer, '
            "decimal, date, boolean, choice (with choices)."
        ),
    )

    def clean_fields_json(self) -> Any:
        text = (self.cleaned_data.get("fields_json") or "").strip()
        if not text:
            return []
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("This is not valid JSON (line %(line)s)."),
                code="bad_format",
                params={"line": exc.lineno},
            ) from None

    def type_data(self) -> MeasureTypeData:
        d = self.cleaned_data
        return MeasureTypeData(
            code=d["code"].strip(),
            family=d["family"],
            name_zh=d["name_zh"],
            name_en=d["name_en"],
            description=d.get("description") or "",
            target=d["target"],
            fields=d.get("fields_json") or [],
            has_stages=bool(d.get("has_stages")),
            income_component=d["income_component"],
            default_income=d.get("default_income"),
            is_active=bool(d.get("is_active")),
        )


def measure_type_initial(measure_type: MeasureType) -> dict[str, Any]:
    return {
        "code": measure_type.code,
        "family": measure_type.family,
        "name_zh": measure_type.name_zh,
        "name_en": measure_type.name_en,
        "description": measure_type.description,
        "target": measure_type.target,
        "has_stages": measure_type.has_stages,
        "income_component": measure_type.income_component,
        "default_income": measure_type.default_income,
        "is_active": measure_type.is_active,
        "fields_json": json.dumps(measure_type.fields, ensure_ascii=False, indent=1),
    }


# ---------------------------------------------------------------------------------------------
# Projects


def project_division_choices(actor: Any, keep: str = "") -> list[tuple[str, str]]:
    """The city, counties and townships the actor may manage projects in, indented by level (a
    village cadre: their villages)."""
    scope = actor_scope(actor)
    editable = Division.objects.filter(scope.division_q(roles=EDITOR_ROLES))
    rows = list(
        editable.filter(level__in=(Level.CITY, Level.COUNTY, Level.TOWNSHIP))
        .order_by("path")
        .values_list("code", "name", "path")
    )
    if not rows:  # a village cadre: the projects of their own village
        rows = list(
            editable.filter(level=Level.VILLAGE)
            .order_by("path")
            .values_list("code", "name", "path")
        )
    top = min((path.count("/") for *_rest, path in rows), default=0)
    choices = [(code, "\u3000" * (path.count("/") - top) + name) for code, name, path in rows]
    if keep and keep not in {c for c, _l in choices}:
        choices.append((keep, keep))
    return choices


def project_village_choices(actor: Any, keep: list[str] | None = None) -> list[Any]:
    """Villages the actor may put in a project, grouped by township."""
    scope = actor_scope(actor)
    rows = (
        Division.objects.filter(scope.division_q(roles=EDITOR_ROLES), level=Level.VILLAGE)
        .order_by("path")
        .values_list("code", "name", "parent__name")
    )
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, name, parent in rows:
        groups.setdefault(parent or "", []).append((code, name))
    choices: list[Any] = list(groups.items())
    known = {code for options in groups.values() for code, _l in options}
    choices.extend((code, code) for code in keep or [] if code not in known)
    return choices


class ProjectForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    category = forms.ChoiceField(label=_("Category"), choices=[BLANK, *ProjectCategory.choices])
    year = forms.IntegerField(label=_("Year"))
    division = forms.ChoiceField(label=_("Owning division"))
    villages = forms.MultipleChoiceField(
        label=_("Villages"),
        widget=LongSelectMultiple(attrs={"size": 10}),
        help_text=_("Hold Ctrl to choose several."),
    )
    responsible_unit = forms.CharField(label=_("Responsible unit"), max_length=100)
    responsible_person = forms.CharField(label=_("Responsible person"), max_length=50)
    content = forms.CharField(label=_("Construction content"), required=False, widget=TEXTAREA)
    expected_benefit = forms.CharField(label=_("Expected benefit"), required=False, widget=TEXTAREA)
    progress = forms.IntegerField(label=_("Progress (%)"), initial=0)

    project_fields = (
        "name",
        "category",
        "year",
        "division",
        "villages",
        "responsible_unit",
        "responsible_person",
        "content",
        "expected_benefit",
        "progress",
    )

    def __init__(self, *args: Any, actor: Any, with_plan: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        division = self.fields["division"]
        villages = self.fields["villages"]
        assert isinstance(division, forms.ChoiceField)
        assert isinstance(villages, forms.MultipleChoiceField)
        division.choices = [
            BLANK,
            *project_division_choices(actor, self.initial.get("division", "")),
        ]
        villages.choices = project_village_choices(actor, self.initial.get("villages"))
        self.plan_fields: list[str] = []
        if with_plan:
            for source in FundSource:
                name = f"funding__{source.value}"
                self.fields[name] = forms.DecimalField(
                    label=source.label, required=False, max_digits=16
                )
                self.plan_fields.append(name)
            for kind in MilestoneKind:
                name = f"planned__{kind.value}"
                self.fields[name] = forms.DateField(
                    label=kind.label, required=False, widget=DATE_WIDGET
                )
                self.plan_fields.append(name)

    def project_data(self) -> ProjectData:
        d = self.cleaned_data
        return ProjectData(
            name=d["name"],
            category=d["category"],
            year=d["year"],
            division_code=d["division"],
            village_codes=list(d["villages"]),
            responsible_unit=d["responsible_unit"],
            responsible_person=d["responsible_person"],
            content=d.get("content") or "",
            expected_benefit=d.get("expected_benefit") or "",
            progress=d["progress"],
        )

    def funding(self) -> dict[str, Decimal]:
        return {
            name.removeprefix("funding__"): value
            for name in self.plan_fields
            if name.startswith("funding__") and (value := self.cleaned_data.get(name)) is not None
        }

    def planned(self) -> dict[str, dt.date]:
        return {
            name.removeprefix("planned__"): value
            for name in self.plan_fields
            if name.startswith("planned__") and (value := self.cleaned_data.get(name)) is not None
        }


def project_initial(project: Project, village_codes: list[str]) -> dict[str, Any]:
    return {
        "name": project.name,
        "category": project.category,
        "year": project.year,
        "division": project.division.code,
        "villages": village_codes,
        "responsible_unit": project.responsible_unit,
        "responsible_person": project.responsible_person,
        "content": project.content,
        "expected_benefit": project.expected_benefit,
        "progress": project.progress,
    }


class FundingForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for source in FundSource:
            self.fields[source.value] = forms.DecimalField(
                label=source.label, required=False, max_digits=16
            )

    def funding(self) -> dict[str, Decimal]:
        return {key: value for key, value in self.cleaned_data.items() if value is not None}


class DisbursementForm(forms.Form):
    source = forms.ChoiceField(label=_("Fund source"), choices=[BLANK, *FundSource.choices])
    amount = forms.DecimalField(label=_("Amount (yuan)"), max_digits=16)
    paid_on = forms.DateField(label=_("Paid on"), widget=DATE_WIDGET)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def disbursement_data(self) -> DisbursementData:
        d = self.cleaned_data
        return DisbursementData(
            source=d["source"], amount=d["amount"], paid_on=d["paid_on"], note=d.get("note") or ""
        )


class MilestoneForm(forms.Form):
    kind = forms.ChoiceField(label=_("Milestone"), choices=MilestoneKind.choices)
    planned_on = forms.DateField(label=_("Planned date"), required=False, widget=DATE_WIDGET)
    actual_on = forms.DateField(label=_("Actual date"), required=False, widget=DATE_WIDGET)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class BeneficiariesForm(forms.Form):
    household_nos = forms.CharField(
        label=_("Household numbers"),
        widget=forms.Textarea(attrs={"rows": 6, "class": "mono"}),
        help_text=_("One or more household numbers, separated by spaces, commas or new lines."),
    )
    expected_benefit = forms.DecimalField(
        label=_("Expected benefit (yuan/year)"), required=False, max_digits=14
    )
    added_on = forms.DateField(label=_("Added on"), required=False, widget=DATE_WIDGET)


class BenefitsForm(forms.Form):
    year = forms.IntegerField(label=_("Year"))
    paid_on = forms.DateField(label=_("Paid on"), widget=DATE_WIDGET)
    amount = forms.DecimalField(label=_("Amount per household (yuan)"), max_digits=14)
    household_nos = forms.CharField(
        label=_("Household numbers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
        help_text=_("Leave empty to pay every beneficiary you see that is not paid for the year."),
    )


class ProjectFilterForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), required=False, min_value=2013, max_value=2100)
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("All")), *ProjectCategory.choices]
    )
    q = forms.CharField(label=_("Search"), required=False, max_length=50)
    overdue = forms.BooleanField(label=_("Only with overdue milestones"), required=False)
    division = forms.RegexField(label=_("Division"), regex=r"^[0-9]{12}$", required=False)
