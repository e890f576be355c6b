"""The pairing pages through the test client, with the personas of two townships."""

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from conftest import VILLAGE_A1, VILLAGE_B1
from fupin.accounts.roles import RankLevel
from fupin.pairing.models import Attendance, Pairing, QuotaRule, TeamMember, Visit, VisitPhoto
from fupin.pairing.policy import today
from fupin.pairing.tests.factories import (
    assign,
    key_village,
    make_household,
    make_official,
    png_bytes,
    post,
    read_file,
    upload,
    visit,
)

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def error_codes(response: Any, field: str) -> list[str]:
    return [e.code for e in response.context["form"].errors.as_data().get(field, [])]


@pytest.fixture
def county_admin(personas):
    return personas["county_admin"]


def test_coverage_page_lists_uncovered_households_and_drills_down(county_admin, personas):
    covered = make_household(county_admin)
    uncovered = make_household(county_admin, village=VILLAGE_B1)
    assign(make_official(rank=RankLevel.CITY), covered)
    client = login(county_admin)
    page = client.get("/pairing/").content.decode()
    assert uncovered.household_no in page and covered.household_no not in page
    assert "?division=371502001000" in page
    assert client.get("/pairing/?division=371502002000").status_code == 200
    assert login(personas["outsider"]).get("/pairing/?division=371502001000").status_code == 404


def test_proposal_page_shows_the_figures_and_administrators_apply_it(county_admin, personas):
    make_household(county_admin)
    make_official(rank=RankLevel.COUNTY)
    client = login(county_admin)
    page = client.get("/pairing/proposal/")
    assert page.status_code == 200 and page.context["proposal"].matched == 1
    assert login(personas["village_cadre_a1"]).post("/pairing/proposal/").status_code == 403
    assert not Pairing.objects.exists()
    response = client.post("/pairing/proposal/?division=371502000000")
    assert response.status_code == 302
    assert Pairing.objects.filter(origin="proposal").count() == 1


def test_assign_beyond_quota_shows_the_error_and_saves_nothing(county_admin):
    official = make_official(rank=RankLevel.SECTION)
    assign(official, make_household(county_admin))
    household = make_household(county_admin)
    client = login(county_admin)
    form_page = client.get(f"/pairing/households/{household.household_no}/assign/")
    assert form_page.status_code == 200
    # The official has no free place: not offered, and refused when posted anyway.
    assert official.user.username not in form_page.content.decode()
    response = client.post(
        f"/pairing/households/{household.household_no}/assign/",
        {
            "official": official.user.username,
            "kind": "household",
            "started_on": today().isoformat(),
        },
    )
    assert response.status_code == 200
    assert not Pairing.objects.filter(household=household).exists()
    assert response.context["form"].errors


def test_assign_and_end_through_the_forms(county_admin, personas):
    official = make_official(rank=RankLevel.COUNTY)
    household = make_household(county_admin)
    client = login(personas["township_admin_a"])
    response = client.post(
        f"/pairing/households/{household.household_no}/assign/",
        {
            "official": official.user.username,
            "kind": "household",
            "started_on": today().isoformat(),
        },
    )
    assert response.status_code == 302
    pairing = Pairing.objects.get(household=household)
    response = client.post(
        f"/pairing/pairings/{pairing.public_id}/end/",
        {"ended_on": today().isoformat(), "reason": "调动"},
    )
    assert response.status_code == 302
    pairing.refresh_from_db()
    assert pairing.ended_on == today()
    # A village cadre may read but not assign.
    cadre = login(personas["village_cadre_a1"])
    assert cadre.get(f"/pairing/households/{household.household_no}/assign/").status_code == 403


def test_an_official_records_a_visit_with_a_photo_served_only_in_scope(county_admin, personas):
    official = make_official(rank=RankLevel.COUNTY)
    household = make_household(county_admin)
    assign(official, household)
    client = login(official.user)
    response = client.post(
        f"/pairing/households/{household.household_no}/visits/new/",
        {
            "official": official.user.username,
            "visited_on": today().isoformat(),
            "latitude": "36.456789",
            "longitude": "115.985432",
            "content": "了解务工情况",
            "next_steps": "联系岗位",
            "photos": [upload(png_bytes(6, 4))],
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    visit_obj = Visit.objects.get()
    photo = VisitPhoto.objects.get()
    url = f"/pairing/visits/{visit_obj.public_id}/photos/{photo.public_id}"
    served = client.get(url)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert read_file(served) == png_bytes(6, 4)
    by_cadre = login(personas["village_cadre_a1"]).get(url)
    assert by_cadre.status_code == 200
    read_file(by_cadre)
    assert login(personas["outsider"]).get(url).status_code == 404
    assert (
        login(personas["other_county_admin"])
        .get(f"/pairing/visits/{visit_obj.public_id}/")
        .status_code
        == 404
    )


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        (
            {"visited_on": "2999-01-01"},
            "visited_on",
            "future_date",
        ),
        (
            {"photos": [upload(b"not an image at all", "x.jpg", "image/jpeg")]},
            "photos",
            "not_an_image",
        ),
    ],
)
def test_bad_visits_show_the_error_and_save_nothing(county_admin, change, field, code):
    official = make_official(rank=RankLevel.COUNTY)
    household = make_household(county_admin)
    assign(official, household)
    data = {
        "official": official.user.username,
        "visited_on": today().isoformat(),
        "content": "走访",
        **change,
    }
    response = login(official.user).post(
        f"/pairing/households/{household.household_no}/visits/new/", data
    )
    assert response.status_code == 200
    assert code in error_codes(response, field)
    assert not Visit.objects.exists() and not VisitPhoto.objects.exists()


def test_official_and_overdue_pages(county_admin, personas):
    official = make_official(rank=RankLevel.CITY)
    late = assign(official, make_household(county_admin))
    visit(late, days_ago=60)
    client = login(county_admin)
    page = client.get(f"/pairing/officials/{official.user.username}/").content.decode()
    assert late.household.household_no in page
    overdue = client.get("/pairing/overdue/").content.decode()
    assert late.household.household_no in overdue and official.user.username in overdue
    assert (
        login(personas["other_county_admin"])
        .get(f"/pairing/officials/{official.user.username}/")
        .status_code
        == 404
    )
    # The official sees their own page whatever their role's division.
    assert (
        login(official.user).get(f"/pairing/officials/{official.user.username}/").status_code == 200
    )


def test_key_villages_and_their_teams(county_admin, personas):
    village = key_village(VILLAGE_A1)
    key_village(VILLAGE_B1)
    client = login(county_admin)
    listing = client.get("/pairing/key-villages/").content.decode()
    assert VILLAGE_A1 in listing and VILLAGE_B1 in listing and "badge" in listing
    official = make_official()
    response = client.post(
        f"/pairing/key-villages/{VILLAGE_A1}/team/new/",
        {
            "official": official.user.username,
            "role": "first_secretary",
            "started_on": (today() - dt.timedelta(days=40)).isoformat(),
        },
    )
    assert response.status_code == 302
    member = TeamMember.objects.get(village=village)
    response = client.post(
        f"/pairing/team/{member.public_id}/attendance/",
        {"month": today().strftime("%Y-%m"), "days": "9"},
    )
    assert response.status_code == 302 and Attendance.objects.get(member=member).days == 9
    page = client.get(f"/pairing/key-villages/{VILLAGE_A1}/").content.decode()
    assert official.full_name in page
    # A second first secretary is refused at the form.
    response = client.post(
        f"/pairing/key-villages/{VILLAGE_A1}/team/new/",
        {
            "official": make_official().user.username,
            "role": "first_secretary",
            "started_on": today().isoformat(),
        },
    )
    assert "first_secretary_exists" in error_codes(response, "role")
    assert (
        login(personas["village_cadre_a1"])
        .get(f"/pairing/key-villages/{VILLAGE_A1}/team/new/")
        .status_code
        == 403
    )
    assert (
        login(personas["outsider"]).get(f"/pairing/key-villages/{VILLAGE_A1}/").status_code == 404
    )
    post(key_village("371502001202"), make_official())


def test_rules_page_shows_versions_and_city_administrators_add_one(personas):
    page = login(personas["leader"]).get("/pairing/rules/").content.decode()
    assert "聊城" in page
    data = {
        "rank_level": "city",
        "households": "8",
        "orphans": "1",
        "valid_from": today().isoformat(),
        "source_note": "新文件",
    }
    assert login(personas["county_admin"]).post("/pairing/rules/", data).status_code == 403
    assert login(personas["city_admin"]).post("/pairing/rules/", data).status_code == 302
    assert QuotaRule.objects.filter(rank_level="city").count() == 2
