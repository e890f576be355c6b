"""The exchange pages: import and export forms, the job page with its progress and report,
downloads, the jobs list, and who may do what."""

import hashlib
import re

import pytest
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD, VILLAGE_A1
from fupin.exchange.models import Job
from fupin.exchange.services import export_job_create, import_job_create
from fupin.exchange.tests.job_helpers import (
    data_path,
    finished_import,
    run_queued_jobs,
    upload,
)

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("exchange:import")
EXPORT_URL = reverse("exchange:export")


@pytest.fixture(autouse=True)
def _own_data_folder(settings, tmp_path):
    settings.JOBS_AUTOSTART = False
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


def client_for(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def job_url(job: Job, name: str = "exchange:job-detail") -> str:
    return reverse(name, kwargs={"job_id": job.public_id})


def import_job(actor, name="a1.xlsx", **kwargs) -> Job:
    return import_job_create(actor=actor, files=[upload(name)], **kwargs)


# --- Import page -------------------------------------------------------------------------------


def test_import_page_is_for_roles_that_edit_households(personas):
    assert client_for("village_cadre_a1").get(IMPORT_URL).status_code == 200
    for username in ("leader", "auditor", "department_user"):
        assert client_for(username).get(IMPORT_URL).status_code == 403
    assert Client().get(IMPORT_URL).status_code == 302


def test_uploading_a_workbook_queues_an_import_and_opens_its_page(personas):
    content = b"PK\x03\x04 workbook bytes"
    response = client_for("village_cadre_a1").post(
        IMPORT_URL, {"mode": "partial", "dry_run": "on", "file": upload("村 A1.xlsx", content)}
    )
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == job_url(job)
    assert job.kind == Job.Kind.IMPORT and job.status == Job.Status.QUEUED
    assert job.params == {"mode": "partial", "dry_run": True, "source": "web"}
    assert job.file_name == "村 A1.xlsx" and job.file_size == len(content)
    assert job.file_sha256 == hashlib.sha256(content).hexdigest()
    stored = data_path(job.file_path)
    assert stored.name == "package.xlsx" and stored.read_bytes() == content
    assert stored.stat().st_mode & 0o077 == 0
    assert job.division_path.endswith(f"/{VILLAGE_A1}/")


def test_two_csv_files_are_kept_together_as_a_folder_package(personas):
    client_for("township_admin_a").post(
        IMPORT_URL,
        {"mode": "strict", "file": [upload("members.csv", b"m"), upload("Households.CSV", b"h")]},
    )
    job = Job.objects.get()
    folder = data_path(job.file_path)
    assert folder.is_dir() and sorted(p.name for p in folder.iterdir()) == [
        "households.csv",
        "members.csv",
    ]
    assert job.file_sha256 == hashlib.sha256(b"hm").hexdigest() and job.file_size == 2


@pytest.mark.parametrize(
    "files",
    [
        [],
        [upload("a1.pdf")],
        [upload("a1.csv")],
        [upload("households.csv"), upload("other.csv")],
        [upload("a1.xlsx"), upload("a2.xlsx")],
        [upload("a1.xlsx", b"")],
    ],
    ids=["none", "pdf", "one-csv", "wrong-pair", "two-workbooks", "empty"],
)
def test_wrong_uploads_are_refused_at_the_file_field(personas, files):
    response = client_for("village_cadre_a1").post(IMPORT_URL, {"mode": "strict", "file": files})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"file"}
    assert not Job.objects.exists()
    assert not data_path("uploads").exists() or not any(data_path("uploads").iterdir())


def test_an_upload_over_the_limit_is_cut_off_and_refused(personas, settings):
    settings.UPLOAD_MAX_BYTES = 4096
    response = client_for("village_cadre_a1").post(
        IMPORT_URL, {"mode": "strict", "file": upload("big.xlsx", b"x" * 300_000)}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors.keys() == {"file"}
    assert form.data["mode"] == "strict"  # the fields before the file were read
    assert not Job.objects.exists()


def test_the_import_form_checks_csrf(personas):
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="village_cadre_a1", password=PASSWORD)
    response = client.post(IMPORT_URL, {"mode": "strict", "file": upload("a1.xlsx")})
    assert response.status_code == 403 and not Job.objects.exists()


# --- Job page ----------------------------------------------------------------------------------


def test_a_queued_job_page_polls_its_progress(personas):
    job = import_job(personas["village_cadre_a1"])
    response = client_for("village_cadre_a1").get(job_url(job))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'hx-get="{job_url(job, "exchange:job-progress")}"' in html
    assert 'hx-trigger="every 1s"' in html and "<progress" in html
    assert 'data-status="queued"' in html


def test_the_progress_box_shows_the_stage_and_counts(personas, django_assert_max_num_queries):
    job = import_job(personas["village_cadre_a1"])
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, stage="validate", progress_done=250, progress_total=1000
    )
    client = client_for("village_cadre_a1")
    client.get(job_url(job, "exchange:job-progress"), HTTP_HX_REQUEST="true")
    # Polled every second: session, user, role scope and the job (without its report), no more.
    with django_assert_max_num_queries(4):
        response = client.get(job_url(job, "exchange:job-progress"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'max="1000" value="250"' in html and "25%" in html
    assert 'data-status="running"' in html and "hx-get" in html


def test_the_progress_poll_reloads_the_page_once_the_job_is_done(personas):
    job = finished_import(import_job(personas["village_cadre_a1"]))
    client = client_for("village_cadre_a1")
    polled = client.get(job_url(job, "exchange:job-progress"), HTTP_HX_REQUEST="true")
    assert polled.status_code == 200 and polled["HX-Refresh"] == "true"
    page = client.get(job_url(job)).content.decode()
    assert "hx-trigger" not in page and 'data-status="done"' in page


def test_the_report_pages_ten_thousand_errors_fifty_at_a_time(
    personas, django_assert_max_num_queries
):
    job = finished_import(import_job(personas["village_cadre_a1"]), errors=10_000, warnings=3)
    client = client_for("village_cadre_a1")
    with django_assert_max_num_queries(12):
        response = client.get(job_url(job) + "?page=200")
    html = response.content.decode()
    rows = re.findall(r"<td class=\"mono\">required</td>", html)
    assert len(rows) == 50
    assert "msg-9950" in html and "msg-9999" in html and "msg-9949" not in html
    assert 'href="?page=199#errors"' in html and 'href="?page=201' not in html
    assert html.count("unknown_column") == 3
    assert job_url(job, "exchange:job-error-workbook") in html
    first = client.get(job_url(job) + "?page=1").content.decode()
    assert len(re.findall(r"<td class=\"mono\">required</td>", first)) == 50
    assert "msg-0<" in first and "msg-50<" not in first


def test_report_messages_follow_the_interface_language(personas):
    job = finished_import(import_job(personas["village_cadre_a1"]), errors=0)
    assert job.report is not None
    Job.objects.filter(pk=job.pk).update(
        report={
            **job.report,
            "ok": False,
            "errors": [
                {
                    "sheet": "户信息",
                    "row": 3,
                    "column": "家庭人口",
                    "code": "size_mismatch",
                    "message": "中文",
                    "detail": "应为 3，实为 4",
                }
            ],
        }
    )
    client = client_for("village_cadre_a1")
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get(job_url(job)).content.decode()
    assert "The household size differs from the number of member rows." in html
    assert "应为 3，实为 4" in html


def test_the_error_workbook_downloads_through_the_access_check(personas):
    job = finished_import(import_job(personas["village_cadre_a1"], name="村 A1.xlsx"), errors=2)
    url = job_url(job, "exchange:job-error-workbook")
    response = client_for("village_cadre_a1").get(url)
    assert response.status_code == 200 and isinstance(response, FileResponse)
    assert b"".join(response.streaming_content) == b"PK\x03\x04 error workbook"
    assert "attachment" in response["Content-Disposition"]
    assert "spreadsheetml" in response["Content-Type"]
    assert client_for("outsider").get(url).status_code == 404
    assert client_for("leader").get(url).status_code == 404


def test_a_failed_job_shows_why(personas):
    job = import_job(personas["village_cadre_a1"])
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.FAILED, error={"code": "damaged", "detail": "", "file": ""}
    )
    html = client_for("village_cadre_a1").get(job_url(job)).content.decode()
    assert 'role="alert"' in html and str(job.public_id) in html


# --- Export page -------------------------------------------------------------------------------


def test_an_export_runs_and_downloads(personas, household_a1, household_b1):
    client = client_for("county_admin")
    assert client.get(EXPORT_URL).status_code == 200
    response = client.post(EXPORT_URL, {"format": "csv", "division": "", "year": "", "since": ""})
    job = Job.objects.get()
    assert response["Location"] == job_url(job)
    assert job.params["masked"] is False and job.params["format"] == "csv"
    run_queued_jobs()
    html = client.get(job_url(job)).content.decode()
    assert job_url(job, "exchange:job-download") in html
    download = client.get(job_url(job, "exchange:job-download"))
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert isinstance(download, FileResponse)
    assert b"".join(download.streaming_content)[:2] == b"PK"
    assert (
        client_for("village_cadre_a1").get(job_url(job, "exchange:job-download")).status_code == 404
    )


def test_the_export_division_must_be_in_the_actor_area(personas):
    client = client_for("township_admin_a")
    response = client.post(EXPORT_URL, {"format": "xlsx", "division": "371502002201"})
    assert response.status_code == 200 and "division" in response.context["form"].errors
    assert not Job.objects.exists()
    client.post(EXPORT_URL, {"format": "xlsx", "division": VILLAGE_A1, "year": "2015"})
    job = Job.objects.get()
    assert job.params["division_code"] == VILLAGE_A1 and job.params["year"] == 2015
    assert job.division_path.endswith(f"/{VILLAGE_A1}/")


def test_masking_is_forced_for_roles_without_the_personal_data_right(personas):
    client = client_for("leader")
    form = client.get(EXPORT_URL).context["form"]
    assert form.masked_forced and form.fields["masked"].disabled
    client.post(EXPORT_URL, {"format": "xlsx"})  # the box cannot be unticked
    assert Job.objects.get().params["masked"] is True


def test_asking_for_an_unmasked_export_without_the_right_is_refused(personas):
    with pytest.raises(ValidationError) as caught:
        export_job_create(actor=personas["leader"], masked=False)
    assert "masked" in caught.value.message_dict


# --- Jobs list ---------------------------------------------------------------------------------


def test_the_jobs_list_shows_own_jobs_and_administrators_their_subtree(personas):
    import_job(personas["village_cadre_a1"], name="a1-package.xlsx")
    import_job(personas["outsider"], name="b1-package.xlsx")
    export_job_create(actor=personas["leader"])

    def listed(username: str) -> set[str]:
        html = client_for(username).get(reverse("exchange:job-list")).content.decode()
        return {name for name in ("a1-package", "b1-package", ">leader<") if name in html}

    assert listed("village_cadre_a1") == {"a1-package"}
    assert listed("outsider") == {"b1-package"}
    assert listed("township_admin_a") == {"a1-package"}
    assert listed("county_admin") == {"a1-package", "b1-package"}
    assert listed("city_admin") == {"a1-package", "b1-package", ">leader<"}
    assert listed("other_county_admin") == set()
    assert listed("leader") == {">leader<"}
    assert listed("auditor") == set()


def test_another_persons_job_page_answers_like_a_missing_one(personas):
    job = import_job(personas["outsider"])
    client = client_for("village_cadre_a1")
    missing = "00000000-0000-4000-8000-000000000001"
    for name in ("exchange:job-detail", "exchange:job-progress"):
        assert client.get(job_url(job, name)).status_code == 404
        assert client.get(reverse(name, kwargs={"job_id": missing})).status_code == 404
    assert client.get(job_url(job, "exchange:job-download")).status_code == 404


def test_the_nav_links_to_imports_and_exports(personas):
    html = client_for("leader").get(reverse("registry:household-list")).content.decode()
    assert reverse("exchange:job-list") in html
