"""Forms of the registry pages. They read and type the input; the services judge it.

Choices come from the versioned code lists; yes/no answers are selects (是/否) so that an
unanswered question is never mistaken for "no".
"""

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
from fupin.core.code_lists import code_lists
from fupin.divisions.models import Division, Level, subtree_q
from fupin.registry.models import Household, Member, YearlyRecord
from fupin.registry.selectors import visible_divisions
from fupin.registry.validation import HouseholdData, MemberData, RecordData

BLANK = ("", "—")
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class LongSelect(forms.Select):
    """A select rendered without a template per option, so thousands of villages stay fast."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        chosen = "" if value is None else str(value)

        def option(code: Any, label: Any) -> str:
            mark = " selected" if str(code) == chosen else ""
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


class CodeChoiceField(forms.ChoiceField):
    """A select of the current values of one code list (filled in by ``RegistryForm``)."""

    def __init__(self, list_key: str, **kwargs: Any) -> None:
        self.list_key = list_key
        super().__init__(**kwargs)


class CodeMultipleChoiceField(forms.MultipleChoiceField):
    def __init__(self, list_key: str, **kwargs: Any) -> None:
        self.list_key = list_key
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        super().__init__(**kwargs)


def _to_bool(value: str) -> bool | None:
    return {"True": True, "False": False}.get(value)


class YesNoField(forms.TypedChoiceField):
    """是/否 as a select; without ``required`` an empty answer means unknown (None)."""

    def __init__(self, *, required: bool = True, **kwargs: Any) -> None:
        blank = ("", "—") if required else ("", _("Unknown"))
        super().__init__(
            choices=[blank, ("True", _("Yes")), ("False", _("No"))],
            coerce=_to_bool,
            empty_value=None,
            required=required,
            **kwargs,
        )


class RegistryForm(forms.Form):
    """Fills code-list choices (one query per list) and the division select for ``actor``."""

    def __init__(self, *args: Any, actor: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        code_fields = {
            name: field
            for name, field in self.fields.items()
            if isinstance(field, CodeChoiceField | CodeMultipleChoiceField)
        }
        lists = (
            code_lists(*sorted({f.list_key for f in code_fields.values()})) if code_fields else {}
        )
        for name, field in code_fields.items():
            code_list = lists[field.list_key]
            choices = code_list.choices()
            current = self.initial.get(name)
            # A value no longer current (五保贫困户) stays visible; saving it is refused at the field.
            for value in current if isinstance(current, list) else [current]:
                if value and value not in {c for c, _label in choices}:
                    choices.append((value, code_list.label(value)))
            field.choices = (
                choices if isinstance(field, CodeMultipleChoiceField) else [BLANK, *choices]
            )
        if "division" in self.fields:
            division = self.fields["division"]
            assert isinstance(division, forms.ChoiceField)
            choices = editable_village_choices(actor, keep=self.initial.get("division"))
            division.choices = [BLANK, *choices]
            # A cadre of one village need not pick it.
            if len(choices) == 1 and isinstance(choices[0][1], list) and len(choices[0][1]) == 1:
                self.initial.setdefault("division", choices[0][1][0][0])


def editable_village_choices(actor: Any, keep: str | None = None) -> list[Any]:
    """Villages and village groups the actor may register households in, grouped by township."""
    scope = actor_scope(actor)
    rows = (
        Division.objects.filter(
            scope.division_q(roles=EDITOR_ROLES), level__in=(Level.VILLAGE, Level.GROUP)
        )
        .order_by("path")
        .values_list("code", "name", "level", "parent__name", "parent__parent__name")
    )
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, name, level, parent, grandparent in rows:
        if level == Level.GROUP:  # a village group: shown under its village's township
            groups.setdefault(grandparent or "", []).append((code, f"{parent} {name}"))
        else:
            groups.setdefault(parent or "", []).append((code, name))
    choices: list[Any] = list(groups.items())
    if keep and not any(keep == code for options in groups.values() for code, _l in options):
        choices.append((keep, keep))
    return choices


def division_filter_choices(actor: Any, selected: str = "") -> list[tuple[str, str]]:
    """Divisions to filter the household list by: counties and townships the actor sees, and
    the villages of the chosen township (or all villages when the actor has one township).

    Villages of a whole city would be thousands of options, hence only those of one township.
    """
    visible = visible_divisions(actor)
    upper = list(
        visible.filter(level__in=(Level.COUNTY, Level.TOWNSHIP)).values_list(
            "code", "name", "level", "path"
        )
    )
    focus = ""
    if selected:
        chosen = next((u for u in upper if u[0] == selected), None)
        if chosen is not None and chosen[2] == Level.TOWNSHIP:
            focus = chosen[3]
        elif chosen is None:
            path = (
                visible.filter(code=selected, level=Level.VILLAGE)
                .values_list("path", flat=True)
                .first()
            )
            if path:
                focus = path[: path.rstrip("/").rfind("/") + 1]
    villages: list[tuple[str, str, str, str]] = []
    if focus or sum(1 for u in upper if u[2] == Level.TOWNSHIP) <= 1:
        query = visible.filter(level=Level.VILLAGE)
        if focus:
            query = query.filter(subtree_q(focus))
        villages = list(query.values_list("code", "name", "level", "path"))
    rows = sorted(upper + villages, key=lambda row: row[3])
    top = min((path.count("/") for *_rest, path in rows), default=0)
    choices = [("", str(_("All divisions")))]
    # Full-width spaces indent each level under its parent inside the select.
    choices += [
        (code, "\u3000" * (path.count("/") - top) + name) for code, name, _level, path in rows
    ]
    if selected and selected not in {c for c, _label in choices}:
        choices.append((selected, selected))
    return choices


class HouseholdForm(RegistryForm):
    division = forms.ChoiceField(label=_("Village"), widget=LongSelect)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=20)
    identified_year = forms.IntegerField(label=_("Identification year"))
    standard = CodeChoiceField("standard", label=_("Identification standard"))
    category = CodeChoiceField("category", label=_("Household category"))
    main_cause = CodeChoiceField("main_cause", label=_("Main cause of poverty"))
    other_causes = CodeMultipleChoiceField(
        "main_cause", label=_("Other causes"), required=False, help_text=_("At most two.")
    )
    status = CodeChoiceField("status", label=_("Status"))
    exit_year = forms.IntegerField(label=_("Exit year"), required=False)

    household_fields: tuple[str, ...] = (
        "division",
        "phone",
        "identified_year",
        "standard",
        "category",
        "main_cause",
        "other_causes",
        "status",
        "exit_year",
    )

    def household_data(self) -> HouseholdData:
        d = self.cleaned_data
        return HouseholdData(
            division_code=d["division"],
            identified_year=d["identified_year"],
            standard=d["standard"],
            category=d["category"],
            main_cause=d["main_cause"],
            status=d["status"],
            other_causes=list(d.get("other_causes") or []),
            exit_year=d.get("exit_year"),
            phone=(d.get("phone") or "").strip(),
        )


def household_initial(household: Household) -> dict[str, Any]:
    return {
        "division": household.division.code,
        "phone": household.phone,
        "identified_year": household.identified_year,
        "standard": household.standard,
        "category": household.category,
        "main_cause": household.main_cause,
        "other_causes": list(household.other_causes),
        "status": household.status,
        "exit_year": household.exit_year,
    }


class MemberForm(RegistryForm):
    name = forms.CharField(label=_("Name"), max_length=50)
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=30,
        help_text=_("18 characters, or the 20-character disability certificate number."),
    )
    sex = CodeChoiceField("sex", label=_("Sex"))
    birth_date = forms.DateField(label=_("Birth date"), widget=DATE_WIDGET)
    relation = CodeChoiceField("relation", label=_("Relation to head"))
    ethnicity = CodeChoiceField("ethnicity", label=_("Ethnicity"), required=False)
    education = CodeChoiceField("education", label=_("Education"), required=False)
    schooling = CodeChoiceField("schooling", label=_("Schooling"), required=False)
    health = CodeChoiceField("health", label=_("Health"))
    labour = CodeChoiceField("labour", label=_("Labour capacity"))
    work_place = CodeChoiceField("work_place", label=_("Place of work"), required=False)
    work_months = forms.IntegerField(label=_("Months of work"), required=False)
    basic_medical = YesNoField(label=_("Basic medical insurance"))
    critical_illness = YesNoField(label=_("Critical illness insurance"), required=False)
    pension = YesNoField(label=_("Pension insurance"), required=False)
    dibao = YesNoField(label=_("Receives dibao"), required=False)
    tekun = YesNoField(label=_("Extreme-poverty support"), required=False)

    member_fields: tuple[str, ...] = (
        "name",
        "id_number",
        "sex",
        "birth_date",
        "relation",
        "ethnicity",
        "education",
        "schooling",
        "health",
        "labour",
        "work_place",
        "work_months",
        "basic_medical",
        "critical_illness",
        "pension",
        "dibao",
        "tekun",
    )

    def member_data(self) -> MemberData:
        d = self.cleaned_data
        return MemberData(
            name=d["name"].strip(),
            id_number=d["id_number"].strip(),
            sex=d["sex"],
            birth_date=d["birth_date"],
            relation=d["relation"],
            health=d["health"],
            labour=d["labour"],
            basic_medical=bool(d["basic_medical"]),
            ethnicity=d.get("ethnicity") or "",
            education=d.get("education") or "",
            schooling=d.get("schooling") or "",
            work_place=d.get("work_place") or "",
            work_months=d.get("work_months"),
            critical_illness=d.get("critical_illness"),
            pension=d.get("pension"),
            dibao=d.get("dibao"),
            tekun=d.get("tekun"),
        )


def member_initial(member: Member) -> dict[str, Any]:
    return {name: getattr(member, name) for name in MemberForm.member_fields}


class RecordForm(RegistryForm):
    survey_year = forms.IntegerField(label=_("Survey year"))
    wage_income = forms.DecimalField(label=_("Wage income"), help_text=_("yuan per year"))
    business_income = forms.DecimalField(label=_("Business income"))
    property_income = forms.DecimalField(label=_("Property income"))
    transfer_income = forms.DecimalField(label=_("Transfer income"))
    business_cost = forms.DecimalField(label=_("Business costs"))
    excluded_income = forms.DecimalField(
        label=_("Excluded income"),
        required=False,
        help_text=_("Income not counted towards net income; 0 if none."),
    )
    farmland_mu = forms.DecimalField(label=_("Farmland (mu)"), required=False)
    housing_grade = CodeChoiceField("housing_grade", label=_("Housing safety grade"))
    safe_water = YesNoField(label=_("Safe drinking water"))
    food_secure = YesNoField(label=_("Enough to eat"))
    clothing_secure = YesNoField(label=_("Enough to wear"))
    has_electricity = YesNoField(label=_("Household electricity"), required=False)

    record_fields: tuple[str, ...] = (
        "survey_year",
        "wage_income",
        "business_income",
        "property_income",
        "transfer_income",
        "business_cost",
        "excluded_income",
        "farmland_mu",
        "housing_grade",
        "safe_water",
        "food_secure",
        "clothing_secure",
        "has_electricity",
    )

    def record_data(self, household_size: int) -> RecordData:
        d = self.cleaned_data
        return RecordData(
            survey_year=d["survey_year"],
            household_size=household_size,
            wage_income=d["wage_income"],
            business_income=d["business_income"],
            property_income=d["property_income"],
            transfer_income=d["transfer_income"],
            business_cost=d["business_cost"],
            excluded_income=d.get("excluded_income") or Decimal(0),
            farmland_mu=d.get("farmland_mu"),
            housing_grade=d["housing_grade"],
            safe_water=bool(d["safe_water"]),
            food_secure=bool(d["food_secure"]),
            clothing_secure=bool(d["clothing_secure"]),
            has_electricity=d.get("has_electricity"),
        )


def record_initial(record: YearlyRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in RecordForm.record_fields}


class RegisterForm(HouseholdForm, MemberForm, RecordForm):
    """Registration: the household, its head and its first yearly record on one page.

    The household size is the number of members (here the head); more members are added on
    the household page afterwards.
    """

    household_no = forms.CharField(
        label=_("Household number"),
        required=False,
        max_length=32,
        help_text=_("Leave empty to number the household automatically."),
    )

    household_fields = ("household_no", *HouseholdForm.household_fields)


def register_initial() -> dict[str, Any]:
    year = timezone.localdate().year
    return {
        "relation": "head",
        "status": "not_out",
        "identified_year": year,
        "survey_year": year,
        "excluded_income": Decimal(0),
    }


class LeaveForm(forms.Form):
    left_reason = forms.CharField(
        label=_("Reason for leaving"),
        max_length=100,
        required=False,
        help_text=_("For example: death, marriage, moved away."),
    )
    left_on = forms.DateField(label=_("Left on"), required=False, widget=DATE_WIDGET)


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), required=False)
    household_no = forms.CharField(label=_("Household number"), required=False, max_length=32)

    def __init__(self, *args: Any, actions: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["action"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("All")), *actions.items()]
