"""Coverage, overdue visits, key villages and the household page's pairing panel and timeline."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from conftest import VILLAGE_A1, VILLAGE_A2, VILLAGE_B1
from fupin.accounts.roles import RankLevel
from fupin.core.errors import NotFound
from fupin.divisions.models import Division
from fupin.pairing import selectors, services
from fupin.pairing.models import Attendance, TeamMember
from fupin.pairing.policy import today
from fupin.pairing.tests.factories import (
    SOURCE,
    assign,
    key_village,
    make_household,
    make_official,
    make_unit,
    post,
    visit,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def county_admin(personas):
    return personas["county_admin"]


def test_coverage_counts_households_and_officials_by_child_division(county_admin, personas):
    a1 = [make_household(county_admin, village=VILLAGE_A1) for _ in range(3)]
    make_household(county_admin, village=VILLAGE_B1)
    make_household(county_admin, village=VILLAGE_B1, status="cancelled")  # not in the programme
    official = make_official(rank=RankLevel.COUNTY, division=VILLAGE_A1)  # 5 places, anchored A1
    assign(official, a1[0])
    assign(official, a1[1])
    make_official(rank=RankLevel.SECTION, division=VILLAGE_B1)
    report = selectors.coverage(actor=county_admin)
    assert report.division.code == "371502000000"
    rows = {r.code: r for r in report.rows}
    assert (rows["371502001000"].households, rows["371502001000"].covered) == (3, 2)
    assert (rows["371502002000"].households, rows["371502002000"].covered) == (1, 0)
    assert (rows["371502001000"].officials, rows["371502001000"].places) == (1, 5)
    assert rows["371502001000"].under_quota == 1 and rows["371502002000"].under_quota == 1
    assert (report.total.households, report.total.uncovered) == (4, 2)
    drill = selectors.coverage(actor=county_admin, division_code="371502001000")
    assert {r.code: r.households for r in drill.rows} == {VILLAGE_A1: 3, VILLAGE_A2: 0}
    uncovered = list(selectors.uncovered_households(actor=county_admin, division=report.division))
    assert len(uncovered) == 2 and a1[2] in uncovered


def test_officials_over_a_lowered_quota_are_listed(county_admin):
    official = make_official(rank=RankLevel.COUNTY)
    for _ in range(3):
        assign(official, make_household(county_admin))
    services.quota_rule_set(
        actor=None,
        source=SOURCE,
        rank_level=RankLevel.COUNTY,
        households=2,
        orphans=1,
        valid_from=today(),
        source_note="test",
    )
    report = selectors.coverage(actor=county_admin)
    assert report.total.over_quota == 1
    assert [(o.username, o.quota, o.assigned) for o in report.over_quota] == [
        (official.user.username, 2, 3)
    ]


def test_coverage_outside_the_scope_is_not_found(personas):
    with pytest.raises(NotFound):
        selectors.coverage(actor=personas["village_cadre_a1"], division_code="371502002000")
    report = selectors.coverage(actor=personas["village_cadre_a1"])
    assert report.division.code == VILLAGE_A1


def test_coverage_reads_a_fixed_number_of_queries(county_admin):
    for village in (VILLAGE_A1, VILLAGE_A2, VILLAGE_B1):
        official = make_official(rank=RankLevel.CITY, division=village)
        for _ in range(3):
            assign(official, make_household(county_admin, village=village))
    with CaptureQueriesContext(connection) as few:
        selectors.coverage(actor=county_admin)
    for _ in range(5):
        assign(make_official(rank=RankLevel.SECTION), make_household(county_admin))
    with CaptureQueriesContext(connection) as more:
        selectors.coverage(actor=county_admin)
    assert len(few) == len(more) <= 10


def test_overdue_follows_the_visit_rule_of_the_household_status(county_admin):
    official = make_official(rank=RankLevel.CITY)
    key_recent = assign(official, make_household(county_admin))
    key_late = assign(official, make_household(county_admin))
    exited_late = assign(official, make_household(county_admin, status="exited", exit_year=2018))
    never = assign(official, make_household(county_admin))
    fresh = assign(
        official, make_household(county_admin), started_on=today() - dt.timedelta(days=5)
    )
    visit(key_recent, days_ago=10)
    visit(key_late, days_ago=40)  # key households: every 31 days
    visit(exited_late, days_ago=40)  # exited households: every 92 days
    division = Division.objects.get(code="371502000000")
    overdue = set(selectors.overdue_pairings(actor=county_admin, division=division))
    assert overdue == {key_late, never}
    assert fresh not in overdue
    summary = selectors.overdue_summary(actor=county_admin, division=division)
    assert summary.total == 2
    assert [(o.username, o.overdue, o.households) for o in summary.by_official] == [
        (official.user.username, 2, 5)
    ]
    assert [(v.code, v.overdue) for v in summary.by_village] == [(VILLAGE_A1, 2)]


def test_key_villages_flag_those_without_a_first_secretary(personas):
    with_team = key_village(VILLAGE_A1)
    key_village(VILLAGE_A2)
    key_village(VILLAGE_B1)
    secretary = post(with_team, make_official())
    post(with_team, make_official(), role=TeamMember.Role.MEMBER)
    Attendance.objects.create(member=secretary, month=today().replace(day=1), days=12)
    rows = selectors.key_village_list(actor=personas["township_admin_a"])
    assert [(r.village.division.code, r.flagged, r.members) for r in rows] == [
        (VILLAGE_A2, True, 0),
        (VILLAGE_A1, False, 2),
    ]
    assert rows[1].attendance_days == 12 and rows[1].secretary == secretary
    assert [
        r.village.division.code
        for r in selectors.key_village_list(actor=personas["township_admin_a"], only_missing=True)
    ] == [VILLAGE_A2]
    assert selectors.key_village_list(actor=personas["other_county_admin"]) == []


def test_the_household_page_shows_officials_and_visits_on_the_timeline(personas, household_a1):
    official = make_official(rank=RankLevel.CITY)
    pairing = assign(official, household_a1)
    visit(pairing, days_ago=3)
    client = Client()
    client.force_login(personas["village_cadre_a1"])
    page = client.get(f"/households/{household_a1.household_no}/").content.decode()
    assert 'id="pairing-officials"' in page
    assert official.full_name in page
    assert "/pairing/visits/" in page  # the visit on the timeline links to its page


def test_the_household_page_costs_the_same_queries_with_many_visits(personas, household_a1):
    pairing = assign(make_official(rank=RankLevel.CITY), household_a1)
    visit(pairing, days_ago=2)
    client = Client()
    client.force_login(personas["village_cadre_a1"])
    url = f"/households/{household_a1.household_no}/"
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for days in range(3, 30):
        visit(pairing, days_ago=days)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(one) == len(many)


def test_a_unit_anchors_its_officials_at_its_paired_village(county_admin):
    make_unit("柳村帮扶单位", VILLAGE_B1)
    official = make_official(rank=RankLevel.CITY, division=VILLAGE_A1, unit="柳村帮扶单位")
    report = selectors.coverage(actor=county_admin)
    rows = {r.code: r for r in report.rows}
    assert rows["371502002000"].officials == 1 and rows["371502001000"].officials == 0
    assert official.unit == "柳村帮扶单位"
