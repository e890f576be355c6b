import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD
from fupin.procedures.models import Case
from fupin.procedures.tests.helpers import advance, open_case

pytestmark = pytest.mark.django_db


def login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def test_a_village_cadre_opens_a_case_and_sees_the_rule_results(personas, household_a1):
    client = login("village_cadre_a1")
    assert client.get(reverse("procedures:case-open")).status_code == 200
    response = client.post(
        reverse("procedures:case-open"),
        {"household_no": "A1-0001", "procedure": "exit", "year": 2016},
    )
    case = Case.objects.get()
    assert response.status_code == 302 and case.state == "appraisal"
    page = client.get(reverse("procedures:case-detail", args=[case.public_id]))
    content = page.content.decode()
    assert page.status_code == 200
    assert 'name="action" value="advance"' in content
    assert "data criteria" in content  # the household's rule results (fupin.policy)


def test_a_household_outside_the_area_cannot_get_a_case(personas, household_b1):
    client = login("village_cadre_a1")
    response = client.post(
        reverse("procedures:case-open"),
        {"household_no": "B1-0001", "procedure": "exit", "year": 2016},
    )
    assert response.status_code == 200 and not Case.objects.exists()


def test_the_case_page_offers_only_the_actions_of_the_actor_level(personas, household_a1):
    case = advance(personas, open_case(personas, household_a1, "exit"), until="announcement")
    url = reverse("procedures:case-detail", args=[case.public_id])
    assert 'value="advance"' not in login("village_cadre_a1").get(url).content.decode()
    assert 'value="advance"' in login("township_admin_a").get(url).content.decode()
    # Posting anyway is refused, nothing changes.
    login("village_cadre_a1").post(
        reverse("procedures:case-transition", args=[case.public_id]), {"action": "advance"}
    )
    case.refresh_from_db()
    assert case.state == "announcement"
    login("township_admin_a").post(
        reverse("procedures:case-transition", args=[case.public_id]),
        {"action": "advance", "comment": "同意"},
    )
    case.refresh_from_db()
    assert case.state == "deregistered"


def test_objection_comment_and_attachment_from_the_page(personas, household_a1, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    case = advance(personas, open_case(personas, household_a1, "exit"), until="publicity")
    cadre = login("village_cadre_a1")
    base = [case.public_id]
    cadre.post(reverse("procedures:case-comment", args=base), {"text": "已入户"})
    cadre.post(
        reverse("procedures:case-attachment", args=base),
        {"file": SimpleUploadedFile("评议记录.pdf", b"%PDF-1.4 test")},
    )
    cadre.post(reverse("procedures:case-objection", args=base), {"text": "有异议"})
    case.refresh_from_db()
    assert case.paused and case.comments.count() == 1
    attachment = case.attachments.get()
    file_url = reverse("procedures:attachment-file", args=[attachment.public_id])
    response = cadre.get(file_url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 test"  # type: ignore[attr-defined]
    assert login("outsider").get(file_url).status_code == 404
    login("township_admin_a").post(
        reverse("procedures:case-resolve", args=base),
        {"decision": "dismissed", "resolution": "核实无误"},
    )
    case.refresh_from_db()
    assert not case.paused


def test_the_list_shows_the_area_filters_and_batches(personas, household_a1, household_b1):
    a = advance(personas, open_case(personas, household_a1, "exit"), until="announcement")
    content = login("village_cadre_a1").get(reverse("procedures:case-list")).content.decode()
    assert "A1-0001" in content and "B1-0001" not in content
    content = (
        login("county_admin")
        .get(reverse("procedures:case-list"), {"procedure": "monitoring"})
        .content.decode()
    )
    assert "A1-0001" not in content
    response = login("township_admin_a").post(
        reverse("procedures:case-batch"), {"cases": [str(a.public_id)], "action": "advance"}
    )
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.state == "deregistered"


def test_the_list_costs_a_bounded_number_of_queries(
    personas, household_a1, django_assert_max_num_queries
):
    from fupin.registry.tests.factories import register_household

    for i in range(30):
        household = register_household(personas["village_cadre_a1"], household_no=f"A1-Q{i:03d}")
        advance(personas, open_case(personas, household, "exit"), until="publicity")
    client = login("village_cadre_a1")
    with django_assert_max_num_queries(15):
        response = client.get(reverse("procedures:case-list"))
    assert response.content.decode().count('name="cases"') == 0  # publicity still running
