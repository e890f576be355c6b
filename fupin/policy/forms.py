"""Forms of the policy pages. They only parse input; the services validate and write."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fupin.policy.models import HousingRenovation
from fupin.policy.parameters import PARAMETERS
from fupin.policy.services import PolicyValueData


class PolicyValueForm(forms.Form):
    name = forms.ChoiceField(label=_("Parameter"))
    qualifier = forms.CharField(
        label=_("Qualifier"),
        required=False,
        max_length=40,
        help_text=_(
            "Identification standard (national, provincial, city), province division code, "
            "level (village, county) or publicity step, as the parameter needs."
        ),
    )
    value = forms.DecimalField(label=_("Value"), max_digits=14, decimal_places=4)
    valid_from = forms.DateField(
        label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_to = forms.DateField(
        label=_("Valid to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    source_note = forms.CharField(
        label=_("Source"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The document, article or decision the value comes from."),
    )

    def __init__(self, *args: Any, fixed: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name = self.fields["name"]
        assert isinstance(name, forms.ChoiceField)
        name.choices = [(n, f"{n}: {s.label}") for n, s in PARAMETERS.items()]
        if fixed:
            # The parameter and qualifier of an existing value do not change.
            self.fields["name"].disabled = True
            self.fields["qualifier"].disabled = True

    def data_object(self) -> PolicyValueData:
        d = self.cleaned_data
        return PolicyValueData(
            name=d["name"],
            qualifier=(d.get("qualifier") or "").strip(),
            value=d["value"],
            valid_from=d["valid_from"],
            valid_to=d.get("valid_to"),
            source_note=d["source_note"],
        )


class RenovationForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=HousingRenovation.Kind.choices)
    accepted_on = forms.DateField(
        label=_("Accepted on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)


class SimulationForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    division = forms.CharField(
        label=_("Division code"),
        required=False,
        max_length=12,
        help_text=_("12 digits; empty for your whole area."),
    )
    changes = forms.CharField(
        label=_("Changed parameters"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "One change per line: NAME=VALUE or NAME.QUALIFIER=VALUE, e.g. "
            "poverty_line.provincial=4200 or exit_incidence_max=3."
        ),
    )
    name = forms.CharField(label=_("Name of the scenario"), required=False, max_length=100)

    def change_lines(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["changes"].splitlines() if line.strip()]


def parse_year(text: str | None, default: int | None) -> int | None:
    try:
        year = int(text or "")
    except ValueError:
        return default
    return year if 2000 <= year <= 2100 else default
