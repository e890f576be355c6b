"""The automatic pairing proposal (结对帮扶自动匹配): vectorised, greedy, nearest first.

Every household in the pairing programme without a responsible official gets one, within the
quota of each official's rank level, as near as possible to the village or township the
official's unit is paired with (单位包村): first officials anchored in the household's own
village, then in its township, its county, its city, and finally anywhere. Orphans are matched
the same way to the orphan places of city- and county-level leaders.

When there are fewer places than households, the key households (the statuses of the most
frequent visit rule: not yet out of poverty, returned) are served first and the shortfall is
reported per county. The matching is a sort and a join on (place key, rank within the key), in
numpy: 100,000 households and 20,000 officials take well under a second to match.
"""

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from numpy.typing import NDArray

from fupin.accounts.models import Official
from fupin.core import bulk
from fupin.core.audit import ChangeSource, audit_record
from fupin.core.models import AuditEvent
from fupin.divisions.models import Division, Level
from fupin.pairing.models import Pairing
from fupin.pairing.orphans import orphan_q
from fupin.pairing.policy import priority_statuses, programme_statuses, quotas_on
from fupin.pairing.selectors import official_anchors
from fupin.registry.models import Household, Member

Array = NDArray[Any]
# Match levels, nearest first; "anywhere" pairs what is left over across the whole scope.
LEVELS = (Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY, Level.CITY, "anywhere")
KEY_LEVELS = (Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY, Level.CITY)


@dataclass
class CountyRow:
    code: str
    name: str
    households: int
    matched: int
    orphans: int
    orphans_matched: int

    @property
    def shortfall(self) -> int:
        return self.households - self.matched

    @property
    def orphan_shortfall(self) -> int:
        return self.orphans - self.orphans_matched


@dataclass
class Proposal:
    """What the proposal would do (or did): the pairs and the figures to show."""

    division_code: str
    day: dt.date
    households: int = 0  # in the programme without a responsible official, before the proposal
    matched: int = 0
    orphans: int = 0
    orphans_matched: int = 0
    officials: int = 0  # pairing officials considered
    free_places: int = 0
    free_orphan_places: int = 0
    officials_used: int = 0
    by_level: dict[str, int] = field(default_factory=dict)
    counties: list[CountyRow] = field(default_factory=list)
    seconds: float = 0.0
    applied: int = 0
    # The pairs: parallel arrays (official id, household id, member id or -1, kind, level index).
    official_ids: Array = field(default_factory=lambda: np.empty(0, np.int64))
    household_ids: Array = field(default_factory=lambda: np.empty(0, np.int64))
    member_ids: Array = field(default_factory=lambda: np.empty(0, np.int64))
    orphan: Array = field(default_factory=lambda: np.empty(0, bool))
    levels: Array = field(default_factory=lambda: np.empty(0, np.int64))

    @property
    def shortfall(self) -> int:
        return self.households - self.matched

    @property
    def orphan_shortfall(self) -> int:
        return self.orphans - self.orphans_matched

    def summary(self) -> dict[str, Any]:
        return {
            "division": self.division_code,
            "day": self.day.isoformat(),
            "households_without_official": self.households,
            "households_matched": self.matched,
            "households_shortfall": self.shortfall,
            "orphans_without_official": self.orphans,
            "orphans_matched": self.orphans_matched,
            "orphans_shortfall": self.orphan_shortfall,
            "officials": self.officials,
            "officials_used": self.officials_used,
            "free_places": self.free_places,
            "free_orphan_places": self.free_orphan_places,
            "by_level": self.by_level,
            "counties": [
                {
                    "code": c.code,
                    "name": c.name,
                    "households": c.households,
                    "matched": c.matched,
                    "shortfall": c.shortfall,
                    "orphans": c.orphans,
                    "orphans_matched": c.orphans_matched,
                }
                for c in self.counties
            ],
            "applied": self.applied,
            "seconds": round(self.seconds, 3),
        }


class _Tree:
    """Every division's ancestor at each level, as small integer keys (-1: none)."""

    def __init__(self) -> None:
        rows = list(Division.objects.values_list("id", "code", "name", "level", "path"))
        size = max((r[0] for r in rows), default=0) + 1
        self.keys: dict[str, Array] = {str(lvl): np.full(size, -1, np.int64) for lvl in KEY_LEVELS}
        self.id_of_path = {r[4]: r[0] for r in rows}
        by_code = {r[1]: (r[0], r[3]) for r in rows}
        self.names = {r[0]: (r[1], r[2]) for r in rows}
        for pk, _code, _name, _level, path in rows:
            for code in path.strip("/").split("/"):
                ancestor = by_code.get(code)
                if ancestor is not None and ancestor[1] in self.keys:
                    self.keys[ancestor[1]][pk] = ancestor[0]

    def key(self, level: str, division_ids: Array) -> Array:
        if level == "anywhere":
            return np.zeros(len(division_ids), np.int64)
        return self.keys[level][division_ids]


def _match(h_key: Array, s_key: Array) -> tuple[Array, Array]:
    """Pair items of equal key, in their given order: the i-th household of a key with the i-th
    place of the same key. Key -1 never matches. Returns matched (household, place) indices."""
    h_order = np.argsort(h_key, kind="stable")
    s_order = np.argsort(s_key, kind="stable")
    h_sorted, s_sorted = h_key[h_order], s_key[s_order]
    h_rank, s_rank = _rank_in_group(h_sorted), _rank_in_group(s_sorted)
    width = np.int64(max(len(h_key), len(s_key)) + 1)
    h_comb = np.where(h_sorted >= 0, h_sorted * width + h_rank, -1 - np.arange(len(h_sorted)))
    s_comb = np.where(
        s_sorted >= 0, s_sorted * width + s_rank, -(len(h_sorted) + 2) - np.arange(len(s_sorted))
    )
    _common, hi, si = np.intersect1d(h_comb, s_comb, assume_unique=True, return_indices=True)
    return h_order[hi], s_order[si]


def _rank_in_group(sorted_keys: Array) -> Array:
    n = len(sorted_keys)
    if n == 0:
        return np.empty(0, np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    lengths = np.diff(np.r_[starts, n])
    return np.arange(n) - np.repeat(starts, lengths)


def _greedy(
    tree: _Tree, h_div: Array, s_div: Array, passes: list[Array]
) -> tuple[Array, Array, Array]:
    """Match households (by village) to places (by anchor) level by level, pass by pass.

    ``passes`` are index arrays into the households, served in that order. Returns the matched
    household indices, place indices and level index of each match.
    """
    s_free = np.ones(len(s_div), bool)
    out_h, out_s, out_level = [], [], []
    for selection in passes:
        h_left = selection.copy()
        for level_index, level in enumerate(LEVELS):
            if len(h_left) == 0 or not s_free.any():
                break
            s_left = np.flatnonzero(s_free)
            hi, si = _match(tree.key(level, h_div[h_left]), tree.key(level, s_div[s_left]))
            if len(hi) == 0:
                continue
            out_h.append(h_left[hi])
            out_s.append(s_left[si])
            out_level.append(np.full(len(hi), level_index, np.int64))
            s_free[s_left[si]] = False
            keep = np.ones(len(h_left), bool)
            keep[hi] = False
            h_left = h_left[keep]
    if not out_h:
        empty = np.empty(0, np.int64)
        return empty, empty, empty
    return np.concatenate(out_h), np.concatenate(out_s), np.concatenate(out_level)


def _officials(division: Division | None) -> list[tuple[int, str, str | None]]:
    """(id, rank level, anchor path) of the active pairing officials that may serve the scope:
    anchored inside it or above it; by id."""
    officials = sorted(official_anchors())
    if division is not None:
        codes = division.ancestor_codes
        above = {"/".join(codes[:i]) + "/" for i in range(1, len(codes))}
        end = division.path[:-1] + "0"
        officials = [o for o in officials if division.path <= o[2] < end or o[2] in above]
    return [(pk, rank, anchor) for pk, rank, anchor, *_rest in officials]


def _places(
    officials: list[tuple[int, str, str | None]], tree: _Tree, day: dt.date, kind: str
) -> tuple[Array, Array, int]:
    """One entry per free place: (official id, anchor division id); and the officials count."""
    quotas = quotas_on(day)
    used = _used_all(kind)
    ids = np.array([o[0] for o in officials], np.int64)
    anchors = np.array([tree.id_of_path.get(o[2] or "", 0) for o in officials], np.int64)
    quota = np.array(
        [
            (
                (quotas[o[1]].orphans if kind == Pairing.Kind.ORPHAN else quotas[o[1]].households)
                if o[1] in quotas
                else 0
            )
            for o in officials
        ],
        np.int64,
    )
    free = np.maximum(quota - np.array([used.get(o[0], 0) for o in officials], np.int64), 0)
    return np.repeat(ids, free), np.repeat(anchors, free), len(officials)


def _used_all(kind: str) -> dict[int, int]:
    return dict(
        Pairing.objects.active()
        .filter(kind=kind)
        .values_list("official_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("official_id", "n")
    )


def _households(division: Division | None, day: dt.date) -> tuple[Array, Array, Array]:
    """(id, village id, is key household) of programme households without an official."""
    paired = Pairing.objects.filter(
        household=OuterRef("pk"), kind=Pairing.Kind.HOUSEHOLD, ended_on__isnull=True
    )
    qs = Household.objects.filter(status__in=programme_statuses(day)).exclude(Exists(paired))
    if division is not None:
        qs = qs.filter(division__in=Division.objects.subtree(division.path).values("pk"))
    rows = list(qs.order_by("id").values_list("id", "division_id", "status"))
    key = set(priority_statuses(day))
    ids = np.array([r[0] for r in rows], np.int64)
    villages = np.array([r[1] for r in rows], np.int64)
    is_key = np.array([r[2] in key for r in rows], bool)
    return ids, villages, is_key


def _orphans(division: Division | None, day: dt.date) -> tuple[Array, Array, Array]:
    """(member id, household id, village id) of orphans without an official, in programme
    households."""
    paired = Pairing.objects.filter(
        member=OuterRef("pk"), kind=Pairing.Kind.ORPHAN, ended_on__isnull=True
    )
    qs = Member.objects.filter(
        orphan_q(day), household__status__in=programme_statuses(day)
    ).exclude(Exists(paired))
    if division is not None:
        qs = qs.filter(household__division__in=Division.objects.subtree(division.path).values("pk"))
    rows = list(qs.order_by("id").values_list("id", "household_id", "household__division_id"))
    return (
        np.array([r[0] for r in rows], np.int64),
        np.array([r[1] for r in rows], np.int64),
        np.array([r[2] for r in rows], np.int64),
    )


def propose(*, division: Division | None, day: dt.date) -> Proposal:
    """Compute the proposal for the households in ``division``'s subtree (all when None)."""
    started = time.perf_counter()
    tree = _Tree()
    proposal = Proposal(division_code=division.code if division else "", day=day)
    officials = _officials(division)
    proposal.officials = len(officials)

    # Households.
    h_ids, h_div, h_key = _households(division, day)
    s_off, s_div, _n = _places(officials, tree, day, Pairing.Kind.HOUSEHOLD)
    proposal.households, proposal.free_places = len(h_ids), len(s_off)
    # Enough places: one pass, nearest first. Too few: key households first, then the rest.
    passes = (
        [np.arange(len(h_ids))]
        if len(s_off) >= len(h_ids)
        else [np.flatnonzero(h_key), np.flatnonzero(~h_key)]
    )
    hi, si, level = _greedy(tree, h_div, s_div, passes)

    # Orphans.
    o_member, o_household, o_div = _orphans(division, day)
    t_off, t_div, _n = _places(officials, tree, day, Pairing.Kind.ORPHAN)
    proposal.orphans, proposal.free_orphan_places = len(o_member), len(t_off)
    oi, ti, o_level = _greedy(tree, o_div, t_div, [np.arange(len(o_member))])

    proposal.official_ids = np.r_[s_off[si], t_off[ti]].astype(np.int64)
    proposal.household_ids = np.r_[h_ids[hi], o_household[oi]].astype(np.int64)
    proposal.member_ids = np.r_[np.full(len(hi), -1, np.int64), o_member[oi]].astype(np.int64)
    proposal.orphan = np.r_[np.zeros(len(hi), bool), np.ones(len(oi), bool)]
    proposal.levels = np.r_[level, o_level].astype(np.int64)
    proposal.matched, proposal.orphans_matched = len(hi), len(oi)
    proposal.officials_used = len(np.unique(proposal.official_ids))
    counts = np.bincount(level, minlength=len(LEVELS))
    proposal.by_level = {str(lvl): int(c) for lvl, c in zip(LEVELS, counts, strict=True)}
    proposal.counties = _county_rows(tree, h_div, hi, o_div, oi)
    proposal.seconds = time.perf_counter() - started
    return proposal


def _county_rows(tree: _Tree, h_div: Array, hi: Array, o_div: Array, oi: Array) -> list[CountyRow]:
    county_h = tree.key(Level.COUNTY, h_div) if len(h_div) else np.empty(0, np.int64)
    county_o = tree.key(Level.COUNTY, o_div) if len(o_div) else np.empty(0, np.int64)
    keys = sorted(set(county_h.tolist()) | set(county_o.tolist()))
    rows = []
    for key in keys:
        code, name = tree.names.get(key, ("", "—"))
        rows.append(
            CountyRow(
                code=code,
                name=name,
                households=int((county_h == key).sum()),
                matched=int((county_h[hi] == key).sum()) if len(hi) else 0,
                orphans=int((county_o == key).sum()),
                orphans_matched=int((county_o[oi] == key).sum()) if len(oi) else 0,
            )
        )
    return rows


@transaction.atomic
def proposal_apply(
    *,
    actor: Any,
    source: ChangeSource,
    division: Division | None,
    day: dt.date,
    started_on: dt.date | None = None,
) -> Proposal:
    """Compute the proposal and write its pairings in bulk, each with its audit event (the
    household's history shows it), plus one event for the run. One transaction: all or nothing.

    The database keeps one responsible official per household (a partial unique index), so a
    concurrent assignment makes the whole run fail rather than pair a household twice.
    """
    proposal = propose(division=division, day=day)
    started_on = started_on or day
    n = len(proposal.household_ids)
    if n:
        _write_pairings(proposal, actor, source, started_on)
    proposal.applied = n
    scope_path = division.path if division is not None else ""
    audit_record(
        actor=actor,
        action="pairing.propose",
        entity="pairing",
        entity_key=proposal.division_code or "all",
        source=source,
        division_path=scope_path,
        after={k: v for k, v in proposal.summary().items() if k not in ("counties", "seconds")},
    )
    return proposal


def _write_pairings(
    proposal: Proposal, actor: Any, source: ChangeSource, started_on: dt.date
) -> None:
    n = len(proposal.household_ids)
    public_ids = bulk.uuid_values(n)
    dashed = _dashed(public_ids)
    kinds = np.where(proposal.orphan, Pairing.Kind.ORPHAN.value, Pairing.Kind.HOUSEHOLD.value)
    members = proposal.member_ids.astype(object)
    members[proposal.member_ids < 0] = None
    now = bulk.now_value()
    started = bulk.date_value(started_on)
    bulk.insert_rows(
        Pairing,
        {
            "public_id": public_ids,
            "official": proposal.official_ids,
            "household": proposal.household_ids,
            "member": members,
            "kind": kinds.astype(object),
            "origin": Pairing.Origin.PROPOSAL.value,
            "started_on": started,
            "ended_on": None,
            "end_reason": "",
            "last_visited_on": None,
            "created_at": now,
        },
        n,
    )
    # The audit events: what each household's history shows.
    official_rows = {
        pk: (username, name)
        for pk, username, name in Official.objects.filter(
            pk__in=np.unique(proposal.official_ids).tolist()
        ).values_list("pk", "user__username", "full_name")
    }
    households: dict[int, tuple[str, str]] = {}
    ids = np.unique(proposal.household_ids).tolist()
    for begin in range(0, len(ids), 50_000):
        households.update(
            (pk, (no, path))
            for pk, no, path in Household.objects.filter(
                pk__in=ids[begin : begin + 50_000]
            ).values_list("pk", "household_no", "division__path")
        )
    member_keys = dict(
        Member.objects.filter(
            pk__in=proposal.member_ids[proposal.member_ids >= 0].tolist()
        ).values_list("pk", "public_id")
    )
    afters = []
    numbers = []
    paths = []
    for i, (official_id, household_id, member_id, kind) in enumerate(
        zip(
            proposal.official_ids.tolist(),
            proposal.household_ids.tolist(),
            proposal.member_ids.tolist(),
            kinds.tolist(),
            strict=True,
        )
    ):
        username, name = official_rows[official_id]
        number, path = households[household_id]
        numbers.append(number)
        paths.append(path)
        afters.append(
            json.dumps(
                {
                    "pairing": dashed[i],
                    "official": username,
                    "official_name": name,
                    "kind": kind,
                    "member": str(member_keys[member_id]) if member_id >= 0 else None,
                    "started_on": started_on.isoformat(),
                    "origin": Pairing.Origin.PROPOSAL.value,
                },
                ensure_ascii=False,
            )
        )
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    bulk.insert_rows(
        AuditEvent,
        {
            "occurred_at": now,
            "actor": actor_id,
            "actor_username": getattr(actor, "username", "") or "",
            "action": "pairing.assign",
            "entity": "pairing",
            "entity_key": dashed,
            "household_no": numbers,
            "division_path": paths,
            "before": "{}",
            "after": afters,
            "source": source.kind,
            "source_detail": json.dumps(source.detail, ensure_ascii=False),
        },
        n,
    )
    bulk.analyze(Pairing)


def _dashed(hex_ids: list[str]) -> list[str]:
    return [f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in hex_ids]
