"""The import page in a real browser (Debian's Chromium driven by Playwright, as in
test_browser.py): upload a small package, watch the job's progress bar, then read the report.

The job worker is a thread started by the test once the job page shows the queued job, so the
progress box is seen before the report replaces it."""

import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connections

from conftest import PASSWORD, VILLAGE_A1, VILLAGE_B1
from fupin.exchange.jobs import Worker
from tests.test_browser import BROWSER_MARKS, CHROMIUM, CHROMIUM_ARGS

pytestmark = BROWSER_MARKS


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """Two households of village A1 and one of village B1 (outside the cadre's area)."""
    from fupin.exchange.tests.package_builders import valid_rows, write_xlsx_package

    households, members = valid_rows(2, village_code=VILLAGE_A1)
    other_households, other_members = valid_rows(1, village_code=VILLAGE_B1, seed=7, start=50)
    return write_xlsx_package(
        tmp_path / "一村.xlsx", households + other_households, members + other_members
    )


@pytest.fixture
def job_settings(settings: Any, tmp_path: Path) -> None:
    settings.JOBS_AUTOSTART = False
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


class WorkerThread:
    def __init__(self) -> None:
        self.worker = Worker(tag="browser", poll=0.1)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.worker.run()
        finally:
            connections.close_all()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.worker.stop.set()
        self.thread.join(timeout=60)


def test_cadre_uploads_a_package_and_reads_the_report(
    live_server: Any,
    transactional_db: None,
    personas: dict[str, Any],
    job_settings: None,
    package: Path,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base = live_server.url.replace("localhost", "127.0.0.1")
    requested: list[str] = []
    problems: list[str] = []
    worker = WorkerThread()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
            context.on("request", lambda request: requested.append(request.url))
            page = context.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "response",
                lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )

            page.goto(base + "/exchange/import/")
            page.fill("#id_username", "village_cadre_a1")
            page.fill("#id_password", PASSWORD)
            page.get_by_role("button", name="登录").click()
            page.wait_for_url(base + "/exchange/import/")

            page.check("input[name=mode][value=partial]")
            page.set_input_files("#id_file", str(package))
            page.locator("form.import-form button[type=submit]").click()
            page.wait_for_url("**/exchange/jobs/*/")

            # Queued: the progress bar is there and polls.
            status = page.locator("#job-status")
            expect(status).to_have_attribute("data-status", "queued")
            expect(page.locator("#job-status progress")).to_be_visible()
            page.screenshot(path=str(tmp_path / "import-queued.png"), full_page=True)

            worker.start()
            report = page.locator("#report")
            expect(report).to_be_visible(timeout=60_000)
            expect(page.locator("#job-status")).to_have_attribute("data-status", "done")
            counts = page.locator("table.counts").inner_text()
            assert "2" in counts and "1" in counts
            errors = page.locator("table.issues.errors tbody tr")
            assert errors.count() >= 1
            assert "unknown_division" in page.locator("table.issues.errors").inner_text()
            expect(page.locator("#error-workbook")).to_be_visible()
            page.screenshot(path=str(tmp_path / "import-report.png"), full_page=True)

            with page.expect_download() as download_info:
                page.locator("#error-workbook").click()
            download = download_info.value
            saved = tmp_path / download.suggested_filename
            download.save_as(saved)
            assert saved.read_bytes()[:2] == b"PK"
            context.close()
        finally:
            worker.stop()
            browser.close()

    outside = [url for url in requested if urlsplit(url).hostname != "127.0.0.1"]
    assert outside == []
    assert any("/progress/" in url for url in requested)  # htmx polled the status box
    assert problems == []  # no script error and no content-security-policy violation
