"""Reads of pairing data. Every list starts from what the actor may see.

The coverage and overdue figures of a whole city come from a few GROUP BY queries (households per
village with their covered count, active pairings per official, overdue pairings per village),
folded up the division tree in Python: no per-row work, no page aggregates row by row.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from fupin.accounts.models import Official, RoleAssignment
from fupin.accounts.roles import RankLevel, Role
from fupin.accounts.scope import actor_scope
from fupin.core.errors import NotFound
from fupin.divisions.models import Division, Level, subtree_q
from fupin.pairing.access import actor_official, anchor_path_expression
from fupin.pairing.models import (
    Attendance,
    HelpUnit,
    KeyVillage,
    Pairing,
    QuotaRule,
    TeamMember,
    Visit,
    VisitRule,
)
from fupin.pairing.policy import Quota, interval_for_status, programme_statuses, quotas_on, today
from fupin.registry.models import Household, Member

SEGMENT = 13  # one division code and its '/' in a materialised path


# --- Scope helpers ------------------------------------------------------------------------------


def scope_root(actor: Any, division_code: str = "") -> Division:
    """The division a report is about: the one asked for (inside the scope), else the actor's
    widest division. NotFound when outside the scope or when the actor has no scope."""
    scope = actor_scope(actor)
    if division_code:
        division = Division.objects.filter(code=division_code).first()
        if division is None or not scope.can_see(division.path):
            raise NotFound
        return division
    paths = scope.paths()
    if not paths:
        raise NotFound
    division = Division.objects.filter(path=paths[0]).first()
    if division is None:
        raise NotFound
    return division


def breadcrumb(actor: Any, division: Division) -> list[Division]:
    """The division's ancestors the actor may see, then the division itself."""
    scope = actor_scope(actor)
    codes = division.ancestor_codes
    chain = {d.code: d for d in Division.objects.filter(code__in=codes)}
    return [chain[c] for c in codes if c in chain and scope.can_see(chain[c].path)]


def visible_pairings(actor: Any) -> QuerySet[Pairing]:
    """Pairings of households in the actor's scope, and the actor's own."""
    scope = actor_scope(actor)
    condition = (
        scope.division_q("household__division__path") if not scope.is_empty else Q(pk__in=[])
    )
    own = actor_official(actor)
    if own is not None:
        condition |= Q(official=own)
    return Pairing.objects.filter(condition)


@dataclass(frozen=True)
class PairingFilters:
    division_code: str = ""
    official: str = ""  # username
    household_no: str = ""
    kind: str = ""
    active: bool | None = True


def _division_path(code: str) -> str | None:
    """The path of the division with this code (None when there is none)."""
    return Division.objects.filter(code=code).values_list("path", flat=True).first()


def pairing_list(*, actor: Any, filters: PairingFilters | None = None) -> QuerySet[Pairing]:
    """Pairings the actor may see, newest first."""
    filters = filters or PairingFilters()
    qs = visible_pairings(actor)
    if filters.division_code:
        path = _division_path(filters.division_code)
        if path is None:
            return Pairing.objects.none()
        qs = qs.filter(subtree_q(path, "household__division__path"))
    if filters.official:
        qs = qs.filter(official__user__username=filters.official)
    if filters.household_no:
        qs = qs.filter(household__household_no=filters.household_no)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.active is True:
        qs = qs.filter(ended_on__isnull=True)
    elif filters.active is False:
        qs = qs.filter(ended_on__isnull=False)
    return qs.select_related("official__user", "household__division", "member").order_by(
        "-started_on", "-id"
    )


def household_pairings(household: Household) -> QuerySet[Pairing]:
    """Every pairing of a household, active first, then by start date (history included)."""
    return (
        Pairing.objects.filter(household=household)
        .select_related("official__user", "member")
        .order_by("ended_on", "-started_on", "-id")
    )


def household_visits(household: Household, *, limit: int | None = None) -> list[Visit]:
    qs = (
        Visit.objects.filter(household=household)
        .select_related("official")
        .prefetch_related("photos")
        .order_by("-visited_on", "-id")
    )
    return list(qs[:limit] if limit else qs)


# --- Officials ----------------------------------------------------------------------------------


def pairing_officials() -> QuerySet[Official]:
    """Officials who hold the pairing role, with their anchor path."""
    has_role = Exists(
        RoleAssignment.objects.filter(user=OuterRef("user"), role=Role.PAIRING_OFFICIAL)
    )
    return Official.objects.filter(has_role).annotate(anchor_path=anchor_path_expression())


def _quota_value(field_name: str, day: dt.date) -> Coalesce:
    rule = (
        QuotaRule.objects.filter(rank_level=OuterRef("rank_level"), valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .order_by("-valid_from")
        .values(field_name)[:1]
    )
    return Coalesce(Subquery(rule), Value(0))


def _active_count(kind: str) -> Coalesce:
    count = (
        Pairing.objects.active()
        .filter(official=OuterRef("pk"), kind=kind)
        .values("official")
        .annotate(n=Count("id"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(count), Value(0))


def _with_usage(officials: QuerySet[Official], day: dt.date) -> QuerySet[Official]:
    return officials.annotate(
        households=_active_count(Pairing.Kind.HOUSEHOLD),
        orphans=_active_count(Pairing.Kind.ORPHAN),
        household_quota=_quota_value("households", day),
        orphan_quota=_quota_value("orphans", day),
    )


def official_list(*, actor: Any, day: dt.date | None = None) -> QuerySet[Official]:
    """Pairing officials the actor may see, with active pairings and quotas, by username."""
    from fupin.pairing.access import visible_officials

    has_role = Exists(
        RoleAssignment.objects.filter(user=OuterRef("user"), role=Role.PAIRING_OFFICIAL)
    )
    officials = visible_officials(actor).filter(has_role).select_related("user")
    return _with_usage(officials, day or today()).order_by("user__username")


def official_with_usage(official: Official, day: dt.date | None = None) -> Official:
    """The official again, annotated like ``official_list``."""
    return _with_usage(
        Official.objects.filter(pk=official.pk).select_related("user"), day or today()
    ).get()


def household_member(household: Household, public_id: Any) -> Member | None:
    return Member.objects.filter(household=household, public_id=public_id).first()


def attendance_by_member(members: list[TeamMember]) -> dict[int, dict[str, int]]:
    """member id → {"YYYY-MM": days} over every recorded month."""
    out: dict[int, dict[str, int]] = {}
    for member_id, month, days in Attendance.objects.filter(member__in=members).values_list(
        "member_id", "month", "days"
    ):
        out.setdefault(member_id, {})[month.strftime("%Y-%m")] = days
    return out


def official_anchors() -> list[tuple[int, str, str, str, str, str]]:
    """(id, rank level, anchor path, username, name, unit) of every active pairing official.

    The same anchor as ``access.anchor_path_expression`` (the unit's paired division, else the
    pairing role's division), computed from three flat queries instead of two correlated
    subqueries per official: the coverage page reads all officials of a city.
    """
    units = dict(HelpUnit.objects.values_list("name", "paired_division__path"))
    # Ordered so that the first path of each user wins, as in the SQL expression.
    roles: dict[int, str] = dict(
        RoleAssignment.objects.filter(role=Role.PAIRING_OFFICIAL)
        .order_by("-division__path")
        .values_list("user_id", "division__path")
    )
    has_role = Exists(
        RoleAssignment.objects.filter(user=OuterRef("user"), role=Role.PAIRING_OFFICIAL)
    )
    out = []
    for pk, rank, unit, user_id, username, name in (
        Official.objects.filter(has_role, user__is_active=True)
        .values_list("id", "rank_level", "unit", "user_id", "user__username", "full_name")
        .order_by()
    ):
        anchor = units.get(unit) or roles.get(user_id, "")
        out.append((pk, rank, anchor, username, name, unit))
    return out


def official_usage(official: Official, day: dt.date | None = None) -> dict[str, Any]:
    """Quota and active pairings of one official."""
    day = day or today()
    quota = quotas_on(day).get(official.rank_level)
    counts = dict(
        Pairing.objects.active()
        .filter(official=official)
        .values_list("kind")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("kind", "n")
    )
    return {
        "quota": quota,
        "households": counts.get(Pairing.Kind.HOUSEHOLD, 0),
        "orphans": counts.get(Pairing.Kind.ORPHAN, 0),
        "household_quota": quota.households if quota else 0,
        "orphan_quota": quota.orphans if quota else 0,
    }


def official_choices(actor: Any, household: Household, day: dt.date) -> list[tuple[Official, int]]:
    """Officials the actor may pick for a household, with free places: nearest first (anchored
    in the household's village, township, county, then above), then by name. At most 200.

    Only officials anchored in the household's county or above it are offered: the proposal
    pairs across counties only when a county runs out of places.
    """
    from fupin.pairing.access import visible_officials

    quotas = quotas_on(day)
    path = household.division.path
    ancestors = [
        "/".join(path.split("/")[:i]) + "/" for i in range(len(path.strip("/").split("/")), 0, -1)
    ]
    county = (
        Division.objects.filter(path__in=ancestors, level=Level.COUNTY)
        .values_list("path", flat=True)
        .first()
    )
    near = (
        subtree_q(county, "anchor_path") | Q(anchor_path__in=ancestors)
        if county
        else Q(pk__isnull=False)
    )
    officials = (
        visible_officials(actor)
        .filter(
            near,
            Exists(
                RoleAssignment.objects.filter(user=OuterRef("user"), role=Role.PAIRING_OFFICIAL)
            ),
            user__is_active=True,
            rank_level__in=[r for r, q in quotas.items() if q.households > 0],
        )
        .annotate(
            used=Subquery(
                Pairing.objects.active()
                .filter(official=OuterRef("pk"), kind=Pairing.Kind.HOUSEHOLD)
                .values("official")
                .annotate(n=Count("id"))
                .values("n")[:1]
            )
        )
        .select_related("user")
    )
    out: list[tuple[int, str, Official, int]] = []
    for official in officials:
        free = quotas[official.rank_level].households - (official.used or 0)
        if free <= 0:
            continue
        anchor = official.anchor_path or ""  # type: ignore[attr-defined]
        distance = next(
            (i for i, a in enumerate(ancestors) if anchor.startswith(a)), len(ancestors)
        )
        out.append((distance, official.full_name, official, free))
    out.sort(key=lambda t: (t[0], t[1]))
    return [(o, free) for _d, _n, o, free in out[:200]]


# --- Coverage -----------------------------------------------------------------------------------


@dataclass
class CoverageRow:
    code: str
    name: str
    level: str
    households: int = 0
    covered: int = 0
    officials: int = 0
    places: int = 0
    assigned: int = 0
    over_quota: int = 0
    under_quota: int = 0
    is_self: bool = False  # rows counted directly at the report's division

    @property
    def uncovered(self) -> int:
        return self.households - self.covered

    @property
    def coverage_percent(self) -> float:
        return 100.0 * self.covered / self.households if self.households else 100.0


@dataclass
class OfficialRow:
    username: str
    full_name: str
    unit: str
    rank_level: str
    quota: int
    assigned: int

    @property
    def over(self) -> int:
        return self.assigned - self.quota

    @property
    def rank_label(self) -> str:
        return (
            str(RankLevel(self.rank_level).label)
            if self.rank_level in RankLevel.values
            else self.rank_level
        )


@dataclass
class CoverageReport:
    division: Division
    day: dt.date
    rows: list[CoverageRow]
    total: CoverageRow
    over_quota: list[OfficialRow] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)


def coverage(*, actor: Any, division_code: str = "", day: dt.date | None = None) -> CoverageReport:
    """Households in the pairing programme with and without a responsible official, and pairing
    officials over or under their quota, for each child of the division (drill-down).

    Households are counted per village in one GROUP BY (a LEFT JOIN on the active pairing,
    which the one-official-per-household index answers); officials per anchor in a second; the
    counts are folded up to the children in Python.
    """
    day = day or today()
    root = scope_root(actor, division_code)
    statuses = programme_statuses(day)
    depth = len(root.path)
    children = {
        d.path: CoverageRow(d.code, d.name, d.level)
        for d in Division.objects.filter(parent=root).only("code", "name", "level", "path")
    }
    itself = CoverageRow(root.code, root.name, root.level, is_self=True)

    def row_for(path: str) -> CoverageRow:
        return children.get(path[: depth + SEGMENT], itself) if len(path) > depth else itself

    village_paths = dict(
        Division.objects.subtree(root.path)
        .filter(level__in=(Level.VILLAGE, Level.GROUP))
        .values_list("id", "path")
    )
    covered = Exists(
        Pairing.objects.filter(
            household=OuterRef("pk"), kind=Pairing.Kind.HOUSEHOLD, ended_on__isnull=True
        )
    )
    per_village = (
        Household.objects.filter(
            status__in=statuses, division__in=Division.objects.subtree(root.path).values("pk")
        )
        .values("division_id")
        .annotate(n=Count("id"), covered=Count("id", filter=Q(covered)))
        .order_by()
    )
    for item in per_village:
        row = row_for(village_paths.get(item["division_id"], root.path))
        row.households += item["n"]
        row.covered += item["covered"]

    quotas = quotas_on(day)
    assigned = dict(
        Pairing.objects.active()
        .filter(kind=Pairing.Kind.HOUSEHOLD)
        .values_list("official_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("official_id", "n")
    )
    end = root.path[:-1] + "0"
    officials = [o for o in official_anchors() if root.path <= o[2] < end]
    over: list[OfficialRow] = []
    for pk, rank, anchor, username, name, unit in officials:
        row = row_for(anchor)
        quota = _quota_households(quotas.get(rank))
        used = assigned.get(pk, 0)
        row.officials += 1
        row.places += quota
        row.assigned += used
        if used > quota:
            row.over_quota += 1
            if len(over) < 200:
                over.append(OfficialRow(username, name, unit, rank, quota, used))
        elif used < quota:
            row.under_quota += 1
    rows = sorted(children.values(), key=lambda r: r.code)
    if itself.households or itself.officials:
        rows.insert(0, itself)
    total = CoverageRow(root.code, root.name, root.level)
    for row in rows:
        for attr in (
            "households",
            "covered",
            "officials",
            "places",
            "assigned",
            "over_quota",
            "under_quota",
        ):
            setattr(total, attr, getattr(total, attr) + getattr(row, attr))
    over.sort(key=lambda o: (-o.over, o.username))
    return CoverageReport(root, day, rows, total, over[:50], statuses)


def _quota_households(quota: Quota | None) -> int:
    return quota.households if quota else 0


def uncovered_households(
    *, actor: Any, division: Division, day: dt.date | None = None
) -> QuerySet[Household]:
    """Households in the programme without a responsible official, in the division's subtree
    (which the caller has checked is in scope), by household number."""
    day = day or today()
    scope = actor_scope(actor)
    paired = Pairing.objects.filter(
        household=OuterRef("pk"), kind=Pairing.Kind.HOUSEHOLD, ended_on__isnull=True
    )
    divisions = Division.objects.filter(scope.division_q()).subtree(division.path)
    households = Household.objects.filter(status__in=programme_statuses(day))
    if division.level in (Level.PROVINCE, Level.CITY, Level.COUNTY):
        # A large scope: walking the household_no index in order finds the first page at once,
        # while the division index would collect and sort most of the registry (+ 0 keeps the
        # planner off it), as the registry's own list does.
        households = households.alias(division_key=F("division_id") + 0).filter(
            division_key__in=divisions.values("pk")
        )
    else:
        households = households.filter(division__in=divisions.values("pk"))
    return households.exclude(Exists(paired)).prefetch_related("division").order_by("household_no")


# --- Overdue visits -----------------------------------------------------------------------------


def overdue_q(day: dt.date, prefix: str = "") -> Q:
    """Active pairings whose household is due a visit: no visit by the official within the
    interval of the household's status (counted from the start when never visited)."""
    condition = Q(pk__in=[])
    for status, days in interval_for_status(day).items():
        cutoff = day - dt.timedelta(days=days)
        condition |= Q(**{f"{prefix}household__status": status}) & (
            Q(**{f"{prefix}last_visited_on__lt": cutoff})
            | Q(**{f"{prefix}last_visited_on__isnull": True, f"{prefix}started_on__lt": cutoff})
        )
    return condition & Q(**{f"{prefix}ended_on__isnull": True})


def overdue_pairings(
    *, actor: Any, division: Division, day: dt.date | None = None
) -> QuerySet[Pairing]:
    """Overdue pairings in the division's subtree, longest overdue first."""
    day = day or today()
    scope = actor_scope(actor)
    return (
        Pairing.objects.filter(
            overdue_q(day),
            scope.division_q("household__division__path"),
            subtree_q(division.path, "household__division__path"),
        )
        .select_related("official__user", "household__division")
        .order_by("last_visited_on", "started_on", "id")
    )


@dataclass
class OverdueByOfficial:
    username: str
    full_name: str
    unit: str
    overdue: int
    households: int


@dataclass
class OverdueByVillage:
    code: str
    name: str
    overdue: int


@dataclass
class OverdueSummary:
    total: int
    by_official: list[OverdueByOfficial]
    by_village: list[OverdueByVillage]


def overdue_summary(
    *, actor: Any, division: Division, day: dt.date | None = None, limit: int = 100
) -> OverdueSummary:
    """Overdue pairings in the division: their number, and the officials and villages with the
    most (one query for the pairs, folded in Python; then the names of the top ones)."""
    day = day or today()
    per_official: dict[int, int] = {}
    per_village: dict[int, int] = {}
    pairs = overdue_pairings(actor=actor, division=division, day=day).values_list(
        "official_id", "household__division_id"
    )
    total = 0
    for official_id, village_id in pairs.order_by():
        total += 1
        per_official[official_id] = per_official.get(official_id, 0) + 1
        per_village[village_id] = per_village.get(village_id, 0) + 1
    top_officials = sorted(per_official.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    top_villages = sorted(per_village.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    ids = [pk for pk, _n in top_officials]
    people = {
        pk: (username, name, unit)
        for pk, username, name, unit in Official.objects.filter(pk__in=ids).values_list(
            "pk", "user__username", "full_name", "unit"
        )
    }
    households = dict(
        Pairing.objects.active()
        .filter(official_id__in=ids, kind=Pairing.Kind.HOUSEHOLD)
        .values_list("official_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("official_id", "n")
    )
    names = {
        pk: (code, name)
        for pk, code, name in Division.objects.filter(
            pk__in=[pk for pk, _n in top_villages]
        ).values_list("pk", "code", "name")
    }
    return OverdueSummary(
        total=total,
        by_official=[
            OverdueByOfficial(*people[pk], n, households.get(pk, 0))
            for pk, n in top_officials
            if pk in people
        ],
        by_village=[OverdueByVillage(*names[pk], n) for pk, n in top_villages if pk in names],
    )


def official_pairings(official: Official) -> QuerySet[Pairing]:
    return (
        Pairing.objects.filter(official=official)
        .select_related("household__division", "member")
        .order_by("ended_on", "household__household_no")
    )


def official_teams(official: Official) -> list[TeamMember]:
    return list(
        TeamMember.objects.filter(official=official)
        .select_related("village__division")
        .order_by("ended_on", "-started_on")
    )


def official_for_team(actor: Any, username: str) -> Official | None:
    """An official the actor may post to a work team, by username."""
    from fupin.pairing.access import visible_officials

    return visible_officials(actor).select_related("user").filter(user__username=username).first()


def visit_officials(household: Household) -> list[Official]:
    """Officials paired with the household (active first): who a visit may be recorded for."""
    seen: dict[int, Official] = {}
    for pairing in household_pairings(household):
        seen.setdefault(pairing.official_id, pairing.official)
    return list(seen.values())


def household_overdue_ids(household: Household, day: dt.date) -> set[int]:
    return set(
        Pairing.objects.filter(overdue_q(day), household=household).values_list("id", flat=True)
    )


def official_overdue_ids(official: Official, day: dt.date) -> set[int]:
    return set(
        Pairing.objects.filter(overdue_q(day), official=official).values_list("id", flat=True)
    )


# --- Visits -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitFilters:
    division_code: str = ""
    official: str = ""
    household_no: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def visit_list(*, actor: Any, filters: VisitFilters | None = None) -> QuerySet[Visit]:
    """Visits to households in the actor's scope, and the actor's own, newest first."""
    filters = filters or VisitFilters()
    scope = actor_scope(actor)
    condition = (
        scope.division_q("household__division__path") if not scope.is_empty else Q(pk__in=[])
    )
    own = actor_official(actor)
    if own is not None:
        condition |= Q(official=own)
    qs = Visit.objects.filter(condition)
    if filters.division_code:
        path = _division_path(filters.division_code)
        if path is None:
            return Visit.objects.none()
        qs = qs.filter(subtree_q(path, "household__division__path"))
    if filters.official:
        qs = qs.filter(official__user__username=filters.official)
    if filters.household_no:
        qs = qs.filter(household__household_no=filters.household_no)
    if filters.date_from:
        qs = qs.filter(visited_on__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(visited_on__lte=filters.date_to)
    return (
        qs.select_related("official__user", "household__division")
        .prefetch_related("photos")
        .order_by("-visited_on", "-id")
    )


# --- Key villages -------------------------------------------------------------------------------


@dataclass
class KeyVillageRow:
    village: KeyVillage
    secretary: TeamMember | None
    members: int
    attendance_days: int

    @property
    def flagged(self) -> bool:
        return self.secretary is None


def key_village_list(
    *, actor: Any, division_code: str = "", only_missing: bool = False, year: int | None = None
) -> list[KeyVillageRow]:
    """Key villages in the actor's scope with their first secretary, team size and attendance
    days this year; villages without a first secretary are flagged (listed first)."""
    scope = actor_scope(actor)
    if scope.is_empty:
        return []
    year = year or today().year
    qs = KeyVillage.objects.filter(scope.division_q("division__path")).select_related("division")
    if division_code:
        path = _division_path(division_code)
        if path is None:
            return []
        qs = qs.filter(subtree_q(path, "division__path"))
    villages = list(qs.order_by("division__code"))
    active = TeamMember.objects.filter(village__in=villages, ended_on__isnull=True).select_related(
        "official__user"
    )
    secretary: dict[int, TeamMember] = {}
    size: dict[int, int] = {}
    for member in active:
        size[member.village_id] = size.get(member.village_id, 0) + 1
        if member.role == TeamMember.Role.FIRST_SECRETARY:
            secretary[member.village_id] = member
    days = dict(
        Attendance.objects.filter(
            member__village__in=villages,
            month__gte=dt.date(year, 1, 1),
            month__lte=dt.date(year, 12, 1),
        )
        .values_list("member__village_id")
        .annotate(total=Sum("days"))
        .order_by()
        .values_list("member__village_id", "total")
    )
    rows = [
        KeyVillageRow(v, secretary.get(v.pk), size.get(v.pk, 0), days.get(v.pk) or 0)
        for v in villages
    ]
    if only_missing:
        rows = [r for r in rows if r.flagged]
    rows.sort(key=lambda r: (not r.flagged, r.village.division.code))
    return rows


def village_team(village: KeyVillage) -> list[TeamMember]:
    return list(
        TeamMember.objects.filter(village=village)
        .select_related("official__user")
        .order_by("ended_on", "role", "started_on", "id")
    )


def team_attendance(members: list[TeamMember], year: int) -> dict[int, dict[int, int]]:
    """member id → month number → days, for ``year``."""
    out: dict[int, dict[int, int]] = {}
    for member_id, month, days in Attendance.objects.filter(
        member__in=members, month__gte=dt.date(year, 1, 1), month__lte=dt.date(year, 12, 1)
    ).values_list("member_id", "month", "days"):
        out.setdefault(member_id, {})[month.month] = days
    return out


# --- Policy -------------------------------------------------------------------------------------


def help_units() -> QuerySet[HelpUnit]:
    """Every help unit with its seat and paired division (not personal data), by name."""
    return HelpUnit.objects.select_related("home", "paired_division").order_by("name")


def quota_rules() -> QuerySet[QuotaRule]:
    """Every version of the quota rules (public policy data)."""
    return QuotaRule.objects.order_by("rank_level", "-valid_from")


def visit_rules() -> QuerySet[VisitRule]:
    return VisitRule.objects.order_by("interval_days", "code", "-valid_from")
