"""The policy parameters: what each one means, its unit, its qualifier and its allowed range,
and how the values in force for a year are resolved (``parameters_for_year``).

A parameter is named in the criteria (``Param("poverty_line", by="standard")``), on the policy
page and in ``fupin simulate --set NAME[.QUALIFIER]=VALUE``. Values are rows of
``PolicyValue``; this module holds no number that a policy document could change.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from fupin.policy.expressions import ParameterValues
from fupin.policy.models import PolicyRevision, PolicyValue

STANDARDS = ("national", "provincial", "city")
UNITS: dict[str, Promise] = {
    "yuan": _("yuan"),
    "percent": _("percent"),
    "years": _("years"),
    "months": _("months"),
    "days": _("days"),
}
EXIT_LEVELS = ("village", "county")
PUBLICITY_STEPS = (
    "identification_first",
    "identification_second",
    "exit",
    "monitoring",
    "elimination",
)


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    label: Promise
    unit: str  # "yuan", "percent", "years", "months", "days"
    qualifier: str = ""  # what the qualifier names: "standard", "province", "level", "step"
    qualifiers: tuple[str, ...] | None = None  # the allowed qualifiers (None: any code)
    minimum: Decimal = Decimal(0)
    maximum: Decimal = Decimal(1_000_000)
    integral: bool = False
    required: bool = True  # an evaluation cannot run without it
    help: Promise | str = ""

    def python_value(self, value: Decimal) -> int | float:
        """The value as the criteria compute with it: yuan as integer fen, whole units as int,
        percentages as float."""
        if self.unit == "yuan":
            return int((value * 100).to_integral_value())
        if self.integral:
            return int(value)
        return float(value)

    def check(self, value: Decimal, qualifier: str) -> None:
        """Raise ValidationError (field ``value`` or ``qualifier``) when out of range."""
        problem = self._qualifier_problem(qualifier)
        if problem:
            raise ValidationError({"qualifier": ValidationError(problem[1], code=problem[0])})
        problem = self._value_problem(value)
        if problem:
            raise ValidationError({"value": ValidationError(problem[1], code=problem[0])})

    def _qualifier_problem(self, qualifier: str) -> tuple[str, str] | None:
        if self.qualifier and not qualifier:
            return "qualifier_required", gettext(
                "This parameter needs a qualifier (%s)."
            ) % self.qualifier
        if not self.qualifier and qualifier:
            return "qualifier_not_allowed", gettext("This parameter takes no qualifier.")
        if self.qualifiers is not None and qualifier not in self.qualifiers:
            return "bad_qualifier", gettext("Unknown qualifier %(q)s; allowed: %(allowed)s.") % {
                "q": qualifier,
                "allowed": ", ".join(self.qualifiers),
            }
        if self.qualifier == "province" and not (len(qualifier) == 12 and qualifier.isdigit()):
            return "bad_qualifier", gettext("A province is named by its 12-digit division code.")
        return None

    def _value_problem(self, value: Decimal) -> tuple[str, str] | None:
        if not value.is_finite() or value < self.minimum or value > self.maximum:
            return "out_of_range", gettext(
                "The value must lie between %(min)s and %(max)s %(unit)s."
            ) % {"min": self.minimum, "max": self.maximum, "unit": UNITS[self.unit]}
        if self.integral and value != value.to_integral_value():
            return "not_integral", gettext("The value must be a whole number.")
        if self.unit == "yuan" and value != value.quantize(Decimal("0.01")):
            return "too_many_decimals", gettext("An amount in yuan has at most two decimals.")
        return None


PARAMETERS: dict[str, ParameterSpec] = {
    spec.name: spec
    for spec in (
        ParameterSpec(
            "poverty_line",
            _("poverty line (yuan per person and year)"),
            "yuan",
            qualifier="standard",
            qualifiers=STANDARDS,
            minimum=Decimal(100),
            maximum=Decimal(100_000),
            help=_("Counted per-capita net income must be above it to exit (domain.md §0, §5.1)."),
        ),
        ParameterSpec(
            "monitoring_line",
            _("upper end of the monitoring range (yuan per person and year)"),
            "yuan",
            qualifier="province",
            minimum=Decimal(100),
            maximum=Decimal(200_000),
            required=False,
            help=_("Households at or below it may enter monitoring (防返贫, domain.md §8)."),
        ),
        ParameterSpec(
            "exit_incidence_max",
            _("exit threshold: poverty incidence below (%)"),
            "percent",
            qualifier="level",
            qualifiers=EXIT_LEVELS,
            minimum=Decimal("0.01"),
            maximum=Decimal(100),
        ),
        ParameterSpec(
            "publicity_days",
            _("publicity period (days)"),
            "days",
            qualifier="step",
            qualifiers=PUBLICITY_STEPS,
            minimum=Decimal(1),
            maximum=Decimal(60),
            integral=True,
            required=False,
        ),
        ParameterSpec(
            "school_age_min",
            _("compulsory-school age from (years)"),
            "years",
            minimum=Decimal(3),
            maximum=Decimal(20),
            integral=True,
        ),
        ParameterSpec(
            "school_age_max",
            _("compulsory-school age to (years, inclusive)"),
            "years",
            minimum=Decimal(3),
            maximum=Decimal(20),
            integral=True,
        ),
        ParameterSpec(
            "stable_months",
            _("income above the monitoring range for at least (months)"),
            "months",
            minimum=Decimal(1),
            maximum=Decimal(120),
            integral=True,
        ),
        ParameterSpec(
            "sudden_drop_pct",
            _("sharp income drop: per-capita income fell by at least (%)"),
            "percent",
            minimum=Decimal(1),
            maximum=Decimal(100),
        ),
    )
}


class UnknownParameterError(ValidationError):
    """A parameter name (or qualifier) that does not exist."""


def spec_of(name: str) -> ParameterSpec:
    spec = PARAMETERS.get(name)
    if spec is None:
        raise UnknownParameterError(
            gettext("Unknown parameter %(name)s; known: %(known)s.")
            % {"name": name, "known": ", ".join(sorted(PARAMETERS))},
            code="unknown_parameter",
        )
    return spec


def reference_day(year: int) -> dt.date:
    """The day on which a policy year's values are read and ages counted: 31 December (年底)."""
    return dt.date(year, 12, 31)


@dataclass
class ResolvedParameters:
    """The values in force for one year (plus any simulated overrides), with their sources."""

    year: int
    values: ParameterValues
    # name → qualifier ("" when none) → the PolicyValue used (None when overridden)
    sources: dict[str, dict[str, PolicyValue | None]] = field(default_factory=dict)
    overrides: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    def source_of(self, name: str, qualifier: str = "") -> PolicyValue | None:
        return self.sources.get(name, {}).get(qualifier)

    def used_values(self) -> list[PolicyValue]:
        return [v for by_q in self.sources.values() for v in by_q.values() if v is not None]

    def snapshot(self) -> dict[str, Any]:
        """JSON of every value used: enough to run the same evaluation again."""
        out: dict[str, Any] = {}
        for name, by_qualifier in sorted(self.sources.items()):
            for qualifier, row in sorted(by_qualifier.items()):
                key = f"{name}.{qualifier}" if qualifier else name
                if row is None:
                    out[key] = {"value": str(self.overrides[name][qualifier]), "override": True}
                else:
                    out[key] = {
                        "value": str(row.value),
                        "value_id": row.pk,
                        "version": row.version,
                        "source": row.source_note,
                    }
        return out


def current_policy_version() -> int:
    return PolicyRevision.objects.order_by("-id").values_list("id", flat=True).first() or 0


def parameters_for_year(
    year: int, overrides: Mapping[str, Mapping[str, Decimal]] | None = None
) -> ResolvedParameters:
    """The current versions of every value valid on the year's reference day (one query),
    with ``overrides`` (name → qualifier → value; qualifier "" for all) applied on top.

    Raises ValidationError when a required parameter has no value for the year.
    """
    day = reference_day(year)
    rows = (
        PolicyValue.objects.filter(is_current=True, valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .filter(name__in=list(PARAMETERS))
        .order_by("name", "qualifier", "valid_from", "id")
    )
    sources: dict[str, dict[str, PolicyValue | None]] = {}
    raw: dict[str, dict[str, Decimal]] = {}
    for row in rows:  # the latest valid_from wins where periods overlap
        sources.setdefault(row.name, {})[row.qualifier] = row
        raw.setdefault(row.name, {})[row.qualifier] = row.value
    applied: dict[str, dict[str, Decimal]] = {}
    for name, by_qualifier in (overrides or {}).items():
        spec = spec_of(name)
        for qualifier, value in by_qualifier.items():
            targets = [qualifier] if qualifier else sorted(raw.get(name, {})) or [""]
            if not qualifier and spec.qualifier and not raw.get(name):
                raise ValidationError(
                    gettext("%(name)s has no value in %(year)s to change; name a qualifier.")
                    % {"name": name, "year": year},
                    code="nothing_to_override",
                )
            for target in targets:
                spec.check(value, target)
                raw.setdefault(name, {})[target] = value
                sources.setdefault(name, {})[target] = None
                applied.setdefault(name, {})[target] = value
    missing = [name for name, spec in PARAMETERS.items() if spec.required and not raw.get(name)]
    if missing:
        raise ValidationError(
            gettext("No value in force in %(year)s for: %(names)s. Add them on the policy page.")
            % {"year": year, "names": ", ".join(missing)},
            code="missing_parameter",
        )
    if raw["school_age_min"][""] > raw["school_age_max"][""]:
        raise ValidationError(
            gettext("The compulsory-school age cannot start after it ends."),
            code="school_age_order",
        )
    values: dict[str, Any] = {}
    for name, by_qualifier in raw.items():
        spec = PARAMETERS[name]
        if spec.qualifier:
            values[name] = {q: spec.python_value(v) for q, v in by_qualifier.items()}
        else:
            values[name] = spec.python_value(by_qualifier[""])
    return ResolvedParameters(year, ParameterValues(values), sources, applied)


def parse_override(text: str) -> tuple[str, str, Decimal]:
    """``NAME[.QUALIFIER]=VALUE`` → (name, qualifier, value); ValidationError when malformed or
    unknown."""
    if "=" not in text:
        raise ValidationError(
            gettext("Write a change as NAME=VALUE or NAME.QUALIFIER=VALUE, not %(text)s.")
            % {"text": text},
            code="bad_override",
        )
    key, raw_value = (part.strip() for part in text.split("=", 1))
    name, _dot, qualifier = key.partition(".")
    spec = spec_of(name)
    try:
        value = Decimal(raw_value)
    except InvalidOperation:
        raise ValidationError(
            gettext("%(value)s is not a number.") % {"value": raw_value}, code="not_a_number"
        ) from None
    if qualifier:
        spec.check(value, qualifier)
    return name, qualifier, value
