"""The web interface in a real browser: Debian's Chromium driven by Playwright.

The browser is the system's ``/usr/bin/chromium``; Playwright never downloads one. Every
request must stay on the test server: the intranet has no internet, so no CDN and no font
service may be needed.
"""

from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from conftest import PASSWORD
from fupin.core.audit import ChangeSource
from fupin.registry.services import record_save
from fupin.registry.tests.factories import MemberDataFactory, RecordDataFactory, register_household

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# The marks of every browser test module: run with the others, skipped without chromium.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"
    ),
]
pytestmark = BROWSER_MARKS


@pytest.fixture
def village_data(transactional_db: None, personas: dict[str, Any]) -> None:
    cadre = personas["village_cadre_a1"]
    household = register_household(
        cadre,
        household_no="A1-0001",
        identified_year=2016,
        members=[MemberDataFactory(name="王建国", relation="head")],
    )
    register_household(
        cadre, household_no="A1-0002", members=[MemberDataFactory(name="张伟", relation="head")]
    )
    register_household(
        personas["outsider"],
        division_code="371502002201",
        household_no="B1-0001",
        members=[MemberDataFactory(name="王建军", relation="head")],
    )
    record_save(
        actor=cadre,
        source=ChangeSource.command("test"),
        household=household,
        data=RecordDataFactory(
            survey_year=2020, household_size=1, wage_income=Decimal("9000.00"), housing_grade="A"
        ),
    )


def test_village_cadre_finds_a_household_and_sees_before_and_after(
    live_server: Any, village_data: None, tmp_path: Path
) -> None:
    # All database work is done above: Playwright's sync API runs an event loop in this
    # thread, where Django refuses database access.
    from playwright.sync_api import sync_playwright

    base = live_server.url.replace("localhost", "127.0.0.1")
    requested: list[str] = []
    problems: list[str] = []
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

            page.goto(base + "/households/")
            assert "/accounts/login/" in page.url
            page.fill("#id_username", "village_cadre_a1")
            page.fill("#id_password", PASSWORD)
            page.get_by_role("button", name="登录").click()
            page.wait_for_url(base + "/households/")
            assert page.locator("table.households tbody tr").count() == 2
            assert "B1-0001" not in page.content()
            page.screenshot(path=str(tmp_path / "household-list.png"), full_page=True)

            # Typing filters the list in place (htmx) and keeps the address shareable.
            page.fill("#id_q", "王建国")
            page.wait_for_url("**q=*")
            page.wait_for_function(
                "document.querySelectorAll('table.households tbody tr').length === 1"
            )
            row = page.locator("table.households tbody tr")
            assert "王建国" in row.inner_text()

            row.get_by_role("link", name="A1-0001").click()
            page.wait_for_url(base + "/households/A1-0001/")
            compare = page.locator("#before-after")
            assert compare.is_visible()
            text = compare.inner_text()
            assert "脱贫前后对照" in text
            assert "2016（首次）" in text and "2020（最新）" in text
            assert "9,000.00" in text and "+7,000.00" in text
            page.screenshot(path=str(tmp_path / "household-page.png"), full_page=True)
            context.close()
        finally:
            browser.close()

    assert requested
    outside = [url for url in requested if urlsplit(url).hostname != "127.0.0.1"]
    assert outside == []
    assert any(url.endswith("/static/django_htmx/htmx-2.min.js") for url in requested)
    assert problems == []  # no script error and no content-security-policy violation
