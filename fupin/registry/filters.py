"""One parser of household list filters for the web list and the API."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fupin.core.code_lists import code_lists
from fupin.registry.selectors import ORDERINGS, HouseholdFilters


class HouseholdFilterForm(forms.Form):
    division = forms.RegexField(label=_("Division"), regex=r"^[0-9]{12}$", required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    main_cause = forms.ChoiceField(label=_("Main cause"), required=False)
    identified_year = forms.IntegerField(
        label=_("Identification year"), required=False, min_value=2013, max_value=2100
    )
    survey_year = forms.IntegerField(
        label=_("Survey year"), required=False, min_value=2013, max_value=2100
    )
    q = forms.CharField(label=_("Search"), required=False, max_length=50)
    ordering = forms.ChoiceField(
        label=_("Sort by"), required=False, choices=[(k, k) for k in ORDERINGS]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lists = code_lists("status", "category", "main_cause")
        for key, code_list in lists.items():
            field = self.fields[key]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [("", _("All")), *[(c.code, c.label) for c in code_list.codes.values()]]

    def to_filters(self) -> HouseholdFilters:
        """The filters; call after ``is_valid()``. Invalid values are ignored, never guessed."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return HouseholdFilters(
            division_code=data.get("division") or "",
            status=data.get("status") or "",
            category=data.get("category") or "",
            main_cause=data.get("main_cause") or "",
            identified_year=data.get("identified_year"),
            survey_year=data.get("survey_year"),
            q=data.get("q") or "",
            ordering=data.get("ordering") or "household_no",
        )
