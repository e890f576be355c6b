"""The automatic proposal: quotas respected, nearest first, key households first when places are
short, the shortfall reported, orphans to leaders, and everything it writes in the history."""

import io
import json
import random

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from conftest import VILLAGE_A1, VILLAGE_A2, VILLAGE_B1, VILLAGE_C1
from fupin.accounts.roles import RankLevel
from fupin.core.audit import ChangeSource
from fupin.core.models import AuditEvent
from fupin.divisions.models import Division
from fupin.pairing.models import Pairing
from fupin.pairing.policy import quotas_on, today
from fupin.pairing.proposal import proposal_apply, propose
from fupin.pairing.tests.factories import (
    assign,
    make_household,
    make_official,
    make_unit,
    orphan_household,
)

pytestmark = pytest.mark.django_db
SOURCE = ChangeSource.command("test")


@pytest.fixture
def cadre(personas):
    return personas["village_cadre_a1"]


@pytest.fixture
def county_admin(personas):
    return personas["county_admin"]


def households(actor, village, n, **kwargs):
    return [make_household(actor, village=village, **kwargs) for _ in range(n)]


def pairs(proposal):
    return list(zip(proposal.official_ids.tolist(), proposal.household_ids.tolist(), strict=True))


def test_households_go_to_officials_of_their_own_village_first(county_admin):
    in_a1 = households(county_admin, VILLAGE_A1, 3)
    in_b1 = households(county_admin, VILLAGE_B1, 3)
    make_unit("一村帮扶单位", VILLAGE_A1)
    make_unit("柳村帮扶单位", VILLAGE_B1)
    x = make_official(rank=RankLevel.COUNTY, unit="一村帮扶单位")
    y = make_official(rank=RankLevel.COUNTY, unit="柳村帮扶单位")
    proposal = propose(division=None, day=today())
    assert proposal.matched == 6 and proposal.shortfall == 0
    owner = {h: o for o, h in pairs(proposal)}
    assert {owner[h.pk] for h in in_a1} == {x.pk}
    assert {owner[h.pk] for h in in_b1} == {y.pk}
    assert proposal.by_level["village"] == 6


def test_overflow_goes_to_the_township_then_the_county(county_admin):
    in_a1 = households(county_admin, VILLAGE_A1, 8)
    make_unit("一村单位", VILLAGE_A1)
    make_unit("二村单位", VILLAGE_A2)
    make_unit("柳村单位", VILLAGE_B1)
    near = make_official(rank=RankLevel.COUNTY, unit="一村单位")  # 5 places
    township = make_official(rank=RankLevel.SECTION, unit="二村单位")  # same township
    county = make_official(rank=RankLevel.COUNTY, unit="柳村单位")  # another township
    proposal = propose(division=None, day=today())
    counts: dict[int, int] = {}
    for official, _household in pairs(proposal):
        counts[official] = counts.get(official, 0) + 1
    assert counts == {near.pk: 5, township.pk: 1, county.pk: 2}
    assert proposal.by_level == {"village": 5, "township": 1, "county": 2, "city": 0, "anywhere": 0}
    assert {h for _o, h in pairs(proposal)} == {h.pk for h in in_a1}


def test_the_quota_counts_existing_pairings(county_admin):
    official = make_official(rank=RankLevel.COUNTY)  # 5 places, anchored at A1 by its role
    for household in households(county_admin, VILLAGE_A1, 3):
        assign(official, household)
    households(county_admin, VILLAGE_A1, 4)
    proposal = propose(division=None, day=today())
    assert proposal.households == 4 and proposal.free_places == 2
    assert proposal.matched == 2 and proposal.shortfall == 2


def test_key_households_come_first_when_places_are_short(county_admin):
    exited = households(county_admin, VILLAGE_A1, 2, status="exited", exit_year=2018)
    key = households(county_admin, VILLAGE_B1, 1, status="returned")
    make_official(rank=RankLevel.SECTION, division=VILLAGE_A1)  # one place, in A1
    proposal = propose(division=None, day=today())
    assert [h for _o, h in pairs(proposal)] == [key[0].pk]
    assert proposal.shortfall == 2
    row = next(c for c in proposal.counties if c.code == "371502000000")
    assert (row.households, row.matched, row.shortfall) == (3, 1, 2)
    assert {h.pk for h in exited}.isdisjoint(proposal.household_ids.tolist())


def test_households_outside_the_programme_and_officials_without_the_role_are_left_out(
    county_admin, personas
):
    households(county_admin, VILLAGE_A1, 1, status="cancelled")
    make_official(rank=RankLevel.CITY).user.__class__.objects.filter(
        username__startswith="official"
    ).update(is_active=False)
    proposal = propose(division=None, day=today())
    assert proposal.households == 0
    assert proposal.officials == 0  # the admins hold no pairing role; the official is inactive


def test_orphans_are_paired_with_city_and_county_leaders_only(county_admin):
    household = orphan_household(county_admin)
    make_official(rank=RankLevel.SECTION)
    leader = make_official(rank=RankLevel.CITY)
    proposal = propose(division=None, day=today())
    assert proposal.orphans == 1 and proposal.orphans_matched == 1
    index = proposal.orphan.tolist().index(True)
    assert proposal.official_ids[index] == leader.pk
    assert proposal.member_ids[index] == household.members.get(relation="grandson").pk


def test_a_division_scope_pairs_only_its_households_with_officials_near_it(county_admin):
    households(county_admin, VILLAGE_A1, 2)
    in_b1 = households(county_admin, VILLAGE_B1, 2)
    make_official(rank=RankLevel.COUNTY, division=VILLAGE_A1)
    in_b = make_official(rank=RankLevel.COUNTY, division=VILLAGE_B1)
    make_official(rank=RankLevel.COUNTY, division=VILLAGE_C1)
    proposal = propose(division=Division.objects.get(code="371502002000"), day=today())
    assert sorted(h for _o, h in pairs(proposal)) == sorted(h.pk for h in in_b1)
    assert {o for o, _h in pairs(proposal)} == {in_b.pk}
    assert proposal.officials == 1


def test_apply_writes_the_pairings_with_their_history_once(county_admin):
    made = households(county_admin, VILLAGE_A1, 3)
    orphan_household(county_admin)
    make_official(rank=RankLevel.CITY)
    proposal = proposal_apply(actor=county_admin, source=SOURCE, division=None, day=today())
    # Four households (the orphan's included) and the orphan.
    assert proposal.applied == 5
    assert Pairing.objects.active().filter(origin="proposal").count() == 5
    for household in made:
        event = AuditEvent.objects.get(action="pairing.assign", household_no=household.household_no)
        pairing = Pairing.objects.get(household=household)
        assert event.entity_key == str(pairing.public_id)
        assert event.after["pairing"] == str(pairing.public_id)
        assert event.actor == county_admin and event.source == "command"
    assert AuditEvent.objects.filter(action="pairing.propose").count() == 1
    again = proposal_apply(actor=None, source=SOURCE, division=None, day=today())
    assert again.applied == 0 and again.households == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_worlds_respect_quotas_and_fill_every_place_or_household(personas, seed):
    rng = random.Random(seed)
    villages = [VILLAGE_A1, VILLAGE_A2, VILLAGE_B1, VILLAGE_C1]
    for _ in range(rng.randint(5, 25)):
        status = rng.choice(["not_out", "exited", "returned"])
        make_household(
            personas["city_admin"],
            village=rng.choice(villages),
            status=status,
            exit_year=2018 if status == "exited" else None,
        )
    for _ in range(rng.randint(2, 8)):
        make_official(
            rank=rng.choice([RankLevel.CITY, RankLevel.COUNTY, RankLevel.SECTION, RankLevel.OTHER]),
            division=rng.choice(villages),
        )
    proposal = proposal_apply(actor=None, source=SOURCE, division=None, day=today())
    assert proposal.matched == min(proposal.households, proposal.free_places)
    quotas = quotas_on(today())
    used = (
        Pairing.objects.active()
        .filter(kind="household")
        .values("official__rank_level", "official")
        .annotate(n=Count("id"))
    )
    for row in used:
        assert row["n"] <= quotas[row["official__rank_level"]].households
    assert len(set(proposal.household_ids.tolist())) == len(proposal.household_ids)


def test_the_command_prints_json_and_applies(county_admin):
    households(county_admin, VILLAGE_A1, 2)
    make_official(rank=RankLevel.COUNTY)
    out = io.StringIO()
    call_command("propose_pairing", "--division", "371502000000", "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["households_matched"] == 2 and summary["applied"] == 0
    assert not Pairing.objects.exists()
    out = io.StringIO()
    call_command("propose_pairing", "--apply", stdout=out)
    assert "Applied: 2 pairings" in out.getvalue()
    assert Pairing.objects.count() == 2
    with pytest.raises(CommandError):
        call_command("propose_pairing", "--division", "999999999999")
