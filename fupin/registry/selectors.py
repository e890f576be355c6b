"""Reads of the registry. Every list starts from what the actor may see."""

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from fupin.accounts.scope import actor_scope
from fupin.core.masking import mask_mapping
from fupin.core.models import AuditEvent
from fupin.divisions.models import Division, Level, subtree_q
from fupin.registry.idnumbers import normalise_id_number
from fupin.registry.models import Household, Member, YearlyRecord

ORDERINGS = {
    "household_no": "household_no",
    "-household_no": "-household_no",
    "head_name": "head_name",
    "-head_name": "-head_name",
    "identified_year": "identified_year",
    "-identified_year": "-identified_year",
    "status": "status",
    "-status": "-status",
}
_ID_LIKE = re.compile(r"^[0-9]{17}[0-9X]([0-9]{2})?$")
_INITIALS = re.compile(r"^[a-z]{1,20}$")


@dataclass(frozen=True)
class HouseholdFilters:
    division_code: str = ""
    status: str = ""
    category: str = ""
    main_cause: str = ""
    identified_year: int | None = None
    survey_year: int | None = None
    q: str = ""
    ordering: str = "household_no"


def visible_divisions(actor: Any) -> QuerySet[Division]:
    """Divisions inside the actor's subtrees."""
    return Division.objects.filter(actor_scope(actor).division_q())


def household_list(*, actor: Any, filters: HouseholdFilters | None = None) -> QuerySet[Household]:
    """Households the actor may see, filtered and ordered. Outside the scope: nothing."""
    filters = filters or HouseholdFilters()
    scope = actor_scope(actor)
    if scope.is_empty:
        return Household.objects.none()
    divisions = Division.objects.filter(scope.division_q())
    if filters.division_code:
        chosen = (
            Division.objects.filter(code=filters.division_code)
            .values_list("path", flat=True)
            .first()
        )
        if chosen is None:
            return Household.objects.none()
        divisions = divisions.filter(subtree_q(chosen))
    qs = _in_divisions(divisions)
    for key in ("status", "category", "main_cause", "identified_year"):
        value = getattr(filters, key)
        if value:
            qs = qs.filter(**{key: value})
    if filters.survey_year:
        qs = qs.filter(
            Exists(
                YearlyRecord.objects.filter(
                    household=OuterRef("pk"), survey_year=filters.survey_year
                )
            )
        )
    q = filters.q.strip()
    if q:
        qs = qs.filter(_search_q(q))
    ordering = ORDERINGS.get(filters.ordering, "household_no")
    # household_no is unique: it needs no tie-breaker, and adding one would stop the database
    # from reading the first page straight off the household_no index.
    order = (ordering,) if ordering.lstrip("-") == "household_no" else (ordering, "household_no")
    # The page's divisions come in a second small query: a join here would let SQLite drive the
    # query from the divisions table and sort the whole registry.
    return qs.prefetch_related("division").order_by(*order)


# Share of all villages above which a scope counts as large (a county or more, at Liaocheng's size).
LARGE_SCOPE_SHARE = 0.2


def _in_divisions(divisions: QuerySet[Division]) -> QuerySet[Household]:
    """Households in the given divisions, filtered the way that pages fastest.

    A small scope (a village, a township) is found through the index on division_id. For a large
    scope that index makes the database collect and sort most of the registry for every page,
    while walking the household_no index in order finds the first page at once; wrapping the
    column in an expression (+ 0) keeps the planner off the division index.
    """
    counts = Division.objects.filter(level__in=(Level.VILLAGE, Level.GROUP)).aggregate(
        total=Count("pk"), inside=Count("pk", filter=Q(pk__in=divisions.values("pk")))
    )
    if counts["total"] and counts["inside"] > counts["total"] * LARGE_SCOPE_SHARE:
        return Household.objects.alias(division_key=F("division_id") + 0).filter(
            division_key__in=divisions.values("pk")
        )
    return Household.objects.filter(division__in=divisions.values("pk"))


def _search_q(q: str) -> Q:
    normalised = normalise_id_number(q)
    if _ID_LIKE.match(normalised):
        keys = Member.objects.filter(person_key=normalised[:18], is_active=True).values(
            "household_id"
        )
        return Q(pk__in=keys)
    lowered = q.lower()
    if _INITIALS.match(lowered):
        return Q(head_name_initials__startswith=lowered) | Q(household_no__startswith=q)
    if q.replace("-", "").isalnum() and q.isascii():
        return Q(household_no__startswith=q)
    by_member = Member.objects.filter(name=q, is_active=True).values("household_id")
    return Q(head_name__contains=q) | Q(pk__in=by_member)


def active_member_counts(households: list[Household]) -> dict[int, int]:
    """Active members per household, for a page of a list (one query)."""
    rows = (
        Member.objects.filter(household__in=[h.pk for h in households], is_active=True)
        .values("household_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["household_id"]: row["n"] for row in rows}


def latest_records(households: list[Household]) -> dict[int, YearlyRecord]:
    """The newest yearly record of each given household (one query, for a page of a list)."""
    out: dict[int, YearlyRecord] = {}
    records = YearlyRecord.objects.filter(household__in=[h.pk for h in households]).order_by(
        "household_id", "survey_year"
    )
    for record in records:
        out[record.household_id] = record
    return out


@dataclass(frozen=True)
class Comparison:
    """Before/after (脱贫前后对照): the first and the latest yearly records side by side."""

    first: YearlyRecord | None
    latest: YearlyRecord | None
    rows: list[dict[str, Any]]


COMPARED_FIELDS = (
    "household_size",
    "wage_income",
    "business_income",
    "property_income",
    "transfer_income",
    "business_cost",
    "excluded_income",
    "per_capita_net_income",
    "housing_grade",
    "safe_water",
    "food_secure",
    "clothing_secure",
    "has_electricity",
    "farmland_mu",
)


def household_before_after(household: Household) -> Comparison:
    records = list(household.records.order_by("survey_year"))
    if not records:
        return Comparison(None, None, [])
    first, latest = records[0], records[-1]
    rows = []
    for key in COMPARED_FIELDS:
        before, after = getattr(first, key), getattr(latest, key)
        change: Any = None
        if (isinstance(before, Decimal) and isinstance(after, Decimal)) or (
            isinstance(before, int) and not isinstance(before, bool) and isinstance(after, int)
        ):
            change = after - before
        rows.append(
            {
                "field": key,
                "label": _record_label(key),
                "before": before,
                "after": after,
                "change": change,
                "changed": before != after,
            }
        )
    return Comparison(first, latest, rows)


def _record_label(key: str) -> str:
    if key == "per_capita_net_income":
        return str(_("per-capita net income"))
    field = YearlyRecord._meta.get_field(key)
    return str(getattr(field, "verbose_name", key))


def household_records(household: Household) -> list[YearlyRecord]:
    """All yearly records of a household the caller already had access to, oldest first."""
    return list(household.records.order_by("survey_year"))


def household_members(household: Household) -> QuerySet[Member]:
    return household.members.order_by("-is_active", "id")


def household_history(
    *, actor: Any, household: Household, limit: int = 200
) -> list[dict[str, Any]]:
    """The audit trail of one household, newest first, personal data masked where the actor
    may not see it."""
    scope = actor_scope(actor)
    personal = scope.can_see_personal_data(household.division.path)
    events = AuditEvent.objects.filter(household_no=household.household_no).order_by(
        "-occurred_at", "-id"
    )[:limit]
    return [_event_view(e, personal) for e in events]


def _event_view(event: AuditEvent, personal: bool) -> dict[str, Any]:
    before, after = event.before, event.after
    if not personal:
        before, after = _mask_nested(before), _mask_nested(after)
    return {"event": event, "before": before, "after": after}


def _mask_nested(values: Any) -> Any:
    if isinstance(values, dict):
        return {k: _mask_nested(v) for k, v in mask_mapping(values).items()}
    if isinstance(values, list):
        return [_mask_nested(v) for v in values]
    return values


def audit_event_list(*, actor: Any) -> QuerySet[AuditEvent]:
    """Audit events inside the actor's subtrees, for auditors and administrators."""
    from fupin.accounts.roles import AUDIT_ROLES

    scope = actor_scope(actor)
    if not scope.can_read_audit():
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(scope.division_q("division_path", AUDIT_ROLES)).order_by(
        "-occurred_at", "-id"
    )


def audit_event_view(event: AuditEvent, *, actor: Any) -> dict[str, Any]:
    scope = actor_scope(actor)
    return _event_view(
        event, bool(event.division_path) and scope.can_see_personal_data(event.division_path)
    )
