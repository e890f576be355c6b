"""Forms of the pairing pages. They parse and show input; the services decide."""

import datetime as dt
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from fupin.accounts.models import Official
from fupin.accounts.roles import RankLevel
from fupin.pairing.images import MAX_PHOTO_BYTES, MAX_PHOTOS_PER_VISIT
from fupin.pairing.models import Pairing, TeamMember
from fupin.pairing.services import VisitData
from fupin.registry.models import Member

DATE = forms.DateInput(attrs={"type": "date"})


class AssignForm(forms.Form):
    official = forms.ChoiceField(label=_("Official"))
    kind = forms.ChoiceField(
        label=_("Kind"), choices=Pairing.Kind.choices, initial=Pairing.Kind.HOUSEHOLD
    )
    member = forms.ChoiceField(
        label=_("Orphan"), required=False, help_text=_("Only for an orphan pairing.")
    )
    started_on = forms.DateField(label=_("Since"), widget=DATE)

    def __init__(
        self,
        *args: Any,
        officials: list[tuple[Official, int]],
        orphans: list[Member],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.officials = {o.user.username: o for o, _free in officials}
        cast(forms.ChoiceField, self.fields["official"]).choices = [("", "—")] + [
            (
                o.user.username,
                f"{o.full_name} · {o.unit} · {RankLevel(o.rank_level).label} · "
                + str(_("%(n)d free") % {"n": free}),
            )
            for o, free in officials
        ]
        self.orphans = {str(m.public_id): m for m in orphans}
        cast(forms.ChoiceField, self.fields["member"]).choices = [("", "—")] + [
            (str(m.public_id), f"{m.name} ({m.birth_date:%Y-%m-%d})") for m in orphans
        ]

    def official_obj(self) -> Official:
        return self.officials[self.cleaned_data["official"]]

    def member_obj(self) -> Member | None:
        return self.orphans.get(self.cleaned_data.get("member") or "")


class EndForm(forms.Form):
    ended_on = forms.DateField(label=_("Until"), widget=DATE)
    reason = forms.CharField(label=_("Reason for ending"), max_length=200, required=False)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several files in one field; each is checked by the service (really an image, size)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if isinstance(data, list | tuple):
            return [f for f in data if f]
        return [data] if data else []


class VisitForm(forms.Form):
    official = forms.ChoiceField(label=_("Official"))
    visited_on = forms.DateField(label=_("Visit date"), widget=DATE)
    latitude = forms.DecimalField(
        label=_("Latitude"), required=False, max_digits=9, decimal_places=6
    )
    longitude = forms.DecimalField(
        label=_("Longitude"), required=False, max_digits=9, decimal_places=6
    )
    content = forms.CharField(label=_("What was done"), widget=forms.Textarea(attrs={"rows": 4}))
    next_steps = forms.CharField(
        label=_("Next steps"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    photos = MultipleImageField(
        label=_("Photos"),
        required=False,
        help_text=_("JPEG, PNG or WebP; at most %(n)d photos of %(mb)d MB each.")
        % {"n": MAX_PHOTOS_PER_VISIT, "mb": MAX_PHOTO_BYTES // (1024 * 1024)},
    )

    fields_order = (
        "official",
        "visited_on",
        "latitude",
        "longitude",
        "content",
        "next_steps",
        "photos",
    )

    def __init__(self, *args: Any, officials: list[Official], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.officials = {o.user.username: o for o in officials}
        cast(forms.ChoiceField, self.fields["official"]).choices = [
            (o.user.username, f"{o.full_name} · {o.unit}") for o in officials
        ]

    def official_obj(self) -> Official | None:
        return self.officials.get(self.cleaned_data.get("official") or "")

    def data_obj(self) -> VisitData:
        c = self.cleaned_data
        return VisitData(
            visited_on=c["visited_on"],
            content=c.get("content") or "",
            next_steps=c.get("next_steps") or "",
            latitude=_decimal(c.get("latitude")),
            longitude=_decimal(c.get("longitude")),
        )


def _decimal(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(value)


class TeamMemberForm(forms.Form):
    official = forms.CharField(
        label=_("Official (username)"), max_length=150, help_text=_("The official's username.")
    )
    role = forms.ChoiceField(label=_("Role"), choices=TeamMember.Role.choices)
    unit = forms.CharField(
        label=_("Sending unit"),
        max_length=100,
        required=False,
        help_text=_("Empty: the official's own unit."),
    )
    started_on = forms.DateField(label=_("Since"), widget=DATE)


class TeamEndForm(forms.Form):
    ended_on = forms.DateField(label=_("Until"), widget=DATE)


class AttendanceForm(forms.Form):
    month = forms.DateField(
        label=_("Month"),
        widget=forms.DateInput(attrs={"type": "month"}),
        input_formats=["%Y-%m", "%Y-%m-%d"],
    )
    days = forms.IntegerField(label=_("Days in the village"), min_value=0, max_value=31)


class QuotaForm(forms.Form):
    rank_level = forms.ChoiceField(label=_("Rank level"), choices=RankLevel.choices)
    households = forms.IntegerField(label=_("Households"), min_value=0, max_value=100)
    orphans = forms.IntegerField(label=_("Orphans"), min_value=0, max_value=10)
    valid_from = forms.DateField(label=_("Valid from"), widget=DATE)
    source_note = forms.CharField(label=_("Source"), max_length=300)


def initial_today() -> dict[str, dt.date]:
    from fupin.pairing.policy import today

    return {"started_on": today(), "ended_on": today(), "visited_on": today()}
