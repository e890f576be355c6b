"""API v1 of pairing: status, body, database state and audit for each endpoint; 404 outside the
area like a missing record; 400 with field codes and nothing saved on bad input."""

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from conftest import VILLAGE_A1, VILLAGE_B1
from fupin.accounts.roles import RankLevel
from fupin.core.models import AuditEvent
from fupin.pairing.models import Pairing, QuotaRule, TeamMember, Visit, VisitPhoto
from fupin.pairing.policy import today
from fupin.pairing.tests.factories import (
    assign,
    jpeg_bytes,
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


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def county_admin(personas):
    return personas["county_admin"]


def test_pairings_list_is_scoped_and_filtered(county_admin, personas):
    in_a = assign(make_official(rank=RankLevel.CITY), make_household(county_admin))
    in_b = assign(
        make_official(rank=RankLevel.CITY), make_household(county_admin, village=VILLAGE_B1)
    )
    body = api(personas["township_admin_a"]).get("/api/v1/pairings").json()
    assert [r["public_id"] for r in body["results"]] == [str(in_a.public_id)]
    assert body["results"][0]["household_no"] == in_a.household.household_no
    assert body["results"][0]["official"]["username"] == in_a.official.user.username
    body = api(county_admin).get("/api/v1/pairings", {"division": "371502002000"}).json()
    assert [r["public_id"] for r in body["results"]] == [str(in_b.public_id)]
    assert api(personas["other_county_admin"]).get("/api/v1/pairings").json()["count"] == 0


def test_assign_through_the_api_and_beyond_quota(county_admin):
    official = make_official(rank=RankLevel.SECTION)
    first, second = make_household(county_admin), make_household(county_admin)
    client = api(county_admin)
    response = client.post(
        "/api/v1/pairings",
        {"official": official.user.username, "household_no": first.household_no},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "household" and response.json()["is_active"] is True
    assert AuditEvent.objects.filter(
        action="pairing.assign", household_no=first.household_no, source="api"
    ).exists()
    response = client.post(
        "/api/v1/pairings",
        {"official": official.user.username, "household_no": second.household_no},
        format="json",
    )
    assert response.status_code == 400 and "official" in response.json()
    assert not Pairing.objects.filter(household=second).exists()


def test_assign_outside_the_area_answers_404(county_admin, personas):
    official = make_official(rank=RankLevel.CITY)
    household = make_household(county_admin, village=VILLAGE_B1)
    response = api(personas["township_admin_a"]).post(
        "/api/v1/pairings",
        {"official": official.user.username, "household_no": household.household_no},
        format="json",
    )
    assert response.status_code == 404
    response = api(personas["village_cadre_a1"]).post(
        "/api/v1/pairings",
        {
            "official": official.user.username,
            "household_no": make_household(county_admin).household_no,
        },
        format="json",
    )
    assert response.status_code == 403


def test_end_a_pairing(county_admin, personas):
    pairing = assign(make_official(rank=RankLevel.CITY), make_household(county_admin))
    url = f"/api/v1/pairings/{pairing.public_id}/end"
    assert api(personas["outsider"]).post(url, {}, format="json").status_code == 404
    response = api(county_admin).post(url, {"reason": "调动"}, format="json")
    assert response.status_code == 200 and response.json()["ended_on"] == today().isoformat()
    assert api(county_admin).post(url, {}, format="json").status_code == 400


def test_household_pairings_and_officials(county_admin, personas):
    official = make_official(rank=RankLevel.CITY)
    pairing = assign(official, make_household(county_admin))
    rows = (
        api(county_admin)
        .get(f"/api/v1/households/{pairing.household.household_no}/pairings")
        .json()
    )
    assert [r["public_id"] for r in rows] == [str(pairing.public_id)]
    detail = api(county_admin).get(f"/api/v1/officials/{official.user.username}").json()
    assert (detail["households"], detail["household_quota"], detail["orphan_quota"]) == (1, 10, 1)
    listing = api(county_admin).get("/api/v1/officials").json()
    assert official.user.username in [r["username"] for r in listing["results"]]
    assert (
        api(personas["other_county_admin"])
        .get(f"/api/v1/officials/{official.user.username}")
        .status_code
        == 404
    )


def test_coverage_and_proposal(county_admin, personas):
    make_household(county_admin)
    make_household(county_admin, village=VILLAGE_B1)
    make_official(rank=RankLevel.COUNTY)
    body = api(county_admin).get("/api/v1/pairing-coverage").json()
    assert body["division"]["code"] == "371502000000"
    assert (body["total"]["households"], body["total"]["uncovered"]) == (2, 2)
    assert (
        api(county_admin).get("/api/v1/pairing-coverage", {"division": "371521000000"}).status_code
        == 404
    )
    dry = api(county_admin).post("/api/v1/pairing-proposals", {}, format="json").json()
    assert dry["households_matched"] == 2 and dry["applied"] == 0 and not Pairing.objects.exists()
    denied = api(personas["village_cadre_a1"]).post(
        "/api/v1/pairing-proposals", {"apply": True}, format="json"
    )
    assert denied.status_code == 403
    done = (
        api(county_admin).post("/api/v1/pairing-proposals", {"apply": True}, format="json").json()
    )
    assert done["applied"] == 2 and Pairing.objects.count() == 2


def test_visits_with_photos_through_the_api(county_admin, personas):
    official = make_official(rank=RankLevel.CITY)
    pairing = assign(official, make_household(county_admin))
    client = api(official.user)
    response = client.post(
        "/api/v1/visits",
        {
            "official": official.user.username,
            "household_no": pairing.household.household_no,
            "visited_on": today().isoformat(),
            "content": "入户走访",
            "latitude": "36.4",
            "longitude": "115.9",
            "photos": [upload(png_bytes()), upload(jpeg_bytes(), "b.jpg", "image/jpeg")],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert len(body["photos"]) == 2 and body["photos"][1]["content_type"] == "image/jpeg"
    photo = client.get(body["photos"][0]["url"])
    assert photo.status_code == 200
    assert read_file(photo) == png_bytes()
    more = client.post(
        f"/api/v1/visits/{body['public_id']}/photos",
        {"photos": [upload(png_bytes(2, 2))]},
        format="multipart",
    )
    assert more.status_code == 201 and VisitPhoto.objects.count() == 3
    assert api(personas["outsider"]).get(f"/api/v1/visits/{body['public_id']}").status_code == 404
    listing = (
        api(county_admin)
        .get("/api/v1/visits", {"household": pairing.household.household_no})
        .json()
    )
    assert listing["count"] == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"visited_on": "2999-01-01"}, "visited_on"),
        ({"photos": [upload(b"<html>not a photo</html>", "a.png", "image/png")]}, "photos"),
    ],
)
def test_bad_visits_answer_400_and_save_nothing(county_admin, change, field):
    official = make_official(rank=RankLevel.CITY)
    pairing = assign(official, make_household(county_admin))
    data = {
        "official": official.user.username,
        "household_no": pairing.household.household_no,
        "visited_on": today().isoformat(),
        "content": "走访",
        **change,
    }
    response = api(official.user).post("/api/v1/visits", data, format="multipart")
    assert response.status_code == 400 and field in response.json()
    assert not Visit.objects.exists() and not VisitPhoto.objects.exists()


def test_overdue_visits(county_admin):
    official = make_official(rank=RankLevel.CITY)
    late = assign(official, make_household(county_admin))
    visit(late, days_ago=45)
    body = api(county_admin).get("/api/v1/overdue-visits").json()
    assert body["total"] == 1
    assert body["by_official"][0]["username"] == official.user.username
    assert body["by_village"] == [{"code": VILLAGE_A1, "name": "一村", "overdue": 1}]


def test_key_villages_teams_and_attendance(county_admin, personas):
    village = key_village(VILLAGE_A1)
    key_village(VILLAGE_B1)
    listing = api(personas["township_admin_a"]).get("/api/v1/key-villages").json()
    assert [r["code"] for r in listing["results"]] == [VILLAGE_A1]
    assert listing["results"][0]["flagged"] is True
    official = make_official()
    response = api(county_admin).post(
        f"/api/v1/key-villages/{VILLAGE_A1}/team",
        {"official": official.user.username, "role": "first_secretary", "started_on": "2024-03-01"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    member = TeamMember.objects.get(village=village)
    month = today().strftime("%Y-%m")
    response = api(official.user).put(
        f"/api/v1/team-members/{member.public_id}/attendance/{month}", {"days": 20}, format="json"
    )
    assert response.status_code == 200 and response.json() == {"month": month, "days": 20}
    bad = api(county_admin).put(
        f"/api/v1/team-members/{member.public_id}/attendance/{month}", {"days": 40}, format="json"
    )
    assert bad.status_code == 400
    detail = api(county_admin).get(f"/api/v1/key-villages/{VILLAGE_A1}").json()
    assert detail["has_first_secretary"] is True
    assert detail["team"][0]["attendance"] == {month: 20}
    assert api(personas["outsider"]).get(f"/api/v1/key-villages/{VILLAGE_A1}").status_code == 404
    ended = api(county_admin).post(
        f"/api/v1/team-members/{member.public_id}/end", {}, format="json"
    )
    assert ended.status_code == 200 and ended.json()["ended_on"] == today().isoformat()
    post(village, make_official())


def test_quota_and_visit_rules(personas):
    quotas = api(personas["leader"]).get("/api/v1/pairing-quotas").json()
    assert {(q["rank_level"], q["households"]) for q in quotas} >= {
        ("city", 10),
        ("county", 5),
        ("section", 1),
    }
    assert len(api(personas["leader"]).get("/api/v1/visit-rules").json()) == 2
    new = {
        "rank_level": "section",
        "households": 2,
        "orphans": 0,
        "valid_from": (today() + dt.timedelta(days=1)).isoformat(),
        "source": "新文件",
    }
    assert (
        api(personas["county_admin"]).post("/api/v1/pairing-quotas", new, format="json").status_code
        == 403
    )
    response = api(personas["city_admin"]).post("/api/v1/pairing-quotas", new, format="json")
    assert response.status_code == 201
    assert QuotaRule.objects.filter(rank_level="section").count() == 2


def test_the_schema_documents_the_pairing_api(db):
    client = APIClient()
    schema = client.get("/api/v1/schema").content.decode()
    for path in (
        "/api/v1/pairings",
        "/api/v1/pairing-coverage",
        "/api/v1/visits/{public_id}/photos",
        "/api/v1/key-villages/{code}/team",
    ):
        assert path + ":" in schema


def test_help_units_are_paired_with_a_village_or_township_by_its_administrators(personas):
    body = {"name": "东昌府区教育局", "home": "371502000000", "paired": VILLAGE_A1}
    assert (
        api(personas["outsider"]).put("/api/v1/help-units", body, format="json").status_code == 403
    )
    response = api(personas["county_admin"]).put("/api/v1/help-units", body, format="json")
    assert response.status_code == 200 and response.json()["paired"] == VILLAGE_A1
    bad = api(personas["county_admin"]).put(
        "/api/v1/help-units", {**body, "paired": "371502000000"}, format="json"
    )
    assert bad.status_code == 400 and "paired" in bad.json()
    moved = api(personas["county_admin"]).put(
        "/api/v1/help-units", {**body, "paired": VILLAGE_B1}, format="json"
    )
    assert moved.status_code == 200
    listing = api(personas["leader"]).get("/api/v1/help-units").json()
    assert [(u["name"], u["paired"]) for u in listing["results"]] == [
        ("东昌府区教育局", VILLAGE_B1)
    ]
    event = AuditEvent.objects.filter(action="help_unit.save").first()
    assert event is not None and event.before == {"home": "371502000000", "paired": VILLAGE_A1}
    # Its officials are now anchored at B1: the proposal pairs them there first.
    make_official(rank=RankLevel.CITY, unit="东昌府区教育局")
    make_household(personas["county_admin"], village=VILLAGE_A1)
    in_b1 = make_household(personas["county_admin"], village=VILLAGE_B1)
    done = (
        api(personas["county_admin"])
        .post("/api/v1/pairing-proposals", {"apply": True}, format="json")
        .json()
    )
    assert done["by_level"]["village"] == 1
    assert Pairing.objects.get(household=in_b1).official.unit == "东昌府区教育局"
