"""Forms of the procedure pages. They only parse input; the services validate and write."""

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fupin.procedures.definitions import ADVANCE, CHANNELS, PROCEDURES, REJECT
from fupin.procedures.models import Objection


def procedure_choices() -> list[tuple[str, Any]]:
    return [(p.code, p.label) for p in PROCEDURES.values()]


def state_choices() -> list[tuple[str, Any]]:
    seen: dict[str, Any] = {}
    for p in PROCEDURES.values():
        for code in p.states:
            seen.setdefault(code, p.state_label(code))
    return list(seen.items())


class CaseFilterForm(forms.Form):
    procedure = forms.ChoiceField(label=_("Procedure"), required=False)
    state = forms.ChoiceField(label=_("State"), required=False)
    village = forms.CharField(label=_("Village code"), required=False, max_length=12)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    open_only = forms.BooleanField(label=_("Open cases only"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["procedure"].choices = [("", "—"), *procedure_choices()]  # type: ignore[attr-defined]
        self.fields["state"].choices = [("", "—"), *state_choices()]  # type: ignore[attr-defined]


class CaseOpenForm(forms.Form):
    household_no = forms.CharField(label=_("Household number"), max_length=32)
    procedure = forms.ChoiceField(label=_("Procedure"))
    year = forms.IntegerField(label=_("Year"), min_value=2013, max_value=2100)
    channel = forms.ChoiceField(
        label=_("Discovery channel (monitoring)"),
        required=False,
        choices=[("", "—"), *CHANNELS.items()],
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["initial"] = {"year": timezone.localdate().year, **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)
        self.fields["procedure"].choices = procedure_choices()  # type: ignore[attr-defined]


class TransitionForm(forms.Form):
    action = forms.ChoiceField(choices=[(ADVANCE, _("complete step")), (REJECT, _("reject"))])
    to_state = forms.CharField(required=False, max_length=24, widget=forms.HiddenInput)
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class BatchForm(forms.Form):
    cases = forms.CharField(widget=forms.MultipleHiddenInput, required=False)
    action = forms.ChoiceField(choices=[(ADVANCE, _("complete step")), (REJECT, _("reject"))])
    all_or_nothing = forms.BooleanField(label=_("All or nothing"), required=False)
    comment = forms.CharField(label=_("Comment"), required=False, max_length=2000)


class CommentForm(forms.Form):
    text = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}))


class ObjectionForm(forms.Form):
    text = forms.CharField(label=_("Objection"), widget=forms.Textarea(attrs={"rows": 3}))


class ResolveForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=Objection.Decision.choices)
    resolution = forms.CharField(label=_("Resolution"), widget=forms.Textarea(attrs={"rows": 3}))


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"))
