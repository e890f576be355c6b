"""API v1 of assistance through HTTP: status, body, database state and audit row, with the
personas of two sibling townships."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from conftest import VILLAGE_A1
from fupin.accounts.services import token_create
from fupin.assistance.models import Disbursement, Measure, MeasureType, Photo, Project
from fupin.assistance.tests.factories import SOURCE, make_measure
from fupin.assistance.tests.images import jpeg, png
from fupin.core.models import AuditEvent

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
TOMORROW = TODAY + dt.timedelta(days=1)


@pytest.fixture
def api(personas):
    def client(name: str) -> APIClient:
        c = APIClient()
        c.credentials(
            HTTP_AUTHORIZATION=f"Token {token_create(actor=None, source=SOURCE, user=personas[name])}"
        )
        return c

    return client


def measure_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "household_no": "A1-0001",
        "type": "pv_dividend",
        "content": "村级光伏电站收益分红",
        "year": 2016,
        "quarter": 2,
        "planned_amount": "0",
        "expected_income": "500",
        "fund_source": "county",
        "extra": {"station": "一村光伏电站", "capacity_kw": 100},
    }
    body.update(overrides)
    return body


# --- the catalogue ------------------------------------------------------------------------------


def test_catalogue_is_listed_and_only_the_city_adds_types(api):
    response = api("village_cadre_a1").get("/api/v1/measure-types")
    assert response.status_code == 200
    codes = {t["code"] for t in response.json()}
    assert {"donkey_price_gap", "housing_renovation", "microcredit"} <= codes
    body = {
        "code": "cattle",
        "family": "industry",
        "name_zh": "养牛",
        "name_en": "Cattle",
        "fields": [{"key": "head", "type": "integer", "label_zh": "头数", "min": 1}],
    }
    assert api("county_admin").post("/api/v1/measure-types", body, format="json").status_code == 403
    response = api("city_admin").post("/api/v1/measure-types", body, format="json")
    assert response.status_code == 201
    assert response.json()["fields"][0]["key"] == "head"
    response = api("city_admin").patch(
        "/api/v1/measure-types/cattle", {"fields": [{"key": "head", "type": "?"}]}, format="json"
    )
    assert response.status_code == 400 and "fields" in response.json()
    assert MeasureType.objects.get(code="cattle").fields[0]["type"] == "integer"


# --- measures -----------------------------------------------------------------------------------


def test_a_measure_is_created_read_and_moved_through_its_status(api, household_a1):
    cadre = api("village_cadre_a1")
    response = cadre.post("/api/v1/measures", measure_body(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["household_no"] == "A1-0001" and body["status"] == "planned"
    assert body["extra"] == {"station": "一村光伏电站", "capacity_kw": "100.00"}
    url = f"/api/v1/measures/{body['id']}"
    assert AuditEvent.objects.get(action="measure.create").source == "api"
    assert cadre.get(url).json()["type_name"]
    response = cadre.patch(url, {"responsible_person": "王书记"}, format="json")
    assert response.status_code == 200 and response.json()["responsible_person"] == "王书记"
    response = cadre.post(
        f"{url}/status",
        {"status": "done", "on": TODAY.isoformat(), "actual_amount": "0"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == "done"
    assert cadre.post(f"{url}/status", {"status": "verified"}, format="json").status_code == 403
    response = api("township_admin_a").post(f"{url}/status", {"status": "verified"}, format="json")
    assert response.status_code == 200 and response.json()["verified_on"] == TODAY.isoformat()
    assert cadre.patch(url, {"notes": "x"}, format="json").status_code == 400


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"planned_amount": "-10"}, "planned_amount"),
        ({"recorded_income": "-1"}, "recorded_income"),
        ({"status": "under_way", "started_on": TOMORROW.isoformat()}, "started_on"),
        ({"extra": {"capacity_kw": 5}}, "extra.station"),
        ({"extra": {"station": "x", "colour": "red"}}, "extra.colour"),
        ({"type": "nope"}, "type"),
    ],
)
def test_bad_measure_input_answers_400_at_the_field_and_saves_nothing(
    api, household_a1, overrides, key
):
    response = api("village_cadre_a1").post(
        "/api/v1/measures", measure_body(**overrides), format="json"
    )
    assert response.status_code == 400
    assert key in response.json()
    assert Measure.objects.count() == 0


def test_measures_outside_the_scope_answer_404(api, personas, household_a1, household_b1):
    measure = make_measure(personas["outsider"], household_b1)
    cadre = api("village_cadre_a1")
    assert cadre.get(f"/api/v1/measures/{measure.public_id}").status_code == 404
    assert (
        cadre.post(
            "/api/v1/measures", measure_body(household_no="B1-0001"), format="json"
        ).status_code
        == 404
    )
    assert cadre.get("/api/v1/households/B1-0001/timeline").status_code == 404
    listed = cadre.get("/api/v1/measures").json()
    assert listed["count"] == 0
    assert api("county_admin").get("/api/v1/measures").json()["count"] == 1


def test_stages_and_photos_through_the_api(api, personas, household_a1):
    cadre = api("village_cadre_a1")
    measure = make_measure(
        personas["village_cadre_a1"], household_a1, type_code="housing_renovation"
    )
    url = f"/api/v1/measures/{measure.public_id}"
    start = TODAY - dt.timedelta(days=20)
    response = cadre.post(
        f"{url}/stages", {"stage": "started", "on": start.isoformat()}, format="json"
    )
    assert response.status_code == 201
    response = cadre.post(
        f"{url}/stages", {"stage": "moved_in", "on": start.isoformat()}, format="json"
    )
    assert response.status_code == 400 and "stage" in response.json()
    data = jpeg(taken="2016:05:03 10:20:30", latitude=Decimal("36.45"), longitude=Decimal("115.98"))
    response = cadre.post(
        f"{url}/photos",
        {"file": SimpleUploadedFile("a.jpg", data, "image/jpeg"), "phase": "before"},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    photo = response.json()
    assert photo["taken_at_origin"] == "exif" and photo["latitude"] == "36.450000"
    served = cadre.get(photo["url"])
    assert served.status_code == 200 and served.getvalue() == data
    assert api("outsider").get(photo["url"]).status_code == 404
    response = cadre.post(
        f"{url}/photos",
        {"file": SimpleUploadedFile("a.jpg", b"<html>", "image/jpeg")},
        format="multipart",
    )
    assert response.status_code == 400 and "file" in response.json()
    assert Photo.objects.count() == 1
    detail = cadre.get(url).json()
    assert [s["stage"] for s in detail["stages"]] == ["started"]
    assert len(detail["photos"]) == 1


def test_household_timeline_and_measures(api, personas, household_a1):
    make_measure(personas["village_cadre_a1"], household_a1, year=2016, quarter=3)
    response = api("leader").get("/api/v1/households/A1-0001/timeline")
    assert response.status_code == 200
    years = response.json()
    by_year = {y["year"]: y for y in years}
    assert by_year[2015]["record"]["survey_year"] == 2015
    assert by_year[2016]["record"] is None
    assert by_year[2016]["entries"][0]["kind"] == "measure"
    assert by_year[2016]["entries"][0]["planned"] is True
    assert by_year[2016]["entries"][0]["on"] == "2016-07-01"
    measures = api("leader").get("/api/v1/households/A1-0001/measures").json()
    assert len(measures) == 1


# --- projects -----------------------------------------------------------------------------------


def test_a_project_through_the_api(api, household_a1):
    admin = api("township_admin_a")
    response = admin.post(
        "/api/v1/projects",
        {
            "name": "一村蔬菜大棚",
            "category": "industry",
            "year": 2016,
            "division_code": "371502001000",
            "village_codes": [VILLAGE_A1],
            "responsible_unit": "古楼街道办事处",
            "responsible_person": "李主任",
            "funding": {"central": "100000", "self_raised": "5000"},
            "planned": {
                "approval": "2016-03-01",
                "acceptance": (TODAY - dt.timedelta(days=1)).isoformat(),
            },
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    project = response.json()
    url = f"/api/v1/projects/{project['code']}"
    assert project["budget"] == "105000.00" and project["disbursed"] == "0.00"
    response = admin.post(
        f"{url}/disbursements",
        {"source": "central", "amount": "200000", "paid_on": "2016-06-01"},
        format="json",
    )
    assert response.status_code == 400 and "amount" in response.json()
    response = admin.post(
        f"{url}/disbursements",
        {"source": "central", "amount": "-1", "paid_on": "2016-06-01"},
        format="json",
    )
    assert response.status_code == 400 and "amount" in response.json()
    response = admin.post(
        f"{url}/disbursements",
        {"source": "central", "amount": "60000", "paid_on": "2016-06-01"},
        format="json",
    )
    assert response.status_code == 201
    assert Disbursement.objects.count() == 1
    response = admin.put(
        f"{url}/milestones/approval",
        {"planned_on": "2016-03-01", "actual_on": "2016-03-02"},
        format="json",
    )
    assert response.status_code == 200
    response = admin.put(
        f"{url}/milestones/start", {"actual_on": TOMORROW.isoformat()}, format="json"
    )
    assert response.status_code == 400 and "actual_on" in response.json()
    response = admin.post(
        f"{url}/beneficiaries",
        {"household_nos": ["A1-0001"], "expected_benefit": "800"},
        format="json",
    )
    assert response.status_code == 201 and response.json()[0]["household_no"] == "A1-0001"
    response = admin.post(
        f"{url}/benefits",
        {"year": TODAY.year, "paid_on": TODAY.isoformat(), "amounts": {"A1-0001": "800"}},
        format="json",
    )
    assert response.status_code == 201 and response.json() == {"recorded": 1}
    detail = admin.get(url).json()
    assert detail["disbursed"] == "60000.00" and detail["stage"] == "approval"
    assert detail["beneficiaries"] == {"visible": 1, "total": 1}
    assert [m["kind"] for m in detail["milestones"] if m["overdue"]] == ["acceptance"]
    beneficiaries = admin.get(f"{url}/beneficiaries").json()
    assert beneficiaries["results"][0]["paid"] == "800.00"
    overdue = admin.get("/api/v1/overdue-milestones").json()
    assert [o["project_code"] for o in overdue["results"]] == [project["code"]]
    listed = admin.get("/api/v1/projects").json()
    assert listed["results"][0]["budget"] == "105000.00"
    response = admin.post(
        f"{url}/photos",
        {"file": SimpleUploadedFile("p.png", png(), "image/png")},
        format="multipart",
    )
    assert response.status_code == 201
    assert api("outsider").get(url).status_code == 404
    assert api("village_cadre_a1").patch(url, {"progress": 50}, format="json").status_code == 403
    assert admin.patch(url, {"progress": 101}, format="json").status_code == 400
    assert Project.objects.get().progress == 0


def test_the_schema_documents_the_assistance_endpoints(api):
    response = api("leader").get("/api/v1/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/measure-types",
        "/api/v1/measures",
        "/api/v1/measures/{measure_id}/photos",
        "/api/v1/households/{household_no}/timeline",
        "/api/v1/projects/{project_code}",
        "/api/v1/projects/{project_code}/milestones/{kind}",
        "/api/v1/overdue-milestones",
    ):
        assert path in paths
