"""API v1 of the registry, tested through HTTP (STYLE.md §3.7): status, body, database state
and audit row for every endpoint, with the personas of two sibling townships."""

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.test import APIClient

from conftest import VILLAGE_A1, VILLAGE_A2, VILLAGE_B1
from fupin.accounts.models import ApiToken
from fupin.accounts.services import token_create, token_revoke
from fupin.core.audit import ChangeSource
from fupin.core.models import AuditEvent
from fupin.registry.filters import HouseholdFilterForm
from fupin.registry.idnumbers import IdNumberError
from fupin.registry.models import Household, Member, YearlyRecord
from fupin.registry.services import record_save
from fupin.registry.tests.factories import (
    MemberDataFactory,
    RecordDataFactory,
    register_household,
    valid_id_number,
)
from fupin.registry.validation import id_error_message

SOURCE = ChangeSource.command("test")
LIST = "/api/v1/households/"
# Query budgets, which must not grow with the number of households. List: token, filter code
# lists (one query), scope, scope size, count, page, its divisions, member counts, latest records.
LIST_QUERIES = 9
# Detail: token, scope, household, members, records, code lists for the labels (one query).
DETAIL_QUERIES = 6


def detail(household_no: str) -> str:
    return f"/api/v1/households/{household_no}"


def members_url(household_no: str, public_id: Any = None, action: str = "") -> str:
    url = f"{detail(household_no)}/members"
    if public_id is not None:
        url += f"/{public_id}"
    if action:
        url += f"/{action}"
    return url


def record_url(household_no: str, year: int) -> str:
    return f"{detail(household_no)}/records/{year}"


def token_client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {token_create(actor=None, source=SOURCE, user=user)}"
    )
    return client


@pytest.fixture
def api(personas):
    """``api("village_cadre_a1")``: a client authenticated with a fresh token of that persona."""
    return lambda name: token_client(personas[name])


def api_events(**filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(source=AuditEvent.Source.API, **filters).order_by("id"))


def zh(message_factory: Any) -> str:
    with translation.override("zh-hans"):
        return str(message_factory())


def member_payload(
    *, sex: str = "male", birth: dt.date = dt.date(1990, 3, 8), **overrides: Any
) -> dict[str, Any]:
    return {
        "name": "张伟",
        "id_number": valid_id_number(birth=birth, sex=sex),
        "sex": sex,
        "birth_date": birth.isoformat(),
        "relation": "son",
        "health": "healthy",
        "labour": "ordinary",
        "basic_medical": True,
        "ethnicity": "01",
        "education": "junior",
        "schooling": "not_student",
        "work_place": "none",
        "work_months": 0,
        **overrides,
    }


def record_payload(**overrides: Any) -> dict[str, Any]:
    return {
        "household_size": 2,
        "wage_income": "2000.00",
        "business_income": 800,
        "property_income": "0",
        "transfer_income": "600.00",
        "business_cost": "300.00",
        "housing_grade": "B",
        "safe_water": True,
        "food_secure": True,
        "clothing_secure": True,
        **overrides,
    }


def household_payload(**overrides: Any) -> dict[str, Any]:
    return {
        "division_code": VILLAGE_A1,
        "identified_year": 2015,
        "standard": "provincial",
        "category": "general",
        "main_cause": "illness",
        "other_causes": ["lack_funds"],
        "status": "not_out",
        "phone": "13812345678",
        **overrides,
    }


def register_payload(**overrides: Any) -> dict[str, Any]:
    return household_payload(
        members=[
            member_payload(name="张伟", relation="head", birth=dt.date(1968, 2, 1)),
            member_payload(name="刘芳", relation="spouse", sex="female", birth=dt.date(1970, 9, 9)),
        ],
        record=record_payload(survey_year=2015),
        **overrides,
    )


def bad_checksum(id_number: str) -> str:
    return id_number[:17] + ("0" if id_number[17] != "0" else "1")


def head_of(household: Household) -> Member:
    return household.members.get(relation="head", is_active=True)


def spouse_of(household: Household) -> Member:
    return household.members.get(relation="spouse", is_active=True)


# ---------------------------------------------------------------------------------------------
# List


def test_household_list_shows_own_area_with_member_count_and_latest_record(
    api, household_a1, household_b1
):
    response = api("village_cadre_a1").get(LIST)

    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "household_no": "A1-0001",
                "division": {"code": VILLAGE_A1, "name": "一村"},
                "head_name": "王建国",
                "phone": "13812345678",
                "identified_year": 2015,
                "standard": "provincial",
                "category": "general",
                "main_cause": "illness",
                "other_causes": [],
                "status": "not_out",
                "exit_year": None,
                "member_count": 2,
                "latest_record": {
                    "survey_year": 2015,
                    "household_size": 2,
                    "per_capita_net_income": "1550.00",  # (2000+800+0+600-300)/2
                },
            }
        ],
    }


def test_household_list_counts_active_members_and_shows_the_newest_record(
    api, personas, household_a1
):
    member_spouse = spouse_of(household_a1)
    client = api("village_cadre_a1")
    client.post(
        members_url("A1-0001", member_spouse.public_id, "leave"), {"reason": "外嫁"}, format="json"
    )
    record_save(
        actor=personas["village_cadre_a1"], source=SOURCE, household=household_a1,
        data=RecordDataFactory(survey_year=2017, household_size=1, wage_income=Decimal("5000")),
    )  # fmt: skip

    item = client.get(LIST).json()["results"][0]

    assert item["member_count"] == 1
    assert item["latest_record"] == {
        "survey_year": 2017,
        "household_size": 1,
        "per_capita_net_income": "6100.00",
    }


def test_household_list_of_the_other_township_does_not_show_a1(api, household_a1, household_b1):
    results = api("outsider").get(LIST).json()["results"]
    assert [h["household_no"] for h in results] == ["B1-0001"]


def test_household_list_masks_phones_for_a_leader(api, household_a1, household_b1):
    results = api("leader").get(LIST).json()["results"]
    assert [(h["household_no"], h["phone"]) for h in results] == [
        ("A1-0001", "138****5678"),
        ("B1-0001", "138****5678"),
    ]


@pytest.fixture
def filter_households(personas, household_a1):
    admin = personas["township_admin_a"]
    a2 = register_household(
        admin, division_code=VILLAGE_A2, household_no="A2-0001", identified_year=2016,
        category="dibao", main_cause="disability", status="exited", exit_year=2018,
        members=[MemberDataFactory(name="陈静", sex="female", relation="head")],
    )  # fmt: skip
    record_save(
        actor=admin, source=SOURCE, household=a2,
        data=RecordDataFactory(survey_year=2017, household_size=1),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["A1-0001", "A2-0001"]),
        ("status=exited", ["A2-0001"]),
        ("category=dibao", ["A2-0001"]),
        ("main_cause=illness", ["A1-0001"]),
        ("identified_year=2016", ["A2-0001"]),
        ("survey_year=2017", ["A2-0001"]),
        ("survey_year=2015", ["A1-0001"]),
        (f"division={VILLAGE_A2}", ["A2-0001"]),
        (f"division={VILLAGE_B1}", []),
        ("q=王建国", ["A1-0001"]),
        ("q=wjg", ["A1-0001"]),
        ("q=李秀英", ["A1-0001"]),
        ("q=A2-", ["A2-0001"]),
        ("ordering=-household_no", ["A2-0001", "A1-0001"]),
        ("ordering=-identified_year&status=", ["A2-0001", "A1-0001"]),
    ],
)
def test_household_list_filters_like_the_web_list(api, filter_households, query, expected):
    response = api("township_admin_a").get(f"{LIST}?{query}")
    assert response.status_code == 200
    assert [h["household_no"] for h in response.json()["results"]] == expected


def test_household_list_finds_a_household_by_a_member_id_number(api, household_a1):
    id_number = spouse_of(household_a1).id_number
    results = api("village_cadre_a1").get(LIST, {"q": id_number}).json()["results"]
    assert [h["household_no"] for h in results] == ["A1-0001"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("identified_year=abc", "identified_year"),
        ("survey_year=1999", "survey_year"),
        ("status=bogus", "status"),
        ("category=bogus", "category"),
        ("main_cause=bogus", "main_cause"),
        ("division=3715", "division"),
        ("ordering=password", "ordering"),
    ],
)
def test_household_list_rejects_bad_filters_with_field_errors(api, household_a1, query, field):
    response = api("village_cadre_a1").get(f"{LIST}?{query}")
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field]
    assert body[field] and all(isinstance(m, str) for m in body[field])


def test_household_list_is_paginated(api, personas, household_a1):
    for n in range(2, 6):
        register_household(personas["village_cadre_a1"], household_no=f"A1-000{n}")
    client = api("village_cadre_a1")

    first = client.get(LIST, {"page_size": 2}).json()
    last = client.get(LIST, {"page_size": 2, "page": 3}).json()
    beyond = client.get(LIST, {"page_size": 2, "page": 4})

    assert first["count"] == 5
    assert [h["household_no"] for h in first["results"]] == ["A1-0001", "A1-0002"]
    assert first["previous"] is None
    assert "page=2" in first["next"]
    assert "page_size=2" in first["next"]
    assert [h["household_no"] for h in last["results"]] == ["A1-0005"]
    assert last["next"] is None
    assert beyond.status_code == 404


def test_household_list_query_count_does_not_grow_with_the_page(
    api, personas, household_a1, django_assert_max_num_queries
):
    client = api("village_cadre_a1")
    client.get(LIST)  # the token's last use is written on its first request only

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert client.get(LIST, {"survey_year": 2015}).status_code == 200
        return len(context.captured_queries)

    few = queries()
    for n in range(2, 22):
        register_household(
            personas["village_cadre_a1"], household_no=f"A1-{n:04d}",
            members=[MemberDataFactory(relation="head"), MemberDataFactory(relation="son")],
        )  # fmt: skip
    many = queries()

    assert few == many
    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(LIST)
    assert len(response.json()["results"]) == 21
    assert {h["member_count"] for h in response.json()["results"]} == {2}


def test_household_list_of_a_user_without_roles_is_empty(household_a1, django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password="x-long-password-1")
    response = token_client(nobody).get(LIST)
    assert response.status_code == 200
    assert response.json()["count"] == 0


# ---------------------------------------------------------------------------------------------
# Detail


def test_household_detail_shows_everything_with_labels(api, household_a1):
    head, spouse = head_of(household_a1), spouse_of(household_a1)

    response = api("village_cadre_a1").get(detail("A1-0001"))

    assert response.status_code == 200
    body = response.json()
    assert {
        k: v for k, v in body.items() if k not in {"members", "records", "created_at", "updated_at"}
    } == {
        "household_no": "A1-0001",
        "division": {"code": VILLAGE_A1, "name": "一村"},
        "head_name": "王建国",
        "phone": "13812345678",
        "identified_year": 2015,
        "standard": "provincial",
        "standard_label": "省定标准",
        "category": "general",
        "category_label": "一般贫困户",
        "main_cause": "illness",
        "main_cause_label": "因病",
        "other_causes": [],
        "other_causes_labels": [],
        "status": "not_out",
        "status_label": "未脱贫",
        "exit_year": None,
    }
    assert body["created_at"] and body["updated_at"]
    assert body["members"][0] == {
        "public_id": str(head.public_id),
        "household_no": "A1-0001",
        "name": "王建国",
        "id_number": head.id_number,
        "sex": "male",
        "sex_label": "男",
        "birth_date": "1970-05-17",
        "relation": "head",
        "relation_label": "户主",
        "ethnicity": "01",
        "ethnicity_label": "汉族",
        "education": "junior",
        "education_label": "初中",
        "schooling": "not_student",
        "schooling_label": "非在校生",
        "health": "healthy",
        "health_label": "健康",
        "labour": "ordinary",
        "labour_label": "普通劳动力",
        "work_place": "none",
        "work_place_label": "未务工",
        "work_months": 0,
        "basic_medical": True,
        "critical_illness": None,
        "pension": None,
        "dibao": None,
        "tekun": None,
        "is_active": True,
        "left_on": None,
        "left_reason": "",
    }
    assert [(m["public_id"], m["relation_label"]) for m in body["members"]] == [
        (str(head.public_id), "户主"),
        (str(spouse.public_id), "配偶"),
    ]
    assert body["records"] == [
        {
            "survey_year": 2015,
            "household_size": 2,
            "wage_income": "2000.00",
            "business_income": "800.00",
            "property_income": "0.00",
            "transfer_income": "600.00",
            "business_cost": "300.00",
            "excluded_income": "0.00",
            "net_income": "3100.00",
            "per_capita_net_income": "1550.00",
            "farmland_mu": None,
            "housing_grade": "B",
            "housing_grade_label": "B",
            "safe_water": True,
            "food_secure": True,
            "clothing_secure": True,
            "has_electricity": None,
        }
    ]


def test_paths_answer_with_and_without_a_trailing_slash(api, household_a1):
    client = api("village_cadre_a1")
    without, with_slash = client.get(detail("A1-0001")), client.get(detail("A1-0001") + "/")
    assert without.status_code == with_slash.status_code == 200
    assert without.json() == with_slash.json()
    assert client.get(LIST.rstrip("/")).json() == client.get(LIST).json()
    added = client.post(members_url("A1-0001") + "/", member_payload(), format="json")
    assert added.status_code == 201


def test_household_detail_lists_former_members_after_the_current_ones(api, household_a1):
    spouse = spouse_of(household_a1)
    client = api("village_cadre_a1")
    client.post(
        members_url("A1-0001", spouse.public_id, "leave"),
        {"reason": "外嫁", "left_on": "2016-03-01"},
        format="json",
    )

    members = client.get(detail("A1-0001")).json()["members"]

    assert [(m["name"], m["is_active"], m["left_on"], m["left_reason"]) for m in members] == [
        ("王建国", True, None, ""),
        ("李秀英", False, "2016-03-01", "外嫁"),
    ]


def test_household_detail_of_the_other_township_is_not_found_like_a_missing_one(
    api, household_a1, household_b1
):
    client = api("village_cadre_a1")
    guessed, missing = client.get(detail("B1-0001")), client.get(detail("B1-9999"))
    assert guessed.status_code == missing.status_code == 404
    assert guessed.json() == missing.json()
    assert api("outsider").get(detail("A1-0001")).json() == missing.json()
    assert api("other_county_admin").get(detail("A1-0001")).status_code == 404


@pytest.mark.parametrize("persona", ["leader", "department_user"])
def test_household_detail_masks_personal_data_for_roles_without_the_right(
    api, household_a1, persona
):
    head = head_of(household_a1)
    body = api(persona).get(detail("A1-0001")).json()
    assert body["phone"] == "138****5678"
    assert body["members"][0]["id_number"] == head.id_number[:4] + "*" * 10 + head.id_number[-4:]
    assert head.id_number not in str(body)


@pytest.mark.parametrize("persona", ["auditor", "county_admin", "township_admin_a"])
def test_household_detail_shows_personal_data_to_roles_with_the_right(api, household_a1, persona):
    body = api(persona).get(detail("A1-0001")).json()
    assert body["phone"] == "13812345678"
    assert body["members"][0]["id_number"] == head_of(household_a1).id_number


def test_household_detail_query_count_is_pinned(api, household_a1, django_assert_max_num_queries):
    client = api("village_cadre_a1")
    client.get(LIST)
    with django_assert_max_num_queries(DETAIL_QUERIES):
        assert client.get(detail("A1-0001")).status_code == 200


# ---------------------------------------------------------------------------------------------
# Register


def test_household_register_creates_household_members_record_and_audit(api):
    payload = register_payload(household_no="A1-0100")

    response = api("village_cadre_a1").post(LIST, payload, format="json")

    assert response.status_code == 201, response.json()
    assert response["Location"] == "/api/v1/households/A1-0100"
    body = response.json()
    assert body["household_no"] == "A1-0100"
    assert body["head_name"] == "张伟"
    assert body["other_causes_labels"] == ["缺资金"]
    assert [(m["name"], m["relation"], m["id_number"]) for m in body["members"]] == [
        ("张伟", "head", payload["members"][0]["id_number"]),
        ("刘芳", "spouse", payload["members"][1]["id_number"]),
    ]
    assert body["records"][0]["per_capita_net_income"] == "1550.00"
    household = Household.objects.get(household_no="A1-0100")
    assert household.division.code == VILLAGE_A1
    assert household.other_causes == ["lack_funds"]
    assert household.members.filter(is_active=True).count() == 2
    assert household.records.get().wage_income == Decimal("2000.00")
    [event] = api_events(action="household.register")
    assert (event.household_no, event.actor_username) == ("A1-0100", "village_cadre_a1")


def test_household_register_numbers_the_household_after_its_village(api):
    response = api("village_cadre_a1").post(LIST, register_payload(), format="json")
    assert response.status_code == 201
    assert response.json()["household_no"] == f"{VILLAGE_A1}00001"


def assert_nothing_registered() -> None:
    assert not Household.objects.filter(household_no="A1-0100").exists()
    assert not Member.objects.filter(name__in=["张伟", "刘芳"]).exists()
    assert not api_events()


def test_household_register_rejects_a_bad_id_number_check_character(api):
    payload = register_payload(household_no="A1-0100")
    payload["members"][1]["id_number"] = bad_checksum(payload["members"][1]["id_number"])

    response = api("village_cadre_a1").post(LIST, payload, format="json")

    assert response.status_code == 400
    expected = zh(lambda: id_error_message(IdNumberError("id_checksum", "checksum")))
    assert response.json() == {"members.1.id_number": [expected]}
    assert_nothing_registered()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p.update(standard="bogus"), "standard"),
        (lambda p: p.update(other_causes=["bogus"]), "other_causes"),
        (lambda p: p["members"][1].update(relation="boss"), "members.1.relation"),
        (lambda p: p["record"].update(housing_grade="Z"), "record.housing_grade"),
        (lambda p: p["record"].update(wage_income="-1.00"), "record.wage_income"),
        (lambda p: p["record"].update(business_cost="1.005"), "record.business_cost"),
        (lambda p: p["record"].update(household_size=3), "record.household_size"),
        (lambda p: p.update(division_code=VILLAGE_B1), "division_code"),
        (lambda p: p.update(division_code="371502001000"), "division_code"),
        (lambda p: p.update(household_no="A1 0100!"), "household_no"),
        (lambda p: p.update(phone="12345"), "phone"),
        (lambda p: p.update(status="exited"), "exit_year"),
    ],
)
def test_household_register_reports_service_errors_by_field_and_saves_nothing(api, change, field):
    payload = register_payload(household_no="A1-0100")
    change(payload)

    response = api("village_cadre_a1").post(LIST, payload, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert_nothing_registered()


def test_household_register_without_a_head_is_rejected(api):
    payload = register_payload(household_no="A1-0100")
    payload["members"][0]["relation"] = "son"

    response = api("village_cadre_a1").post(LIST, payload, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "members": [zh(lambda: gettext("A household must have a head (户主)."))]
    }
    assert_nothing_registered()


def test_household_register_rejects_a_person_of_another_household(api, household_b1):
    payload = register_payload(household_no="A1-0100")
    payload["members"][1]["id_number"] = head_of(household_b1).id_number
    payload["members"][1].update(sex="male", birth_date="1970-05-17")

    response = api("village_cadre_a1").post(LIST, payload, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["members.1.id_number"]
    assert_nothing_registered()


def test_household_register_reports_type_errors_with_flat_keys(api):
    payload = register_payload(household_no="A1-0100")
    payload["members"][1]["birth_date"] = "the ninth"
    payload["record"]["safe_water"] = "perhaps"
    del payload["identified_year"]

    response = api("village_cadre_a1").post(LIST, payload, format="json")

    assert response.status_code == 400
    assert sorted(response.json()) == [
        "identified_year",
        "members.1.birth_date",
        "record.safe_water",
    ]
    assert_nothing_registered()


@pytest.mark.parametrize("persona", ["leader", "outsider"])
def test_household_register_outside_the_editable_area_is_refused(api, persona):
    response = api(persona).post(LIST, register_payload(household_no="A1-0100"), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["division_code"]
    assert_nothing_registered()


# ---------------------------------------------------------------------------------------------
# Update


def test_household_patch_changes_only_the_given_fields(api, household_a1):
    response = api("village_cadre_a1").patch(
        detail("A1-0001"), {"phone": "0635-8123456", "other_causes": ["lack_skills"]}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["phone"] == "0635-8123456"
    assert response.json()["other_causes_labels"] == ["缺技术"]
    household_a1.refresh_from_db()
    assert (household_a1.phone, household_a1.other_causes, household_a1.status) == (
        "0635-8123456",
        ["lack_skills"],
        "not_out",
    )
    [event] = api_events(action="household.update")
    assert event.before == {"phone": "13812345678", "other_causes": []}
    assert event.after == {"phone": "0635-8123456", "other_causes": ["lack_skills"]}


def test_household_put_replaces_the_facts(api, household_a1):
    payload = household_payload(status="exited", exit_year=2018, other_causes=[], phone="")

    response = api("village_cadre_a1").put(detail("A1-0001"), payload, format="json")

    assert response.status_code == 200, response.json()
    household_a1.refresh_from_db()
    assert (household_a1.status, household_a1.exit_year, household_a1.phone) == ("exited", 2018, "")
    assert response.json()["status_label"] == "已脱贫"
    [event] = api_events(action="household.update")
    assert event.after == {"status": "exited", "exit_year": 2018, "phone": ""}


def test_household_put_needs_every_required_field(api, household_a1):
    response = api("village_cadre_a1").put(detail("A1-0001"), {"phone": ""}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {
        "division_code", "identified_year", "standard", "category", "main_cause", "status",
    }  # fmt: skip
    assert not api_events()


def test_household_patch_moves_the_household_within_the_editable_area(api, household_a1):
    response = api("township_admin_a").patch(
        detail("A1-0001"), {"division_code": VILLAGE_A2}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["division"] == {"code": VILLAGE_A2, "name": "二村"}
    household_a1.refresh_from_db()
    assert household_a1.division.code == VILLAGE_A2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"status": "exited"}, "exit_year"),
        ({"exit_year": 2014}, "exit_year"),
        ({"category": "bogus"}, "category"),
        ({"division_code": VILLAGE_B1}, "division_code"),
        ({"identified_year": "soon"}, "identified_year"),
    ],
)
def test_household_patch_rejects_bad_values_and_saves_nothing(api, household_a1, payload, field):
    response = api("village_cadre_a1").patch(detail("A1-0001"), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    household_a1.refresh_from_db()
    assert (household_a1.status, household_a1.category, household_a1.division.code) == (
        "not_out",
        "general",
        VILLAGE_A1,
    )
    assert not api_events()


# ---------------------------------------------------------------------------------------------
# Members


def test_member_add_adds_a_member(api, household_a1):
    payload = member_payload(name="王小明", relation="son", birth=dt.date(2005, 6, 1))

    response = api("village_cadre_a1").post(members_url("A1-0001"), payload, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    member = Member.objects.get(public_id=body["public_id"])
    assert (member.household_id, member.name, member.id_number, member.is_active) == (
        household_a1.pk,
        "王小明",
        payload["id_number"],
        True,
    )
    assert body["relation_label"] == "之子"
    assert body["household_no"] == "A1-0001"
    [event] = api_events(action="member.add")
    assert (event.entity_key, event.household_no) == (str(member.public_id), "A1-0001")


def test_member_add_rejects_a_second_head_and_a_bad_id_number(api, household_a1):
    payload = member_payload(relation="head")
    payload["id_number"] = bad_checksum(payload["id_number"])

    response = api("village_cadre_a1").post(members_url("A1-0001"), payload, format="json")

    assert response.status_code == 400
    expected = zh(lambda: id_error_message(IdNumberError("id_checksum", "checksum")))
    assert response.json()["id_number"] == [expected]
    assert "relation" in response.json()
    assert household_a1.members.count() == 2
    assert not api_events()


def test_member_update_changes_the_given_fields(api, household_a1):
    spouse = spouse_of(household_a1)

    response = api("village_cadre_a1").patch(
        members_url("A1-0001", spouse.public_id),
        {"education": "senior", "dibao": True},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["education_label"], response.json()["dibao"]) == ("高中", True)
    spouse.refresh_from_db()
    assert (spouse.education, spouse.dibao, spouse.name) == ("senior", True, "李秀英")
    [event] = api_events(action="member.update")
    assert event.before == {"education": "junior", "dibao": None}
    assert event.after == {"education": "senior", "dibao": True}


def test_member_update_of_the_head_name_renames_the_household(api, household_a1):
    head = head_of(household_a1)
    response = api("village_cadre_a1").patch(
        members_url("A1-0001", head.public_id), {"name": "王建军"}, format="json"
    )
    assert response.status_code == 200
    household_a1.refresh_from_db()
    assert household_a1.head_name == "王建军"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"id_number": "BAD"}, "id_number"),
        ({"sex": "female"}, "sex"),  # disagrees with the id number
        ({"relation": "son"}, "relation"),  # the head cannot stop being head
        ({"work_months": 13}, "work_months"),
        ({"birth_date": "not a date"}, "birth_date"),
    ],
)
def test_member_update_rejects_bad_values_and_saves_nothing(api, household_a1, payload, field):
    head = head_of(household_a1)
    response = api("village_cadre_a1").patch(
        members_url("A1-0001", head.public_id), payload, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()
    head.refresh_from_db()
    assert (head.relation, head.sex) == ("head", "male")
    assert not api_events()


def test_member_update_of_a_former_member_is_refused(api, household_a1):
    spouse = spouse_of(household_a1)
    client = api("village_cadre_a1")
    client.post(
        members_url("A1-0001", spouse.public_id, "leave"), {"reason": "外嫁"}, format="json"
    )
    response = client.patch(
        members_url("A1-0001", spouse.public_id), {"education": "senior"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]


def test_member_leave_keeps_the_member_as_former(api, household_a1):
    spouse = spouse_of(household_a1)

    response = api("village_cadre_a1").post(
        members_url("A1-0001", spouse.public_id, "leave"),
        {"reason": "外嫁", "left_on": "2016-03-01"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["is_active"], response.json()["left_on"]) == (False, "2016-03-01")
    spouse.refresh_from_db()
    assert (spouse.is_active, spouse.left_on, spouse.left_reason) == (
        False,
        dt.date(2016, 3, 1),
        "外嫁",
    )
    [event] = api_events(action="member.leave")
    assert event.after["is_active"] is False


@pytest.mark.parametrize(
    ("who", "payload", "field"),
    [
        (spouse_of, {"reason": "  "}, "reason"),
        (spouse_of, {}, "reason"),
        (head_of, {"reason": "去世"}, "relation"),
        (spouse_of, {"reason": "外嫁", "left_on": "yesterday"}, "left_on"),
    ],
)
def test_member_leave_rejects_bad_requests(api, household_a1, who, payload, field):
    member = who(household_a1)
    response = api("village_cadre_a1").post(
        members_url("A1-0001", member.public_id, "leave"), payload, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == [field]
    member.refresh_from_db()
    assert member.is_active
    assert not api_events()


@pytest.fixture
def household_a1_second(personas, household_a1):
    return register_household(
        personas["village_cadre_a1"], household_no="A1-0002",
        members=[MemberDataFactory(name="刘强", relation="head")],
    )  # fmt: skip


def test_member_move_moves_a_person_to_another_household(api, household_a1, household_a1_second):
    spouse = spouse_of(household_a1)

    response = api("village_cadre_a1").post(
        members_url("A1-0001", spouse.public_id, "move"),
        {"to_household_no": "A1-0002", "relation": "spouse"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["household_no"], body["name"], body["relation"], body["is_active"]) == (
        "A1-0002",
        "李秀英",
        "spouse",
        True,
    )
    assert body["public_id"] != str(spouse.public_id)
    spouse.refresh_from_db()
    assert not spouse.is_active
    moved = Member.objects.get(public_id=body["public_id"])
    assert (moved.household_id, moved.person_key) == (household_a1_second.pk, spouse.person_key)
    assert [(e.action, e.household_no) for e in api_events()] == [
        ("member.move_out", "A1-0001"),
        ("member.move_in", "A1-0002"),
    ]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"to_household_no": "A1-0001", "relation": "spouse"}, "to_household_no"),
        ({"to_household_no": "A1-0002", "relation": "head"}, "relation"),
        ({"to_household_no": "A1-0002", "relation": "boss"}, "relation"),
        ({"relation": "spouse"}, "to_household_no"),
    ],
)
def test_member_move_rejects_bad_requests(api, household_a1, household_a1_second, payload, field):
    spouse = spouse_of(household_a1)
    response = api("village_cadre_a1").post(
        members_url("A1-0001", spouse.public_id, "move"), payload, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == [field]
    spouse.refresh_from_db()
    assert spouse.is_active
    assert not api_events()


def test_member_move_to_a_household_of_another_township_is_not_found(
    api, household_a1, household_b1
):
    spouse = spouse_of(household_a1)
    client = api("village_cadre_a1")
    url = members_url("A1-0001", spouse.public_id, "move")

    guessed = client.post(url, {"to_household_no": "B1-0001", "relation": "spouse"}, format="json")
    missing = client.post(url, {"to_household_no": "B1-9999", "relation": "spouse"}, format="json")

    assert guessed.status_code == missing.status_code == 404
    assert guessed.json() == missing.json()
    spouse.refresh_from_db()
    assert spouse.is_active
    assert household_b1.members.count() == 1


def test_member_paths_need_the_member_to_belong_to_the_household(api, personas, household_a1):
    other = register_household(
        personas["township_admin_a"], division_code=VILLAGE_A2, household_no="A2-0001",
        members=[MemberDataFactory(name="陈静", sex="female", relation="head")],
    )  # fmt: skip
    stranger = head_of(other)
    client = api("township_admin_a")

    responses = [
        client.patch(
            members_url("A1-0001", stranger.public_id), {"education": "senior"}, format="json"
        ),
        client.post(
            members_url("A1-0001", stranger.public_id, "leave"), {"reason": "x"}, format="json"
        ),
        client.patch(members_url("A1-0001", "not-a-uuid"), {"education": "senior"}, format="json"),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert not api_events()


# ---------------------------------------------------------------------------------------------
# Yearly records


def test_record_save_creates_then_replaces_the_record_of_a_year(api, household_a1):
    client = api("village_cadre_a1")

    created = client.put(
        record_url("A1-0001", 2016), record_payload(wage_income="4000"), format="json"
    )
    replaced = client.put(
        record_url("A1-0001", 2016),
        record_payload(wage_income="5000", farmland_mu="2.50"),
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert created.json()["per_capita_net_income"] == "2550.00"
    assert created.json()["survey_year"] == 2016
    assert replaced.status_code == 200
    assert replaced.json()["per_capita_net_income"] == "3050.00"
    record = YearlyRecord.objects.get(household=household_a1, survey_year=2016)
    assert (record.wage_income, record.farmland_mu) == (Decimal("5000.00"), Decimal("2.50"))
    assert [(e.action, e.entity_key) for e in api_events()] == [
        ("record.create", "A1-0001/2016"),
        ("record.update", "A1-0001/2016"),
    ]
    assert api_events()[1].after == {"wage_income": "5000.00", "farmland_mu": "2.50"}


@pytest.mark.parametrize(
    ("year", "payload", "field"),
    [
        (2016, record_payload(wage_income="-0.01"), "wage_income"),
        (2016, record_payload(household_size=3), "household_size"),
        (2016, record_payload(housing_grade="E"), "housing_grade"),
        (2016, record_payload(transfer_income="much"), "transfer_income"),
        (2014, record_payload(), "survey_year"),
    ],
)
def test_record_save_rejects_bad_values_and_saves_nothing(api, household_a1, year, payload, field):
    response = api("village_cadre_a1").put(record_url("A1-0001", year), payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert list(household_a1.records.values_list("survey_year", flat=True)) == [2015]
    assert not api_events()


# ---------------------------------------------------------------------------------------------
# Scope and roles on every path


def _calls(household_no: str, public_id: Any) -> list[tuple[str, str, Any]]:
    return [
        ("get", detail(household_no), None),
        ("patch", detail(household_no), {"phone": "13900001111"}),
        ("put", detail(household_no), household_payload()),
        ("post", members_url(household_no), member_payload()),
        ("patch", members_url(household_no, public_id), {"education": "senior"}),
        ("post", members_url(household_no, public_id, "leave"), {"reason": "外嫁"}),
        (
            "post",
            members_url(household_no, public_id, "move"),
            {"to_household_no": "A1-0001", "relation": "son"},
        ),
        ("put", record_url(household_no, 2016), record_payload(household_size=1)),
    ]


CALL_IDS = ["get", "patch", "put", "member-add", "member-update", "leave", "move", "record"]


@pytest.mark.parametrize("index", range(8), ids=CALL_IDS)
def test_a_guessed_household_of_another_township_is_not_found_like_a_missing_one(
    api, household_a1, household_b1, index
):
    client = api("village_cadre_a1")
    b1_member = head_of(household_b1)
    method, url, payload = _calls("B1-0001", b1_member.public_id)[index]
    _, missing_url, _ = _calls("B1-9999", uuid.uuid4())[index]

    guessed = getattr(client, method)(url, payload, format="json")
    missing = getattr(client, method)(missing_url, payload, format="json")

    assert guessed.status_code == missing.status_code == 404
    assert guessed.content == missing.content
    assert not api_events()
    b1_member.refresh_from_db()
    assert b1_member.is_active


@pytest.mark.parametrize("persona", ["leader", "department_user", "auditor"])
@pytest.mark.parametrize("index", range(1, 8), ids=CALL_IDS[1:])
def test_read_only_roles_get_403_on_writes_to_a_household_they_see(
    api, household_a1, persona, index
):
    method, url, payload = _calls("A1-0001", spouse_of(household_a1).public_id)[index]

    response = getattr(api(persona), method)(url, payload, format="json")

    assert response.status_code == 403
    assert set(response.json()) == {"detail"}
    assert not api_events()
    assert household_a1.members.filter(is_active=True).count() == 2
    assert list(household_a1.records.values_list("survey_year", flat=True)) == [2015]


# ---------------------------------------------------------------------------------------------
# Authentication


def test_unauthenticated_requests_get_401(household_a1):
    client = APIClient()
    for response in (
        client.get(LIST),
        client.get(detail("A1-0001")),
        client.post(LIST, {}, format="json"),
    ):
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"


def test_garbage_and_revoked_tokens_get_401(personas, household_a1):
    user = personas["village_cadre_a1"]
    raw = token_create(actor=None, source=SOURCE, user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert client.get(detail("A1-0001")).status_code == 200

    token_revoke(actor=None, source=SOURCE, token=ApiToken.objects.get(user=user))
    revoked = client.get(detail("A1-0001"))
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    garbage = client.get(detail("A1-0001"))
    client.credentials(HTTP_AUTHORIZATION="Token two parts")
    malformed = client.get(detail("A1-0001"))

    assert [revoked.status_code, garbage.status_code, malformed.status_code] == [401, 401, 401]


def test_session_authentication_reads_and_enforces_csrf_on_writes(personas, household_a1):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(personas["village_cadre_a1"])
    url = members_url("A1-0001")

    read = client.get(detail("A1-0001"))
    without_token = client.post(url, member_payload(), format="json")
    secret = "k" * 32
    client.cookies["csrftoken"] = secret
    with_token = client.post(url, member_payload(), format="json", HTTP_X_CSRFTOKEN=secret)

    assert read.status_code == 200
    assert without_token.status_code == 403
    assert with_token.status_code == 201
    assert len(api_events(action="member.add")) == 1


def test_a_browser_gets_json_not_the_browsable_api(personas, household_a1):
    client = APIClient()
    client.force_login(personas["village_cadre_a1"])
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    for url in (LIST, detail("A1-0001")):
        response = client.get(url, HTTP_ACCEPT=accept)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"


# ---------------------------------------------------------------------------------------------
# OpenAPI document and Swagger UI

DOCUMENTED = {
    "/api/v1/households/": {"get", "post"},
    "/api/v1/households/{household_no}": {"get", "put", "patch"},
    "/api/v1/households/{household_no}/members": {"post"},
    "/api/v1/households/{household_no}/members/{public_id}": {"patch"},
    "/api/v1/households/{household_no}/members/{public_id}/leave": {"post"},
    "/api/v1/households/{household_no}/members/{public_id}/move": {"post"},
    "/api/v1/households/{household_no}/records/{year}": {"put"},
}


def test_schema_documents_every_endpoint_with_request_and_response_bodies(api):
    response = api("village_cadre_a1").get("/api/v1/schema", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    paths = {
        path: set(ops) - {"parameters"}
        for path, ops in schema["paths"].items()
        if path.startswith("/api/v1/households")
    }
    # The registry's own endpoints; apps above it add their own household paths.
    assert {path: paths.get(path) for path in DOCUMENTED} == DOCUMENTED
    for path, methods in DOCUMENTED.items():
        for method in methods:
            operation = schema["paths"][path][method]
            success = {"get": "200", "post": "201", "put": "200", "patch": "200"}[method]
            if path.endswith("leave"):
                success = "200"
            assert "$ref" in str(operation["responses"][success]), (path, method)
            assert "404" in operation["responses"] or path == "/api/v1/households/"
            if method != "get":
                assert "application/json" in operation["requestBody"]["content"], (path, method)
                assert set(operation["responses"]) >= {"400", "401", "403"}
    list_parameters = {
        p["name"] for p in schema["paths"]["/api/v1/households/"]["get"]["parameters"]
    }
    assert list_parameters == set(HouseholdFilterForm.base_fields) | {"page", "page_size"}
    assert set(schema["components"]["securitySchemes"]) == {"tokenAuth", "cookieAuth"}


def test_schema_generation_emits_no_warnings(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )
    assert (
        "/api/v1/households/{household_no}/members/{public_id}/move"
        in (tmp_path / "schema.yml").read_text()
    )


def test_swagger_ui_is_served_from_the_app_without_any_cdn(api):
    client = api("village_cadre_a1")

    page = client.get("/api/v1/docs")

    assert page.status_code == 200
    html = page.content.decode()
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.IGNORECASE)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(assets) >= 4  # stylesheet, icon, two bundles, start-up script
    for asset in assets:
        assert asset.startswith("/"), asset
        assert not asset.startswith("//"), asset
    statics = [a for a in assets if a.startswith("/static/")]
    assert statics
    for asset in statics:
        assert finders.find(asset.removeprefix("/static/")), asset
    assert "<script>" not in html  # the CSP allows no inline script
    [script] = [a for a in assets if "script" in a and not a.startswith("/static/")]
    start_up = client.get(script.replace("&amp;", "&"))
    assert start_up.status_code == 200
    assert start_up["Content-Type"].startswith("application/javascript")
    assert "/api/v1/schema" in start_up.content.decode()
