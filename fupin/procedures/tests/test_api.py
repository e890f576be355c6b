import uuid
from typing import Any

import pytest
from django.test import Client

from conftest import PASSWORD
from fupin.procedures.models import Case
from fupin.procedures.tests.helpers import advance, age_step, open_case
from fupin.registry.tests.factories import register_household

pytestmark = pytest.mark.django_db


def login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=body, content_type="application/json")


def test_list_and_detail_within_the_area(personas, household_a1):
    case = open_case(personas, household_a1, "identification")
    client = login("township_admin_a")
    data = client.get("/api/v1/procedures/cases").json()
    assert [c["id"] for c in data["results"]] == [str(case.public_id)]
    detail = client.get(f"/api/v1/procedures/cases/{case.public_id}").json()
    assert detail["state"] == "application" and detail["transitions"][0]["action"] == "open"
    assert detail["allowed_actions"] == []  # the township does not complete the application
    assert login("outsider").get("/api/v1/procedures/cases").json()["results"] == []
    assert login("outsider").get(f"/api/v1/procedures/cases/{case.public_id}").status_code == 404
    assert client.get(f"/api/v1/procedures/cases/{uuid.uuid4()}").status_code == 404


def test_transitions_through_the_api_with_clear_refusals(personas, household_a1):
    case = open_case(personas, household_a1, "identification")
    url = f"/api/v1/procedures/cases/{case.public_id}/transition"
    cadre, township = login("village_cadre_a1"), login("township_admin_a")
    response = post(township, url, {"action": "advance"})
    assert response.status_code == 403 and response.json()["code"] == "wrong_level"
    response = post(cadre, url, {"action": "advance", "to_state": "township_review"})
    assert response.status_code == 409 and response.json()["code"] == "out_of_order"
    response = post(
        cadre, url, {"action": "advance", "to_state": "appraisal", "comment": "申请书已收"}
    )
    assert response.status_code == 200 and response.json()["state"] == "appraisal"
    post(cadre, url, {"action": "advance"})
    response = post(cadre, url, {"action": "advance"})
    assert response.status_code == 409 and response.json()["code"] == "publicity_running"
    assert post(cadre, url, {"action": "fly"}).status_code == 400
    age_step(case)
    assert post(cadre, url, {"action": "advance"}).json()["state"] == "township_review"
    outsider = post(login("outsider"), url, {"action": "advance"})
    assert outsider.status_code == 404


def test_a_batch_of_fifty_through_the_api(personas, household_b1):
    cases = []
    for i in range(50):
        household = register_household(personas["village_cadre_a1"], household_no=f"A1-C{i:03d}")
        cases.append(
            advance(personas, open_case(personas, household, "monitoring"), until="township_review")
        )
    ids = [str(c.public_id) for c in cases]
    stranger = str(uuid.uuid4())
    response = post(
        login("township_admin_a"),
        "/api/v1/procedures/cases/batch",
        {"cases": [*ids, stranger], "action": "advance", "comment": "批量审核"},
    )
    data = response.json()
    assert response.status_code == 200 and data["done"] == 50 and data["refused"] == 1
    assert data["results"][-1]["code"] == "not_found"
    assert Case.objects.filter(state="county_approval").count() == 50
    # All or nothing: the county is refused on a case at the wrong step, nothing moves.
    advance(personas, Case.objects.get(pk=cases[0].pk), until="announcement")
    response = post(
        login("county_admin"),
        "/api/v1/procedures/cases/batch",
        {"cases": ids, "action": "advance", "all_or_nothing": True},
    )
    assert response.json()["done"] == 0
    assert Case.objects.filter(state="county_approval").count() == 49


def test_a_batch_never_touches_a_case_outside_the_area(personas, household_a1):
    case = advance(personas, open_case(personas, household_a1, "exit"), until="announcement")
    response = post(
        login("outsider"),
        "/api/v1/procedures/cases/batch",
        {"cases": [str(case.public_id)], "action": "advance"},
    )
    assert response.json()["results"][0]["code"] == "not_found"
    case.refresh_from_db()
    assert case.state == "announcement"
