"""Forms of the public notice pages (notices.py). They only parse input; notices.py validates
the village, the step and the period and writes."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fupin.procedures.forms import procedure_choices
from fupin.procedures.notices import WHERE_TO_OBJECT_MAX, notice_step_choices


class NoticeFilterForm(forms.Form):
    village = forms.CharField(label=_("Village code"), required=False, max_length=12)
    procedure = forms.ChoiceField(label=_("Procedure"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["procedure"].choices = [("", "—"), *procedure_choices()]  # type: ignore[attr-defined]


class NoticeForm(forms.Form):
    village = forms.CharField(
        label=_("Village code"),
        max_length=12,
        widget=forms.TextInput(attrs={"list": "notice-villages", "autocomplete": "off"}),
    )
    step = forms.ChoiceField(label=_("Procedure and step"))
    period_start = forms.DateField(
        label=_("Step started from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Leave both days empty for the households on the step now."),
    )
    period_end = forms.DateField(
        label=_("Step started until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    where_to_object = forms.CharField(
        label=_("Where to object"),
        required=False,
        max_length=WHERE_TO_OBJECT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Empty: the villagers' committee, the township and the hotline 12317."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["step"].choices = notice_step_choices()  # type: ignore[attr-defined]

    def request_fields(self) -> dict[str, Any]:
        """The arguments of ``notices.notice_request``."""
        procedure, _sep, step = self.cleaned_data["step"].partition(":")
        return {
            "village": self.cleaned_data["village"],
            "procedure": procedure,
            "step": step,
            "period_start": self.cleaned_data["period_start"],
            "period_end": self.cleaned_data["period_end"],
        }
