import datetime as dt
import io
import re
from html import escape
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from conftest import PASSWORD, VILLAGE_A1, VILLAGE_A2
from fupin.core.models import AuditEvent
from fupin.procedures.models import Case, PublicNotice, Transition
from fupin.procedures.notices import (
    NoticeRequest,
    PdfFontMissing,
    notice_draft,
    notice_issue,
    notice_pdf,
    notice_request,
    notice_rows,
    pdf_font_path,
)
from fupin.procedures.services import NotAllowed, publicity_days
from fupin.procedures.tests.helpers import SOURCE, advance, open_case
from fupin.registry.models import Household, Member

pytestmark = pytest.mark.django_db

FIRST = {"procedure": "identification", "step": "first_publicity"}


def _cjk_font_missing() -> bool:
    try:
        pdf_font_path()
    except PdfFontMissing:
        return True
    return False


# Like the browser tests without chromium: the PDF tests need a CJK font on the machine
# (Debian's fonts-wqy-microhei; .ci/run installs it). The refusal without one is tested below.
needs_cjk_font = pytest.mark.skipif(
    _cjk_font_missing(), reason="no CJK font (install fonts-wqy-microhei or set FUPIN_PDF_FONT)"
)


def login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def register(personas, number: str, head: str, village: str = VILLAGE_A1) -> Household:
    from fupin.registry.tests.factories import MemberDataFactory, register_household

    actor = personas["village_cadre_a1" if village == VILLAGE_A1 else "township_admin_a"]
    return register_household(
        actor,
        division_code=village,
        household_no=number,
        members=[MemberDataFactory(name=head, relation="head")],
    )


def on_first_publicity(personas, household) -> Case:
    """The household's identification case, on its first publicity (by its village's cadre)."""
    if household.division.code == VILLAGE_A2:
        from conftest import _make
        from fupin.accounts.models import User
        from fupin.accounts.roles import Role

        cadre = User.objects.filter(username="village_cadre_a2").first() or _make(
            "village_cadre_a2", Role.VILLAGE_CADRE, VILLAGE_A2
        )
        personas = {**personas, "village_cadre_a1": cadre}
    case = open_case(personas, household, "identification")
    return advance(personas, case, until="first_publicity")


def head_id(household: Household) -> str:
    return Member.objects.get(household=household, relation="head", is_active=True).id_number


def ask(personas, user="village_cadre_a1", village=VILLAGE_A1, **kw) -> NoticeRequest:
    return notice_request(personas[user], village=village, **(FIRST | kw))


def issue(personas, user="village_cadre_a1", village=VILLAGE_A1, **kw) -> PublicNotice:
    where = kw.pop("where_to_object", "")
    return notice_issue(
        actor=personas[user],
        source=SOURCE,
        request=ask(personas, user, village, **kw),
        where_to_object=where,
    )


def issue_form() -> str:
    return f'method="post" action="{reverse("procedures:notice-new")}"'


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def embedded_fonts(data: bytes) -> list[tuple[str, bool]]:
    """(base font name, has /FontFile2) of every font of every page."""
    found = []
    for page in PdfReader(io.BytesIO(data)).pages:
        resources = page["/Resources"].get_object()
        assert isinstance(resources, DictionaryObject)
        fonts = resources["/Font"].get_object()
        assert isinstance(fonts, DictionaryObject)
        for reference in fonts.values():
            font = reference.get_object()
            descriptor = font.get("/FontDescriptor")
            embedded = descriptor is not None and "/FontFile2" in descriptor.get_object()
            found.append((str(font["/BaseFont"]), embedded))
    return found


# --- Selection ----------------------------------------------------------------------------------


def test_notice_rows_pick_the_village_procedure_and_step(personas, household_a1):
    case = on_first_publicity(personas, household_a1)
    # Not on the step, another procedure, another village: all left out.
    open_case(personas, register(personas, "A1-0002", "张三"), "identification")
    exit_case = advance(
        personas,
        open_case(personas, register(personas, "A1-0003", "李四"), "exit"),
        until="publicity",
    )
    on_first_publicity(personas, register(personas, "A2-0001", "孙五", VILLAGE_A2))

    rows = notice_rows(personas["village_cadre_a1"], ask(personas))

    today = timezone.localdate()
    days = publicity_days(case, case_step(case))
    assert rows == [
        {
            "household_no": "A1-0001",
            "head_name": "王建国",
            "head_id_number": head_id(household_a1)[:4] + "*" * 10 + head_id(household_a1)[-4:],
            "household_size": 2,
            "kind": _("Identification (精准识别)"),
            "start": today.isoformat(),
            "end": (today + dt.timedelta(days=days)).isoformat(),
        }
    ]
    exit_rows = notice_rows(
        personas["village_cadre_a1"], ask(personas, procedure="exit", step="publicity")
    )
    assert [r["household_no"] for r in exit_rows] == ["A1-0003"] and exit_case.state == "publicity"
    # The township administrator sees village A2's households in A2's notice.
    a2 = notice_rows(personas["township_admin_a"], ask(personas, "township_admin_a", VILLAGE_A2))
    assert [r["household_no"] for r in a2] == ["A2-0001"]


def case_step(case: Case):
    from fupin.procedures.definitions import PROCEDURES

    return PROCEDURES[case.procedure].step(case.state)


def test_a_period_selects_the_cases_that_entered_the_step_in_it(personas, household_a1):
    case = on_first_publicity(personas, household_a1)
    month_ago = timezone.now() - dt.timedelta(days=30)
    Transition.objects.filter(case=case, to_state="first_publicity").update(at=month_ago)
    day = timezone.localtime(month_ago).date()
    actor = personas["village_cadre_a1"]

    assert notice_rows(actor, ask(personas, period_start=day, period_end=day))[0]["start"] == (
        day.isoformat()
    )
    today = timezone.localdate()
    assert notice_rows(actor, ask(personas, period_start=today, period_end=today)) == []
    # A case that has moved on since is in its period's notice, not in the notice of now.
    advance(personas, case, until="township_review")
    assert notice_rows(actor, ask(personas)) == []
    rows = notice_rows(actor, ask(personas, period_start=day, period_end=day))
    assert [r["household_no"] for r in rows] == ["A1-0001"]


def test_an_announcement_has_no_end_date(personas, household_a1):
    advance(personas, open_case(personas, household_a1, "exit"), until="announcement")
    request = ask(personas, "township_admin_a", procedure="exit", step="announcement")
    draft = notice_draft(personas["township_admin_a"], request)
    assert draft["kind"] == "announcement" and draft["rows"][0]["end"] == ""
    # An announcement is the township's: the notice is from the township, not the village.
    assert draft["issuing_body"] == "古楼街道"


def test_the_default_where_to_object_names_the_township_and_the_hotline(personas, household_a1):
    on_first_publicity(personas, household_a1)
    draft = notice_draft(personas["village_cadre_a1"], ask(personas))
    assert "古楼街道" in draft["where_to_object"] and "12317" in draft["where_to_object"]
    assert "一村" in draft["title"] and _("第一次公示 (first publicity)") in draft["title"]
    edited = notice_draft(personas["village_cadre_a1"], ask(personas), where_to_object=" 村委会 ")
    assert edited["where_to_object"] == "村委会"


# --- Validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"village": "371502001000"}, "village"),  # a township, not a village
        ({"village": "999999999999"}, "village"),
        ({"village": "371502002201"}, "village"),  # township B: outside the cadre's area
        ({"step": "township_review"}, "step"),  # not made public
        ({"procedure": "nope"}, "step"),
        ({"period_start": dt.date(2016, 5, 2), "period_end": dt.date(2016, 5, 1)}, "period_end"),
        ({"period_start": dt.date(2016, 5, 2)}, "period_end"),
        ({"period_start": dt.date(2015, 1, 1), "period_end": dt.date(2016, 5, 1)}, "period_end"),
    ],
)
def test_bad_notice_input_is_refused_at_its_field(personas, changes, field):
    village = changes.pop("village", VILLAGE_A1)
    with pytest.raises(ValidationError) as error:
        ask(personas, village=village, **changes)
    assert field in error.value.error_dict


def test_issuing_refuses_empty_notices_long_texts_and_readers(personas, household_a1):
    with pytest.raises(ValidationError) as error:
        issue(personas)
    assert "step" in error.value.error_dict
    on_first_publicity(personas, household_a1)
    with pytest.raises(ValidationError) as error:
        issue(personas, where_to_object="异" * 501)
    assert "where_to_object" in error.value.error_dict
    with pytest.raises(NotAllowed):
        issue(personas, "leader")
    with pytest.raises(NotAllowed):  # the city reads but does not issue village notices
        issue(personas, "city_admin")
    assert not PublicNotice.objects.exists()
    assert not AuditEvent.objects.filter(action="procedure.notice_issue").exists()


def test_the_notice_form_shows_errors_and_writes_nothing(personas, household_a1):
    on_first_publicity(personas, household_a1)
    client = login("village_cadre_a1")
    response = client.post(
        reverse("procedures:notice-new"),
        {
            "village": VILLAGE_A1,
            "step": "identification:first_publicity",
            "period_start": "2016-05-02",
            "period_end": "2016-05-01",
        },
    )
    assert response.status_code == 200
    assert _("The period ends before it starts.") in response.content.decode()
    response = client.get(
        reverse("procedures:notice-new"),
        {"village": "371502002201", "step": "identification:first_publicity"},
    )
    assert escape(_("No such village in your area (give a village's 12-digit code).")) in (
        response.content.decode()
    )
    assert not PublicNotice.objects.exists()


# --- Issuing, pages and the PDF -----------------------------------------------------------------


@needs_cjk_font
def test_a_cadre_previews_issues_prints_and_downloads_a_notice(personas, household_a1):
    on_first_publicity(personas, household_a1)
    full_id = head_id(household_a1)
    masked = full_id[:4] + "*" * 10 + full_id[-4:]
    client = login("village_cadre_a1")
    query = {"village": VILLAGE_A1, "step": "identification:first_publicity"}

    preview = client.get(reverse("procedures:notice-new"), query).content.decode()
    assert "王建国" in preview and masked in preview and full_id not in preview
    assert issue_form() in preview and _("DRAFT: not issued") in preview

    response = client.post(
        reverse("procedures:notice-new"), query | {"where_to_object": "村委会 电话 12317"}
    )
    notice = PublicNotice.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "procedures:notice-detail", args=[notice.public_id]
    )
    assert notice.village.code == VILLAGE_A1 and notice.step == "first_publicity"
    assert notice.issued_by == personas["village_cadre_a1"]
    assert full_id not in str(notice.snapshot)

    page = client.get(reverse("procedures:notice-detail", args=[notice.public_id]))
    content = page.content.decode()
    assert page.status_code == 200
    assert notice.title in content and "王建国" in content and masked in content
    assert full_id not in content and "村委会 电话 12317" in content
    assert "@media print" in content and _("DRAFT: not issued") not in content

    pdf = client.get(reverse("procedures:notice-pdf", args=[notice.public_id]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert notice.title in text and "王建国" in text and masked in text
    assert full_id not in text and full_id.encode() not in pdf.content
    assert _("Page %(page)s of %(pages)s") % {"page": 1, "pages": 1} in text
    cjk = [embedded for name, embedded in embedded_fonts(pdf.content) if "WenQuanYi" in name]
    assert cjk and all(cjk)

    event = AuditEvent.objects.get(action="procedure.notice_issue")
    assert event.entity_key == str(notice.public_id)
    assert event.after["households"] == ["A1-0001"]
    assert full_id not in str(event.after) and "王建国" not in str(event.after)


@needs_cjk_font
def test_an_issued_notice_does_not_change_with_the_households(personas, household_a1):
    on_first_publicity(personas, household_a1)
    notice = issue(personas)
    client = login("county_admin")
    url = reverse("procedures:notice-detail", args=[notice.public_id])
    before_page = client.get(url).content.decode()
    before_pdf = pdf_text(
        client.get(reverse("procedures:notice-pdf", args=[notice.public_id])).content
    )

    Household.objects.filter(pk=household_a1.pk).update(head_name="改名")
    Member.objects.filter(household=household_a1, relation="head").update(
        id_number="110101199003077777"
    )
    case = Case.objects.get()
    advance(personas, case, until="township_review")

    after_page = client.get(url).content.decode()
    after_pdf = pdf_text(
        client.get(reverse("procedures:notice-pdf", args=[notice.public_id])).content
    )
    assert (
        "王建国" in after_page
        and "改名" not in after_page
        and "1101**********7777" not in after_pdf
    )
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert strip.sub("", before_page) == strip.sub("", after_page)
    assert before_pdf == after_pdf
    # A new draft shows the change.
    assert notice_draft(personas["county_admin"], ask(personas, "county_admin"))["rows"] == []


@needs_cjk_font
def test_a_long_notice_runs_over_pages_with_the_header_on_each(personas):
    row = {
        "household_no": "A1-0001",
        "head_name": "王建国",
        "head_id_number": "3715**********1234",
        "household_size": 3,
        "kind": "精准识别",
        "start": "2016-05-01",
        "end": "2016-05-08",
    }
    content = {
        "title": "一村 精准识别第一次公示",
        "kind": "publicity",
        "area": "东昌府区古楼街道一村",
        "step_label": "第一次公示",
        "period_start": "2016-05-01",
        "period_end": "2016-05-08",
        "where_to_object": "古楼街道 12317",
        "issuing_body": "一村村民委员会",
        "issued_by": "村干部",
        "issued_on": "2016-05-01",
        "rows": [row | {"household_no": f"A1-{i:04d}"} for i in range(1, 121)],
    }
    data = notice_pdf(content)
    pages = PdfReader(io.BytesIO(data)).pages
    assert len(pages) >= 3
    heading = _("Head of household")
    for number, page in enumerate(pages, start=1):
        text = page.extract_text()
        assert heading in text
        assert _("Page %(page)s of %(pages)s") % {"page": number, "pages": len(pages)} in text
    assert "A1-0120" in pdf_text(data)


# --- Scope and the list -------------------------------------------------------------------------


def test_notices_of_other_areas_answer_like_missing_ones(personas, household_a1):
    on_first_publicity(personas, register(personas, "A2-0001", "孙五", VILLAGE_A2))
    a2_notice = issue(personas, "township_admin_a", VILLAGE_A2)
    missing = "00000000-0000-4000-8000-0000000000c9"
    for user in ("outsider", "village_cadre_a1", "other_county_admin"):
        client = login(user)
        for name in ("procedures:notice-detail", "procedures:notice-pdf"):
            assert client.get(reverse(name, args=[a2_notice.public_id])).status_code == 404
            assert client.get(reverse(name, args=[missing])).status_code == 404
    for user in ("township_admin_a", "county_admin", "leader", "auditor"):
        url = reverse("procedures:notice-detail", args=[a2_notice.public_id])
        assert login(user).get(url).status_code == 200
    # The outsider's preview of a village of township A shows nothing of it.
    preview = login("outsider").get(
        reverse("procedures:notice-new"),
        {"village": VILLAGE_A2, "step": "identification:first_publicity"},
    )
    assert "孙五" not in preview.content.decode() and "A2-0001" not in preview.content.decode()


def test_the_list_shows_the_area_notices_by_village_and_pages(personas, household_a1):
    on_first_publicity(personas, household_a1)
    on_first_publicity(personas, register(personas, "A2-0001", "孙五", VILLAGE_A2))
    a1 = [issue(personas) for _ in range(21)]
    a2 = issue(personas, "township_admin_a", VILLAGE_A2)

    cadre = login("village_cadre_a1").get(reverse("procedures:notice-list")).content.decode()
    assert str(a1[-1].public_id) in cadre and str(a1[0].public_id) not in cadre  # page 1 of 2
    assert str(a2.public_id) not in cadre
    page2 = login("village_cadre_a1").get(reverse("procedures:notice-list"), {"page": 2})
    assert str(a1[0].public_id) in page2.content.decode()

    township = login("township_admin_a")
    only_a2 = township.get(reverse("procedures:notice-list"), {"village": VILLAGE_A2})
    content = only_a2.content.decode()
    assert str(a2.public_id) in content and str(a1[-1].public_id) not in content
    assert (
        str(a2.public_id)
        not in login("outsider").get(reverse("procedures:notice-list")).content.decode()
    )
    # The procedures list links to the notices.
    cases = login("village_cadre_a1").get(reverse("procedures:case-list")).content.decode()
    assert reverse("procedures:notice-list") in cases


def test_a_reader_previews_but_cannot_issue(personas, household_a1):
    on_first_publicity(personas, household_a1)
    client = login("leader")
    query = {"village": VILLAGE_A1, "step": "identification:first_publicity"}
    preview = client.get(reverse("procedures:notice-new"), query).content.decode()
    assert "王建国" in preview and issue_form() not in preview
    response = client.post(reverse("procedures:notice-new"), query)
    assert response.status_code == 200 and not PublicNotice.objects.exists()


# --- Fonts --------------------------------------------------------------------------------------


def test_without_a_chinese_font_the_pdf_is_refused_with_a_clear_message(
    personas, household_a1, settings
):
    on_first_publicity(personas, household_a1)
    notice = issue(personas)
    settings.PDF_FONT = "/nonexistent/fonts/missing.ttf"
    response = login("village_cadre_a1").get(
        reverse("procedures:notice-pdf", args=[notice.public_id])
    )
    content = response.content.decode()
    assert response.status_code == 503 and response["Content-Type"].startswith("text/html")
    assert "fonts-wqy-microhei" in content and "FUPIN_PDF_FONT" in content
    assert "/nonexistent/fonts/missing.ttf" in content
    assert "no Chinese font was found" in content  # the English text is always there


def test_a_font_without_chinese_characters_is_refused_not_printed_as_boxes(
    personas, household_a1, settings
):
    latin = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not latin.is_file():
        pytest.skip("no DejaVu font on this machine to try")
    on_first_publicity(personas, household_a1)
    notice = issue(personas)
    settings.PDF_FONT = str(latin)
    with pytest.raises(PdfFontMissing) as error:
        notice_pdf(notice.snapshot)
    assert "DejaVuSans.ttf" in error.value.message and "fonts-wqy-microhei" in error.value.message


def test_a_case_on_a_publicity_step_links_to_its_village_notice(personas, household_a1):
    case = on_first_publicity(personas, household_a1)
    client = login("village_cadre_a1")
    page = client.get(reverse("procedures:case-detail", args=[case.public_id])).content.decode()
    link = re.search(r'href="([^"]*/notices/new/\?village=[^"]+)"', page)
    assert link is not None
    preview = client.get(link.group(1).replace("&amp;", "&")).content.decode()
    assert household_a1.household_no in preview and issue_form() in preview
    # A case on a step that is not made public has no such link.
    Case.objects.filter(pk=case.pk).update(state="application")
    page = client.get(reverse("procedures:case-detail", args=[case.public_id])).content.decode()
    assert "/notices/new/?" not in page


def test_a_step_start_recorded_before_its_entry_still_gives_an_ordered_period(
    personas, household_a1
):
    """Data entered after the fact may put the step's start before its transition: the notice
    never ends before it starts, and issuing it works."""
    case = on_first_publicity(personas, household_a1)
    Case.objects.filter(pk=case.pk).update(step_started_at=timezone.now() - dt.timedelta(days=30))
    (row,) = notice_draft(personas["village_cadre_a1"], ask(personas))["rows"]
    assert row["end"] >= row["start"] == timezone.localdate().isoformat()
    notice = issue(personas)
    assert notice.period_end >= notice.period_start
