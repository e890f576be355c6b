"""The policy pages and API, through HTTP, with the personas of two sibling townships."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from conftest import PASSWORD
from fupin.accounts.services import token_create
from fupin.core.audit import ChangeSource
from fupin.policy.models import HousingRenovation, PolicyValue
from fupin.policy.services import evaluation_run
from fupin.policy.tests.helpers import SOURCE, income, make_household


def login(name: str) -> Client:
    client = Client()
    assert client.login(username=name, password=PASSWORD)
    return client


def api(personas, name: str) -> APIClient:
    client = APIClient()
    key = token_create(
        actor=personas[name], source=ChangeSource.command("test"), user=personas[name], name="t"
    )
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def poor(personas):
    return make_household(
        personas["village_cadre_a1"],
        first_year=2016,
        records={2016: income("2000") | {"housing_grade": "C"}, 2017: income("3600")},
        household_no="A1-POOR",
    )


# --- The household page and the evaluation page -------------------------------------------------


def test_the_household_page_loads_the_evaluation_of_its_latest_year(poor):
    client = login("village_cadre_a1")
    page = client.get(f"/households/{poor.household_no}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="evaluation"' in html
    assert f'hx-get="/households/{poor.household_no}/evaluation/"' in html
    fragment = client.get(f"/households/{poor.household_no}/evaluation/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    text = fragment.content.decode()
    assert "<html" not in text  # only the panel's content
    assert "3,600.00" in text and "?year=2017" in text


def test_the_evaluation_page_explains_a_chosen_year(poor):
    client = login("village_cadre_a1")
    page = client.get(f"/households/{poor.household_no}/evaluation/", {"year": 2016})
    assert page.status_code == 200
    html = page.content.decode()
    assert "2,000.00" in html and "2,952.00" not in html  # provincial line of 2016: 3,372
    assert "3,372.00" in html
    assert 'aria-current="true">2016' in html
    assert "Record a housing renovation" in html or "renovation-title" in html


def test_a_bad_year_falls_back_to_the_latest_record(poor):
    page = login("village_cadre_a1").get(
        f"/households/{poor.household_no}/evaluation/", {"year": "abc"}
    )
    assert page.status_code == 200 and 'aria-current="true">2017' in page.content.decode()


def test_a_year_without_policy_values_says_so(poor):
    page = login("village_cadre_a1").get(
        f"/households/{poor.household_no}/evaluation/", {"year": 2009}
    )
    assert page.status_code == 200
    assert 'class="note"' in page.content.decode()


def test_out_of_scope_evaluation_pages_answer_404(poor, personas):
    client = login("outsider")
    assert client.get(f"/households/{poor.household_no}/evaluation/").status_code == 404
    response = client.post(
        f"/households/{poor.household_no}/renovations/",
        {"kind": "rebuilt", "accepted_on": "2016-05-01"},
    )
    assert response.status_code == 404
    assert not HousingRenovation.objects.exists()


def test_an_editor_records_a_renovation_and_the_housing_passes(poor):
    client = login("village_cadre_a1")
    response = client.post(
        f"/households/{poor.household_no}/renovations/",
        {"kind": "reinforced", "accepted_on": "2016-08-01", "note": "县住建局验收"},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("?year=2016")
    renovation = HousingRenovation.objects.get()
    assert (renovation.household_id, renovation.kind) == (poor.pk, "reinforced")


def test_a_read_only_role_may_not_record_a_renovation(poor):
    client = login("leader")
    assert client.get(f"/households/{poor.household_no}/evaluation/").status_code == 200
    response = client.post(
        f"/households/{poor.household_no}/renovations/",
        {"kind": "rebuilt", "accepted_on": "2016-05-01"},
    )
    assert response.status_code == 403
    assert not HousingRenovation.objects.exists()


def test_a_bad_renovation_is_refused_with_a_message(poor):
    client = login("village_cadre_a1")
    response = client.post(
        f"/households/{poor.household_no}/renovations/",
        {"kind": "painted", "accepted_on": "yesterday"},
        follow=True,
    )
    assert response.status_code == 200
    assert not HousingRenovation.objects.exists()
    assert 'class="message error"' in response.content.decode()


# --- Policy values ---------------------------------------------------------------------------


def test_every_role_reads_the_policy_values(personas):
    for name in ("village_cadre_a1", "leader", "department_user"):
        page = login(name).get("/policy/")
        assert page.status_code == 200
        html = page.content.decode()
        assert "poverty_line" in html and "2952" in html
        assert "/policy/values/new/" not in html


def test_only_a_city_administrator_opens_the_edit_pages(personas):
    value = PolicyValue.objects.filter(is_current=True).earliest("id")
    for name in ("county_admin", "village_cadre_a1", "leader"):
        client = login(name)
        assert client.get("/policy/values/new/").status_code == 403
        assert client.get(f"/policy/values/{value.lineage}/edit/").status_code == 403
        assert client.post("/policy/values/new/", {}).status_code == 403
    client = login("city_admin")
    assert client.get("/policy/values/new/").status_code == 200
    assert client.get(f"/policy/values/{value.lineage}/edit/").status_code == 200
    assert "/policy/values/new/" in client.get("/policy/").content.decode()


def test_a_city_administrator_adds_a_value_through_the_form(personas):
    client = login("city_admin")
    response = client.post(
        "/policy/values/new/",
        {
            "name": "poverty_line",
            "qualifier": "city",
            "value": "4100",
            "valid_from": "2021-01-01",
            "valid_to": "2021-12-31",
            "source_note": "聊扶贫发〔2021〕1号",
        },
    )
    value = PolicyValue.objects.get(name="poverty_line", qualifier="city", valid_from="2021-01-01")
    assert response.status_code == 302 and str(value.lineage) in response["Location"]
    assert value.value == Decimal(4100)
    history = client.get(response["Location"]).content.decode()
    assert "聊扶贫发〔2021〕1号" in history


def test_a_value_out_of_range_is_shown_at_its_field_and_not_saved(personas):
    client = login("city_admin")
    before = PolicyValue.objects.count()
    page = client.post(
        "/policy/values/new/",
        {
            "name": "exit_incidence_max",
            "qualifier": "village",
            "value": "150",
            "valid_from": "2021-01-01",
            "source_note": "x",
        },
    )
    assert page.status_code == 200
    assert page.context["form"].errors["value"]
    assert PolicyValue.objects.count() == before


def test_editing_a_used_value_makes_a_new_version(personas, poor):
    evaluation_run(actor=None, source=SOURCE, year=2016)
    line = PolicyValue.objects.get(
        name="poverty_line", qualifier="provincial", valid_from=dt.date(2016, 1, 1)
    )
    client = login("city_admin")
    response = client.post(
        f"/policy/values/{line.lineage}/edit/",
        {
            "value": "3400",
            "valid_from": "2016-01-01",
            "valid_to": "2016-12-31",
            "source_note": "corrected",
        },
        follow=True,
    )
    assert response.status_code == 200
    versions = list(PolicyValue.objects.filter(lineage=line.lineage).order_by("version"))
    assert [(v.version, v.value, v.is_current) for v in versions] == [
        (1, Decimal(3372), False),
        (2, Decimal(3400), True),
    ]
    html = response.content.decode()
    assert "v1" in html and "v2" in html


def test_unknown_values_answer_404(personas):
    client = login("city_admin")
    assert client.get("/policy/values/00000000-0000-4000-8000-000000000000/").status_code == 404
    assert (
        client.get("/policy/values/00000000-0000-4000-8000-000000000000/edit/").status_code == 404
    )


# --- Evaluation runs -------------------------------------------------------------------------


def test_runs_are_read_within_their_division(personas, poor):
    township = evaluation_run(
        actor=personas["city_admin"], source=SOURCE, year=2016, division_code="371502001000"
    ).run
    whole = evaluation_run(actor=None, source=SOURCE, year=2016).run
    assert login("township_admin_a").get(f"/policy/runs/{township.pk}/").status_code == 200
    assert login("outsider").get(f"/policy/runs/{township.pk}/").status_code == 404
    assert login("township_admin_a").get(f"/policy/runs/{whole.pk}/").status_code == 404
    page = login("city_admin").get(f"/policy/runs/{whole.pk}/")
    assert page.status_code == 200 and "东昌府区" in page.content.decode()


# --- API ---------------------------------------------------------------------------------------


def test_the_api_explains_a_household(personas, poor):
    response = api(personas, "village_cadre_a1").get(
        f"/api/v1/households/{poor.household_no}/evaluation", {"year": 2016}
    )
    assert response.status_code == 200
    data = response.json()
    assert (data["household_no"], data["year"], data["outcome"]) == (
        poor.household_no,
        2016,
        "still_poor",
    )
    assert data["failed"] == ["income_above_line", "housing_safe"]
    exit_test = next(t for t in data["tests"] if t["code"] == "exit")
    assert exit_test["applies"] is True
    line = exit_test["criteria"][0]
    assert (line["value"], line["threshold"], line["passed"]) == ("2000.00", "3372.00", False)
    assert line["sources"][0]["parameter"] == "poverty_line"


def test_the_api_defaults_to_the_latest_survey_year(personas, poor):
    data = (
        api(personas, "village_cadre_a1")
        .get(f"/api/v1/households/{poor.household_no}/evaluation")
        .json()
    )
    assert data["year"] == 2017 and data["per_capita_income"] == "3600.00"


@pytest.mark.parametrize("year", ["abc", "16", "3000"])
def test_the_api_refuses_a_bad_year(personas, poor, year):
    response = api(personas, "village_cadre_a1").get(
        f"/api/v1/households/{poor.household_no}/evaluation", {"year": year}
    )
    assert response.status_code == 400 and "year" in response.json()


def test_the_api_answers_404_outside_the_scope(personas, poor):
    client = api(personas, "outsider")
    outside = client.get(f"/api/v1/households/{poor.household_no}/evaluation")
    missing = client.get("/api/v1/households/NO-SUCH/evaluation")
    assert outside.status_code == missing.status_code == 404
    assert outside.json() == missing.json()
    assert APIClient().get(f"/api/v1/households/{poor.household_no}/evaluation").status_code in (
        401,
        403,
    )


def test_the_endpoint_is_in_the_openapi_schema(personas, tmp_path):
    schema = api(personas, "village_cadre_a1").get("/api/v1/schema", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/households/{household_no}/evaluation"]["get"]
    assert {"200", "401", "404"} <= set(operation["responses"])
    assert "$ref" in str(operation["responses"]["200"])
    assert {p["name"] for p in operation["parameters"]} == {"household_no", "year"}
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )
