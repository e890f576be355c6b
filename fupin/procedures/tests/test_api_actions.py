"""The procedures' API beyond reading and transitions: opening a case, comments, objections
(raise, resolve), attachments (upload, download)."""

import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import PASSWORD
from fupin.core.models import AuditEvent
from fupin.procedures.models import Attachment, Case, Comment, Objection
from fupin.procedures.tests.helpers import advance, age_step, open_case

pytestmark = pytest.mark.django_db

CASES = "/api/v1/procedures/cases"


def login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=body, content_type="application/json")


def audited(action: str, case: Case) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            action=f"procedure.{action}", entity_key=str(case.public_id), source="api"
        )
    )


# --- Opening a case ----------------------------------------------------------------------------


def test_a_village_cadre_opens_a_case(personas, household_a1):
    response = post(
        login("village_cadre_a1"),
        CASES,
        {"household_no": "A1-0001", "procedure": "identification", "year": 2016, "comment": "申请"},
    )
    assert response.status_code == 201, response.content
    data = response.json()
    case = Case.objects.get()
    assert data["id"] == str(case.public_id) and data["state"] == "application"
    assert response["Location"] == f"{CASES}/{case.public_id}"
    assert data["transitions"][0]["action"] == "open"
    assert data["transitions"][0]["comment"] == "申请"
    assert len(audited("open", case)) == 1


def test_monitoring_needs_a_channel_and_keeps_it(personas, household_a1):
    cadre = login("village_cadre_a1")
    body = {"household_no": "A1-0001", "procedure": "monitoring", "year": 2016}
    response = post(cadre, CASES, body)
    assert response.status_code == 400 and "channel" in response.json()
    response = post(cadre, CASES, body | {"channel": "by_pigeon"})
    assert response.status_code == 400 and "channel" in response.json()
    assert not Case.objects.exists()
    response = post(cadre, CASES, body | {"channel": "self_report"})
    assert response.status_code == 201 and response.json()["channel"] == "self_report"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"procedure": "fly"}, "procedure"),
        ({"year": 1999}, "year"),
        ({"year": "soon"}, "year"),
        ({"household_no": ""}, "household_no"),
    ],
)
def test_bad_input_is_reported_on_its_field(personas, household_a1, change, field):
    body = {"household_no": "A1-0001", "procedure": "identification", "year": 2016} | change
    response = post(login("village_cadre_a1"), CASES, body)
    assert response.status_code == 400 and list(response.json()) == [field]
    assert not Case.objects.exists()


def test_a_household_outside_the_area_is_reported_like_a_missing_one(
    personas, household_a1, household_b1
):
    cadre = login("village_cadre_a1")
    body = {"procedure": "identification", "year": 2016}
    outside = post(cadre, CASES, body | {"household_no": "B1-0001"})
    missing = post(cadre, CASES, body | {"household_no": "NO-SUCH"})
    assert outside.status_code == missing.status_code == 400
    assert outside.json() == missing.json() and list(outside.json()) == ["household_no"]
    assert not Case.objects.exists()


def test_opening_is_refused_to_the_wrong_level_and_for_a_duplicate(personas, household_a1):
    body = {"household_no": "A1-0001", "procedure": "exit", "year": 2016}
    response = post(login("township_admin_a"), CASES, body)
    assert response.status_code == 403 and response.json()["code"] == "wrong_level"
    assert not Case.objects.exists()
    cadre = login("village_cadre_a1")
    assert post(cadre, CASES, body).status_code == 201
    response = post(cadre, CASES, body)
    assert response.status_code == 409 and response.json()["code"] == "duplicate"
    assert response.json()["detail"]
    assert Case.objects.count() == 1


def test_risk_elimination_needs_monitoring_first(personas, household_a1):
    response = post(
        login("village_cadre_a1"),
        CASES,
        {"household_no": "A1-0001", "procedure": "elimination", "year": 2016},
    )
    assert response.status_code == 409 and response.json()["code"] == "not_monitored"
    assert not Case.objects.exists()


# --- Comments ----------------------------------------------------------------------------------


def test_comments_are_added_and_listed(personas, household_a1):
    case = open_case(personas, household_a1, "identification")
    url = f"{CASES}/{case.public_id}/comments"
    cadre = login("village_cadre_a1")
    response = post(cadre, url, {"text": "  已入户核实  "})
    assert response.status_code == 201
    assert response.json()["text"] == "已入户核实"
    assert response.json()["author"] == "village_cadre_a1"
    assert response.json()["state"] == "application"
    listed = login("township_admin_a").get(url).json()
    assert [c["text"] for c in listed] == ["已入户核实"]
    assert len(audited("comment", case)) == 1


def test_a_comment_needs_text_an_editor_and_the_area(personas, household_a1):
    case = open_case(personas, household_a1, "identification")
    url = f"{CASES}/{case.public_id}/comments"
    response = post(login("village_cadre_a1"), url, {"text": "   "})
    assert response.status_code == 400 and list(response.json()) == ["text"]
    response = post(login("leader"), url, {"text": "看过"})  # reads the city, changes nothing
    assert response.status_code == 403 and response.json()["code"] == "wrong_level"
    assert login("leader").get(url).status_code == 200
    assert post(login("outsider"), url, {"text": "看过"}).status_code == 404
    assert login("outsider").get(url).status_code == 404
    assert (
        post(
            login("village_cadre_a1"), f"{CASES}/{uuid.uuid4()}/comments", {"text": "x"}
        ).status_code
        == 404
    )
    assert not Comment.objects.exists()


# --- Objections --------------------------------------------------------------------------------


def test_an_objection_pauses_the_case_and_a_dismissal_resumes_it(personas, household_a1):
    case = advance(
        personas, open_case(personas, household_a1, "identification"), until="first_publicity"
    )
    base = f"{CASES}/{case.public_id}"
    cadre, township = login("village_cadre_a1"), login("township_admin_a")
    response = post(cadre, f"{base}/objections", {"text": "收入情况不实"})
    assert response.status_code == 201
    assert response.json()["decision"] == "" and response.json()["resolved_at"] is None
    detail = cadre.get(base).json()
    assert detail["paused"] is True and detail["allowed_actions"] == []
    age_step(case)
    response = post(cadre, f"{base}/transition", {"action": "advance"})
    assert response.status_code == 409 and response.json()["code"] == "paused"
    response = post(cadre, f"{base}/objections", {"text": "又一条"})
    assert response.status_code == 409 and response.json()["code"] == "paused"
    # The village may not resolve; the township may, and must say how.
    body = {"decision": "dismissed", "resolution": "核实无误"}
    response = post(cadre, f"{base}/objections/resolve", body)
    assert response.status_code == 403 and response.json()["code"] == "wrong_level"
    response = post(
        township, f"{base}/objections/resolve", {"decision": "maybe", "resolution": "x"}
    )
    assert response.status_code == 400 and list(response.json()) == ["decision"]
    response = post(township, f"{base}/objections/resolve", {"decision": "dismissed"})
    assert response.status_code == 400 and list(response.json()) == ["resolution"]
    assert Case.objects.get(pk=case.pk).paused
    response = post(township, f"{base}/objections/resolve", body)
    assert response.status_code == 200
    assert response.json()["paused"] is False and response.json()["state"] == "first_publicity"
    objections = cadre.get(f"{base}/objections").json()
    assert [(o["decision"], o["resolution"]) for o in objections] == [("dismissed", "核实无误")]
    assert post(cadre, f"{base}/transition", {"action": "advance"}).json()["state"] == (
        "township_review"
    )
    assert len(audited("objection", case)) == len(audited("resolve", case)) == 1


def test_an_upheld_objection_rejects_the_case(personas, household_a1):
    case = advance(personas, open_case(personas, household_a1, "exit"), until="publicity")
    base = f"{CASES}/{case.public_id}"
    post(login("village_cadre_a1"), f"{base}/objections", {"text": "尚未稳定脱贫"})
    response = post(
        login("county_admin"),
        f"{base}/objections/resolve",
        {"decision": "upheld", "resolution": "异议属实"},
    )
    assert response.status_code == 200
    assert response.json()["state"] == "rejected" and response.json()["closed_at"]
    assert response.json()["transitions"][-1]["comment"] == "异议属实"


def test_objections_only_during_publicity_and_resolution_only_when_paused(personas, household_a1):
    case = open_case(personas, household_a1, "identification")
    base = f"{CASES}/{case.public_id}"
    cadre = login("village_cadre_a1")
    response = post(cadre, f"{base}/objections", {"text": "有异议"})
    assert response.status_code == 409 and response.json()["code"] == "not_publicity"
    response = post(
        login("township_admin_a"),
        f"{base}/objections/resolve",
        {"decision": "dismissed", "resolution": "无"},
    )
    assert response.status_code == 409 and response.json()["code"] == "not_paused"
    assert post(cadre, f"{base}/objections", {"text": ""}).status_code == 400
    assert post(login("outsider"), f"{base}/objections", {"text": "有异议"}).status_code == 404
    assert not Objection.objects.exists()
    assert not Case.objects.get(pk=case.pk).paused


# --- Attachments -------------------------------------------------------------------------------


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def stored_files(data_dir: Any) -> list[Any]:
    folder = data_dir / "procedures"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_an_attachment_is_uploaded_listed_and_downloaded(personas, household_a1, data_dir):
    case = open_case(personas, household_a1, "exit")
    url = f"{CASES}/{case.public_id}/attachments"
    cadre = login("village_cadre_a1")
    response = cadre.post(url, {"file": SimpleUploadedFile("评议记录.pdf", b"%PDF-1.4 test")})
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["name"] == "评议记录.pdf" and data["size"] == 13
    assert data["content_type"] == "application/pdf"
    assert [a["id"] for a in login("township_admin_a").get(url).json()] == [data["id"]]
    assert cadre.get(f"{CASES}/{case.public_id}").json()["attachments"][0]["url"] == data["url"]
    assert data["url"] == f"/api/v1/procedures/attachments/{data['id']}"
    download = login("township_admin_a").get(data["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 test"  # type: ignore[attr-defined]
    assert download["Content-Type"] == "application/pdf"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in download["Content-Disposition"]
    assert len(audited("attachment", case)) == 1


def test_a_download_outside_the_area_answers_like_a_missing_one(personas, household_a1, data_dir):
    case = open_case(personas, household_a1, "exit")
    response = login("village_cadre_a1").post(
        f"{CASES}/{case.public_id}/attachments", {"file": SimpleUploadedFile("a.pdf", b"%PDF")}
    )
    url = response.json()["url"]
    outside = login("outsider").get(url)
    missing = login("outsider").get(f"/api/v1/procedures/attachments/{uuid.uuid4()}")
    assert outside.status_code == missing.status_code == 404
    assert outside.json() == missing.json()
    assert login("other_county_admin").get(url).status_code == 404
    assert Client().get(url).status_code in {401, 403}
    # The record without its file (lost from the disk) is a 404 too, not a server error.
    for path in stored_files(data_dir):
        path.unlink()
    assert login("village_cadre_a1").get(url).status_code == 404


def test_a_file_too_large_or_of_a_bad_type_is_refused_on_its_field(
    personas, household_a1, data_dir, settings
):
    settings.PROCEDURE_ATTACHMENT_MAX_BYTES = 100
    case = open_case(personas, household_a1, "exit")
    url = f"{CASES}/{case.public_id}/attachments"
    cadre = login("village_cadre_a1")
    response = cadre.post(url, {"file": SimpleUploadedFile("big.pdf", b"x" * 101)})
    assert response.status_code == 400 and list(response.json()) == ["file"]
    assert "MB" in response.json()["file"][0]
    response = cadre.post(url, {"file": SimpleUploadedFile("tool.exe", b"MZ")})
    assert response.status_code == 400 and ".exe" in response.json()["file"][0]
    response = cadre.post(url, {})
    assert response.status_code == 400 and list(response.json()) == ["file"]
    response = cadre.post(url, {"file": "not a file"}, content_type="application/json")
    assert response.status_code == 415
    assert not Attachment.objects.exists() and stored_files(data_dir) == []
    assert not audited("attachment", case)


def test_an_upload_needs_an_editor_and_the_area(personas, household_a1, data_dir):
    case = open_case(personas, household_a1, "exit")
    url = f"{CASES}/{case.public_id}/attachments"
    response = login("leader").post(url, {"file": SimpleUploadedFile("a.pdf", b"%PDF")})
    assert response.status_code == 403 and response.json()["code"] == "wrong_level"
    response = login("outsider").post(url, {"file": SimpleUploadedFile("a.pdf", b"%PDF")})
    assert response.status_code == 404
    assert login("outsider").get(url).status_code == 404
    assert not Attachment.objects.exists() and stored_files(data_dir) == []


# --- The OpenAPI document ----------------------------------------------------------------------


def test_the_schema_documents_the_new_endpoints(personas):
    response = login("leader").get("/api/v1/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "post" in paths["/api/v1/procedures/cases"]
    for path, methods in {
        "/api/v1/procedures/cases/{case_id}/comments": {"get", "post"},
        "/api/v1/procedures/cases/{case_id}/objections": {"get", "post"},
        "/api/v1/procedures/cases/{case_id}/objections/resolve": {"post"},
        "/api/v1/procedures/cases/{case_id}/attachments": {"get", "post"},
        "/api/v1/procedures/attachments/{attachment_id}": {"get"},
    }.items():
        assert methods <= set(paths[path]), path
    upload = paths["/api/v1/procedures/cases/{case_id}/attachments"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"201", "400", "403", "404"} <= set(upload["responses"])
    assert not any(p.endswith("/") for p in paths if p.startswith("/api/v1/procedures"))
