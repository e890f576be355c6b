"""A public notice in a real browser (Debian's Chromium driven by Playwright, as in
test_browser.py): from a case on its first publicity to the village's notice, issued, printed
(print media: only the notice shows) and downloaded as a PDF."""

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from conftest import PASSWORD
from tests.test_browser import BROWSER_MARKS, CHROMIUM, CHROMIUM_ARGS

pytestmark = BROWSER_MARKS


@pytest.fixture
def case_on_publicity(transactional_db: None, personas: dict[str, Any]) -> Any:
    from fupin.procedures.tests.helpers import advance, open_case
    from fupin.registry.tests.factories import MemberDataFactory, register_household

    household = register_household(
        personas["village_cadre_a1"],
        household_no="A1-0001",
        members=[MemberDataFactory(name="王建国", relation="head")],
    )
    case = open_case(personas, household, "identification")
    return advance(personas, case, until="first_publicity")


def test_cadre_issues_prints_and_downloads_the_village_notice(
    live_server: Any, case_on_publicity: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from fupin.registry.models import Member

    full_id = Member.objects.get(household__household_no="A1-0001", relation="head").id_number
    base = live_server.url.replace("localhost", "127.0.0.1")
    requested: list[str] = []
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
            context.on("request", lambda request: requested.append(request.url))
            page = context.new_page()
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "response",
                lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            case_url = f"{base}/procedures/{case_on_publicity.public_id}/"
            page.goto(case_url)
            page.fill("#id_username", "village_cadre_a1")
            page.fill("#id_password", PASSWORD)
            page.get_by_role("button", name="登录").click()
            page.wait_for_url(case_url)

            page.get_by_role("link", name="本村该环节的公示名单").click()
            page.wait_for_url("**/procedures/notices/new/**")
            sheet = page.locator("article.notice-sheet")
            expect(sheet).to_contain_text("王建国")
            expect(sheet).to_contain_text(full_id[:4] + "*" * 10 + full_id[-4:])
            expect(page.locator(".notice-draft-mark")).to_be_visible()
            page.get_by_role("button", name="发布公示").click()
            page.wait_for_url("**/procedures/notices/*/")

            # Printed: the notice alone, without the site's header and the page's buttons.
            page.emulate_media(media="print")
            expect(page.locator(".site-header")).to_be_hidden()
            expect(page.locator(".notice-tools")).to_be_hidden()
            expect(sheet).to_be_visible()
            expect(sheet.locator("tbody tr")).to_have_count(1)
            expect(page.locator(".notice-draft-mark")).to_have_count(0)
            assert full_id not in page.content()
            page.screenshot(path=str(tmp_path / "notice-print.png"), full_page=True)
            page.emulate_media(media="screen")

            pdf_link = page.get_by_role("link", name="PDF")
            response = page.request.get(base + pdf_link.get_attribute("href"))
            assert response.status == 200
            assert response.headers["content-type"] == "application/pdf"
            assert response.body().startswith(b"%PDF")
        finally:
            browser.close()
    assert not problems, problems
    assert all(urlsplit(url).netloc == urlsplit(base).netloc for url in requested), requested
