"""API v1 of the exchange: /api/v1/imports and /api/v1/exports, their jobs and downloads.

The import engine's rules are tested with the engine; here the wiring: who may queue what, what
the job answers, scope (a township imports only into its subtree: the engine's errors reach the
report), and 404 for a job that is not the actor's."""

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from conftest import VILLAGE_A1, VILLAGE_B1
from fupin.accounts.services import token_create
from fupin.core.audit import ChangeSource
from fupin.exchange.models import Job
from fupin.exchange.services import export_job_create, import_job_create
from fupin.exchange.tests.job_helpers import finished_import, run_queued_jobs, upload
from fupin.registry.models import Household

pytestmark = pytest.mark.django_db

IMPORTS = "/api/v1/imports"
EXPORTS = "/api/v1/exports"
MISSING = "00000000-0000-4000-8000-000000000001"


@pytest.fixture(autouse=True)
def _own_data_folder(settings, tmp_path):
    settings.JOBS_AUTOSTART = False
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


@pytest.fixture
def api(personas):
    def client(name: str) -> APIClient:
        raw = token_create(actor=None, source=ChangeSource.command("test"), user=personas[name])
        api_client = APIClient()
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
        return api_client

    return client


def post_import(client: APIClient, files: list[Any], **data: Any) -> Any:
    return client.post(IMPORTS, {"file": files, **data}, format="multipart")


# --- Imports -----------------------------------------------------------------------------------


def test_posting_a_package_queues_an_import_job(api):
    response = post_import(api("village_cadre_a1"), [upload("村.xlsx")], mode="partial")
    assert response.status_code == 202
    body = response.json()
    job = Job.objects.get()
    assert body["id"] == str(job.public_id) and body["kind"] == "import"
    assert body["status"] == "queued" and body["mode"] == "partial" and body["dry_run"] is False
    assert body["file_name"] == "村.xlsx" and body["report"] is None
    assert body["error_workbook"] is None and body["error"] is None
    assert body["progress"] == {"stage": "", "stage_label": "", "done": 0, "total": 0}
    assert response["Location"] == f"{IMPORTS}/{job.public_id}"
    assert body["url"].endswith(response["Location"])
    assert job.params["source"] == "api"


def test_two_csv_files_make_one_package(api):
    response = post_import(
        api("village_cadre_a1"), [upload("households.csv", b"h"), upload("members.csv", b"m")]
    )
    assert response.status_code == 202
    assert Job.objects.get().file_name == "households.csv + members.csv"


@pytest.mark.parametrize(
    ("files", "data", "field"),
    [
        ([], {}, "file"),
        ([upload("a.pdf")], {}, "file"),
        ([upload("a.xlsx"), upload("b.xlsx")], {}, "file"),
        ([upload("a.xlsx")], {"mode": "lenient"}, "mode"),
        ([upload("a.xlsx")], {"dry_run": "perhaps"}, "dry_run"),
    ],
    ids=["no-file", "pdf", "two-workbooks", "bad-mode", "bad-dry-run"],
)
def test_bad_import_requests_get_400_with_field_errors(api, files, data, field):
    response = post_import(api("village_cadre_a1"), files, **data)
    assert response.status_code == 400
    assert field in response.json()
    assert all(isinstance(m, str) for m in response.json()[field])
    assert not Job.objects.exists()


def test_field_errors_are_in_chinese_by_default_and_english_on_request(api):
    client = api("village_cadre_a1")
    chinese = post_import(client, [upload("a.pdf")]).json()["file"][0]
    english = client.post(
        IMPORTS, {"file": [upload("a.pdf")]}, format="multipart", HTTP_ACCEPT_LANGUAGE="en"
    ).json()["file"][0]
    assert english.startswith("Upload one XLSX") and chinese


def test_an_upload_over_the_limit_is_refused(api, settings):
    settings.UPLOAD_MAX_BYTES = 4096
    response = post_import(api("village_cadre_a1"), [upload("big.xlsx", b"x" * 100_000)])
    assert response.status_code == 400 and "file" in response.json()
    assert not Job.objects.exists()


def test_roles_that_do_not_edit_households_may_not_import(api):
    for name in ("leader", "auditor", "department_user"):
        response = post_import(api(name), [upload("a.xlsx")])
        assert response.status_code == 403, name
    assert APIClient().post(IMPORTS, {}, format="multipart").status_code == 401


def test_an_import_job_answers_its_owner_and_404_to_others(api, personas):
    job = import_job_create(actor=personas["village_cadre_a1"], files=[upload("a.xlsx")])
    url = f"{IMPORTS}/{job.public_id}"
    assert api("village_cadre_a1").get(url).status_code == 200
    outsider = api("outsider")
    other = outsider.get(url)
    missing = outsider.get(f"{IMPORTS}/{MISSING}")
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()
    assert outsider.get(f"{IMPORTS}/not-a-uuid").status_code == 404
    # An import's id is no export.
    assert api("village_cadre_a1").get(f"{EXPORTS}/{job.public_id}").status_code == 404
    # The township's administrator sees the jobs of its villages.
    assert api("township_admin_a").get(url).status_code == 200


def test_a_done_import_answers_its_report_and_error_workbook(api, personas):
    job = import_job_create(actor=personas["village_cadre_a1"], files=[upload("a.xlsx")])
    finished_import(job, errors=3, warnings=1)
    client = api("village_cadre_a1")
    body = client.get(f"{IMPORTS}/{job.public_id}").json()
    assert body["status"] == "done"
    report = body["report"]
    assert report["ok"] is False and len(report["errors"]) == 3 and len(report["warnings"]) == 1
    assert set(report["errors"][0]) == {"sheet", "row", "column", "code", "message"}
    assert body["error_workbook"].endswith(f"{IMPORTS}/{job.public_id}/error-workbook")
    workbook = client.get(body["error_workbook"], HTTP_ACCEPT="*/*")
    assert workbook.status_code == 200 and "spreadsheetml" in workbook["Content-Type"]
    assert b"".join(workbook.streaming_content).startswith(b"PK")  # read to the end: closed
    asked = client.get(
        body["error_workbook"],
        HTTP_ACCEPT="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    assert asked.status_code == 200
    assert b"".join(asked.streaming_content).startswith(b"PK")
    assert api("outsider").get(body["error_workbook"]).status_code == 404


def test_a_failed_import_answers_the_reason(api, personas):
    job = import_job_create(actor=personas["village_cadre_a1"], files=[upload("a.xlsx")])
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.FAILED, error={"code": "damaged", "detail": "", "file": ""}
    )
    body = api("village_cadre_a1").get(f"{IMPORTS}/{job.public_id}").json()
    assert body["status"] == "failed" and body["error"]["code"] == "damaged"
    assert body["error"]["message"]


# --- Exports -----------------------------------------------------------------------------------


def test_an_export_is_queued_run_and_downloaded(api, household_a1, household_b1):
    client = api("county_admin")
    response = client.post(EXPORTS, {"format": "csv", "year": 2015}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and body["format"] == "csv" and body["year"] == 2015
    assert body["masked"] is False and body["download"] is None and body["division"] == ""
    run_queued_jobs()
    done = client.get(response["Location"]).json()
    assert done["status"] == "done" and done["result"] == {"households": 2, "members": 3}
    assert done["progress"]["stage"] == "members"
    download = client.get(done["download"])
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert sorted(archive.namelist()) == ["households.csv", "members.csv"]
    assert api("village_cadre_a1").get(done["download"]).status_code == 404


def test_an_export_division_outside_the_area_is_a_field_error(api):
    client = api("township_admin_a")
    outside = client.post(EXPORTS, {"division": VILLAGE_B1}, format="json")
    unknown = client.post(EXPORTS, {"division": "379999999999"}, format="json")
    assert outside.status_code == unknown.status_code == 400
    assert outside.json() == unknown.json() and "division" in outside.json()
    assert client.post(EXPORTS, {"division": VILLAGE_A1}, format="json").status_code == 202


def test_masking_follows_the_personal_data_right(api):
    leader = api("leader")
    assert leader.post(EXPORTS, {"masked": False}, format="json").status_code == 400
    assert leader.post(EXPORTS, {}, format="json").json()["masked"] is True
    assert api("county_admin").post(EXPORTS, {"masked": True}, format="json").json()["masked"]


@pytest.mark.parametrize(
    ("data", "field"),
    [({"format": "pdf"}, "format"), ({"year": 1999}, "year"), ({"since": "yesterday"}, "since")],
)
def test_bad_export_requests_get_400(api, data, field):
    response = api("county_admin").post(EXPORTS, data, format="json")
    assert response.status_code == 400 and field in response.json()


def test_an_export_job_is_404_to_others(api, personas):
    job = export_job_create(actor=personas["village_cadre_a1"])
    for name in ("outsider", "other_county_admin", "leader"):
        assert api(name).get(f"{EXPORTS}/{job.public_id}").status_code == 404
        assert api(name).get(f"{EXPORTS}/{job.public_id}/download").status_code == 404
    assert api("county_admin").get(f"{EXPORTS}/{job.public_id}").status_code == 200


def test_the_schema_documents_the_exchange_endpoints(api):
    schema = APIClient().get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = schema.json()["paths"] if schema["Content-Type"].endswith("json") else None
    text = schema.content.decode()
    for path in (
        "/api/v1/imports",
        "/api/v1/imports/{job_id}",
        "/api/v1/exports/{job_id}/download",
    ):
        assert path in (paths or text)


# --- With the import engine: scope reaches the report --------------------------------------------


def package_of_two_villages(folder: Path) -> Path:
    from fupin.exchange.tests.package_builders import valid_rows, write_xlsx_package

    households, members = valid_rows(2, village_code=VILLAGE_A1)
    other_households, other_members = valid_rows(1, village_code=VILLAGE_B1, seed=7, start=50)
    return write_xlsx_package(
        folder / "two-villages.xlsx", households + other_households, members + other_members
    )


def run_import(client: APIClient, path: Path, mode: str) -> dict[str, Any]:
    with path.open("rb") as handle:
        response = client.post(IMPORTS, {"file": [handle], "mode": mode}, format="multipart")
    assert response.status_code == 202, response.json()
    run_queued_jobs()
    body: dict[str, Any] = client.get(response["Location"]).json()
    return body


def test_a_township_imports_only_into_its_subtree(api, tmp_path):
    package = package_of_two_villages(tmp_path)
    strict = run_import(api("township_admin_a"), package, "strict")
    assert strict["status"] == "done", strict["error"]
    assert strict["report"]["ok"] is False
    # Township B is invisible to township A's administrator: its division reads as unknown.
    assert {(e["code"], e.get("value")) for e in strict["report"]["errors"]} == {
        ("unknown_division", VILLAGE_B1)
    }
    assert not Household.objects.exists()
    assert strict["error_workbook"]

    partial = run_import(api("township_admin_a"), package, "partial")
    assert partial["report"]["households"]["created"] == 2
    assert partial["report"]["households"]["rejected"] == 1
    assert set(Household.objects.values_list("division__code", flat=True)) == {VILLAGE_A1}

    county = run_import(api("county_admin"), package, "strict")
    assert county["report"]["ok"] is True
    assert county["report"]["households"] == {
        "created": 1,
        "updated": 0,
        "unchanged": 2,
        "rejected": 0,
    }


def test_an_unreadable_package_fails_the_job_with_the_reason(api):
    response = post_import(api("village_cadre_a1"), [upload("broken.xlsx", b"PK\x03\x04 broken")])
    run_queued_jobs()
    body = api("village_cadre_a1").get(response["Location"]).json()
    assert body["status"] == "failed"
    assert body["error"]["code"] in {"damaged", "unknown_container"}
    assert body["error"]["message"]
