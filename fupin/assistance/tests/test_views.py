"""The assistance pages through the test client, with the personas of two townships."""

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import VILLAGE_A1
from fupin.assistance.models import Measure, MeasureType, Milestone, Photo, Project
from fupin.assistance.services import (
    beneficiaries_add,
    benefits_distribute,
    measure_stage_record,
    milestone_set,
)
from fupin.assistance.tests.factories import SOURCE, make_measure, make_project
from fupin.assistance.tests.images import jpeg, png
from fupin.core.models import AuditEvent
from fupin.registry.services import record_save
from fupin.registry.tests.factories import RecordDataFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
TOMORROW = TODAY + dt.timedelta(days=1)


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def html(response: Any) -> str:
    return str(response.content.decode())


def field_error_codes(response: Any, name: str) -> list[str]:
    form = response.context["form"]
    return [e.code or "" for e in form.errors.as_data().get(name, [])]


def read_file(response: Any) -> bytes:
    """A file response's bytes. Reading to the end closes the file the way the test client
    does; ``response.close()`` would also end the test database connection on PostgreSQL."""
    return bytes(response.getvalue())


def household_page(client: Client, no: str = "A1-0001") -> str:
    response = client.get(reverse("registry:household-detail", args=[no]))
    assert response.status_code == 200
    return html(response)


def measure_form(**overrides: Any) -> dict[str, Any]:
    values = {
        "content": "村级光伏电站收益分红",
        "year": "2016",
        "quarter": "2",
        "planned_amount": "0",
        "fund_source": "county",
        "expected_income": "500",
        "status": "planned",
        "extra__station": "一村光伏电站",
        "extra__capacity_kw": "100",
    }
    values.update(overrides)
    return values


# --- the household page -------------------------------------------------------------------------


def test_household_page_shows_measures_on_the_timeline_beside_the_yearly_records(
    personas, household_a1
):
    cadre = personas["village_cadre_a1"]
    record_save(
        actor=cadre,
        source=SOURCE,
        household=household_a1,
        data=RecordDataFactory(survey_year=2016, household_size=2, property_income=Decimal(500)),
    )
    measure = make_measure(cadre, household_a1, year=2016, quarter=2)
    housing = make_measure(
        cadre, household_a1, type_code="housing_renovation", content="D级危房重建", year=2016
    )
    measure_stage_record(
        actor=cadre, source=SOURCE, measure=housing, stage="started", on=dt.date(2016, 4, 10)
    )
    page = household_page(login(cadre))
    timeline = page[page.index('id="timeline"') :]
    assert "2016" in timeline and "2015" in timeline
    year_2016 = timeline[timeline.index("<h3>2016</h3>") : timeline.index("<h3>2015</h3>")]
    assert "村级光伏电站收益分红" in year_2016
    assert reverse("assistance:measure-detail", args=[measure.public_id]) in year_2016
    assert "2016-04-10" in year_2016  # the stage
    assert 'id="assistance-measures"' in page
    assert reverse("assistance:measure-add", args=["A1-0001"]) in page
    # A leader reads the page but is not offered to add measures.
    leader_page = household_page(login(personas["leader"]))
    assert "村级光伏电站收益分红" in leader_page
    assert reverse("assistance:measure-add", args=["A1-0001"]) not in leader_page


def test_household_page_queries_do_not_grow_with_measures(
    personas, household_a1, django_assert_max_num_queries
):
    cadre = personas["village_cadre_a1"]
    client = login(cadre)
    make_measure(cadre, household_a1)
    client.get(reverse("registry:household-detail", args=["A1-0001"]))
    with django_assert_max_num_queries(30) as few:
        household_page(client)
    for year in range(2014, 2020):
        make_measure(cadre, household_a1, year=year)
        m = make_measure(cadre, household_a1, type_code="housing_renovation", year=year)
        measure_stage_record(
            actor=cadre, source=SOURCE, measure=m, stage="started", on=dt.date(year, 3, 1)
        )
    with django_assert_max_num_queries(30) as more:
        household_page(client)
    assert len(few.captured_queries) == len(more.captured_queries)


# --- measures -----------------------------------------------------------------------------------


def test_new_measure_starts_by_choosing_its_kind_then_shows_its_fields(personas, household_a1):
    client = login(personas["village_cadre_a1"])
    url = reverse("assistance:measure-add", args=["A1-0001"])
    chooser = html(client.get(url))
    assert "?type=donkey_price_gap" in chooser and "?type=housing_renovation" in chooser
    form_page = html(client.get(url + "?type=donkey_price_gap"))
    assert 'name="extra__donkeys"' in form_page and 'name="extra__cooperative"' in form_page
    response = client.post(
        url + "?type=donkey_price_gap",
        measure_form(extra__donkeys="2", extra__cooperative="东阿阿胶合作社", extra__station=""),
    )
    measure = Measure.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("assistance:measure-detail", args=[measure.public_id])
    assert measure.extra == {"donkeys": 2, "cooperative": "东阿阿胶合作社"}
    assert AuditEvent.objects.get(action="measure.create").source == "web"


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"planned_amount": "-100"}, "planned_amount", "negative_amount"),
        ({"expected_income": "-1"}, "expected_income", "negative_amount"),
        ({"status": "under_way", "started_on": TOMORROW.isoformat()}, "started_on", "future_date"),
        ({"extra__capacity_kw": "-3"}, "extra__capacity_kw", "out_of_range"),
        ({"extra__station": ""}, "extra__station", "required"),
    ],
)
def test_bad_measure_input_shows_at_the_field_and_saves_nothing(
    personas, household_a1, values, field, code
):
    client = login(personas["village_cadre_a1"])
    url = reverse("assistance:measure-add", args=["A1-0001"]) + "?type=pv_dividend"
    response = client.post(url, measure_form(**values))
    assert response.status_code == 200
    assert code in field_error_codes(response, field)
    assert 'class="error"' in html(response)
    assert Measure.objects.count() == 0


def test_measure_page_offers_verification_only_to_the_township(personas, household_a1):
    cadre = personas["village_cadre_a1"]
    measure = make_measure(
        cadre, household_a1, status="done", completed_on=TODAY, actual_amount=Decimal(0)
    )
    url = reverse("assistance:measure-detail", args=[measure.public_id])
    assert 'value="verified"' not in html(login(cadre).get(url))
    township = login(personas["township_admin_a"])
    assert 'value="verified"' in html(township.get(url))
    response = township.post(
        reverse("assistance:measure-status", args=[measure.public_id]), {"status": "verified"}
    )
    assert response.status_code == 302
    measure.refresh_from_db()
    assert measure.status == "verified"
    # Verified: no more edits, for anyone.
    assert (
        township.get(reverse("assistance:measure-edit", args=[measure.public_id])).status_code
        == 403
    )
    # A cadre posting "verified" by hand is refused at the field.
    other = make_measure(
        cadre, household_a1, status="done", completed_on=TODAY, actual_amount=Decimal(0)
    )
    response = login(cadre).post(
        reverse("assistance:measure-status", args=[other.public_id]), {"status": "verified"}
    )
    assert response.status_code == 200
    other.refresh_from_db()
    assert other.status == "done"


def test_photos_upload_with_checks_and_are_served_only_through_the_access_check(
    personas, household_a1, household_b1, settings
):
    cadre = personas["village_cadre_a1"]
    measure = make_measure(cadre, household_a1, type_code="housing_renovation")
    client = login(cadre)
    url = reverse("assistance:measure-photo", args=[measure.public_id])
    data = jpeg(taken="2016:05:03 10:20:30", latitude=Decimal("36.45"), longitude=Decimal("115.98"))
    response = client.post(
        url, {"file": SimpleUploadedFile("house.jpg", data, "image/jpeg"), "phase": "before"}
    )
    assert response.status_code == 302
    photo = Photo.objects.get()
    served = client.get(reverse("assistance:photo-file", args=[photo.public_id]))
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert read_file(served) == data
    detail = html(client.get(reverse("assistance:measure-detail", args=[measure.public_id])))
    assert reverse("assistance:photo-file", args=[photo.public_id]) in detail
    assert "2016-05-03 10:20" in detail
    # Outside the scope, the photo answers like a missing one.
    outsider = login(personas["outsider"])
    assert outsider.get(reverse("assistance:photo-file", args=[photo.public_id])).status_code == 404
    # A text file named .jpg, and an image over the limit, are refused at the field.
    response = client.post(
        url, {"file": SimpleUploadedFile("x.jpg", b"just text", "image/jpeg"), "phase": "during"}
    )
    assert field_error_codes(response, "file") == ["not_an_image"]
    settings.PHOTO_MAX_BYTES = 2048
    response = client.post(
        url,
        {"file": SimpleUploadedFile("big.png", jpeg(padding=4096), "image/png"), "phase": "after"},
    )
    assert field_error_codes(response, "file") == ["too_large"]
    assert Photo.objects.count() == 1


def test_measure_list_is_scoped(personas, household_a1, household_b1):
    make_measure(personas["village_cadre_a1"], household_a1, content="一村的措施")
    make_measure(personas["outsider"], household_b1, content="柳村的措施")
    page = html(login(personas["village_cadre_a1"]).get(reverse("assistance:measure-list")))
    assert "一村的措施" in page and "柳村的措施" not in page
    page = html(login(personas["county_admin"]).get(reverse("assistance:measure-list")))
    assert "一村的措施" in page and "柳村的措施" in page


def test_measure_list_queries_do_not_grow_with_measures(
    personas, household_a1, household_b1, django_assert_max_num_queries
):
    client = login(personas["county_admin"])
    make_measure(personas["village_cadre_a1"], household_a1)
    client.get(reverse("assistance:measure-list"))
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("assistance:measure-list"))
    for year in range(2014, 2020):
        make_measure(personas["village_cadre_a1"], household_a1, year=year)
        make_measure(personas["outsider"], household_b1, type_code="dibao", year=year)
    with django_assert_max_num_queries(30) as more:
        page = html(client.get(reverse("assistance:measure-list")))
    assert page.count("badge measure-") == 13
    assert len(few.captured_queries) == len(more.captured_queries)


# --- the catalogue ------------------------------------------------------------------------------


def test_the_catalogue_is_read_by_all_and_changed_by_the_city(personas):
    page = html(login(personas["village_cadre_a1"]).get(reverse("assistance:catalogue")))
    assert "差价送驴" in page and reverse("assistance:measure-type-create") not in page
    assert (
        login(personas["county_admin"]).get(reverse("assistance:measure-type-create")).status_code
        == 403
    )
    city = login(personas["city_admin"])
    response = city.post(
        reverse("assistance:measure-type-create"),
        {
            "code": "cattle",
            "family": "industry",
            "name_zh": "养牛",
            "name_en": "Cattle",
            "target": "household",
            "income_component": "business",
            "is_active": "on",
            "fields_json": '[{"key": "head", "type": "integer", "label_zh": "头数", "min": 1}]',
        },
    )
    assert response.status_code == 302
    assert MeasureType.objects.get(code="cattle").fields[0]["label_zh"] == "头数"
    response = city.post(
        reverse("assistance:measure-type-edit", args=["cattle"]),
        {
            "family": "industry",
            "name_zh": "养牛",
            "name_en": "Cattle",
            "target": "household",
            "income_component": "business",
            "fields_json": '[{"key": "head", "type": "weird", "label_zh": "头数"}]',
        },
    )
    assert response.status_code == 200
    assert "bad_code" in field_error_codes(response, "fields_json")


# --- projects -----------------------------------------------------------------------------------


def test_a_township_creates_a_project_and_its_page_shows_progress_funds_and_households(
    personas, household_a1
):
    admin = personas["township_admin_a"]
    client = login(admin)
    response = client.post(
        reverse("assistance:project-create"),
        {
            "name": "一村光伏扶贫电站",
            "category": "industry",
            "year": "2016",
            "division": "371502001000",
            "villages": [VILLAGE_A1],
            "responsible_unit": "古楼街道办事处",
            "responsible_person": "李主任",
            "progress": "40",
            "funding__central": "200000",
            "funding__county": "50000",
            "planned__approval": "2016-03-01",
            "planned__start": "2016-05-01",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    project = Project.objects.get()
    milestone_set(
        actor=admin,
        source=SOURCE,
        project=project,
        kind="approval",
        planned_on=dt.date(2016, 3, 1),
        actual_on=dt.date(2016, 3, 5),
    )
    response = client.post(
        reverse("assistance:disbursement-add", args=[project.code]),
        {"source": "central", "amount": "50000", "paid_on": "2016-06-01"},
    )
    assert response.status_code == 302
    response = client.post(
        reverse("assistance:beneficiaries", args=[project.code]),
        {"household_nos": "A1-0001", "expected_benefit": "500"},
    )
    assert response.status_code == 302
    response = client.post(
        reverse("assistance:benefits", args=[project.code]),
        {"year": str(TODAY.year), "paid_on": TODAY.isoformat(), "amount": "500"},
    )
    assert response.status_code == 302
    page = html(client.get(reverse("assistance:project-detail", args=[project.code])))
    assert "250,000.00" in page and "50,000.00" in page  # budget, disbursed
    assert "20%" in page  # funds used
    assert "40%" in page  # progress
    assert "A1-0001" in page and "王建国" in page
    assert "overdue" in page  # the start milestone planned for 2016 is not reached
    overdue = html(client.get(reverse("assistance:overdue")))
    assert project.code in overdue
    # The household's timeline shows the project and the benefit paid.
    household = household_page(client)
    assert "一村光伏扶贫电站" in household[household.index('id="timeline"') :]


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"amount": "-5"}, "amount", "negative_amount"),
        ({"paid_on": TOMORROW.isoformat()}, "paid_on", "future_date"),
        ({"amount": "999999"}, "amount", "over_budget"),
    ],
)
def test_bad_disbursement_input_shows_at_the_field(personas, values, field, code):
    admin = personas["township_admin_a"]
    project = make_project(admin)
    data = {"source": "central", "amount": "100", "paid_on": TODAY.isoformat(), **values}
    response = login(admin).post(reverse("assistance:disbursement-add", args=[project.code]), data)
    assert response.status_code == 200
    assert code in field_error_codes(response, field)
    assert not project.disbursements.exists()


def test_project_list_queries_do_not_grow_with_projects(personas, django_assert_max_num_queries):
    admin_a = personas["township_admin_a"]
    client = login(personas["county_admin"])
    make_project(admin_a, planned={"approval": dt.date(2016, 1, 1)})
    client.get(reverse("assistance:project-list"))
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("assistance:project-list"))
    for year in range(2014, 2020):
        make_project(admin_a, year=year, planned={"approval": dt.date(year, 1, 1)})
    with django_assert_max_num_queries(30) as more:
        page = html(client.get(reverse("assistance:project-list")))
    assert page.count("一村光伏扶贫电站") == 7
    assert len(few.captured_queries) == len(more.captured_queries)


def test_project_pages_are_scoped(personas, household_a1, household_b1):
    admin_a = personas["township_admin_a"]
    project = make_project(admin_a)
    beneficiaries_add(actor=admin_a, source=SOURCE, project=project, household_nos=["A1-0001"])
    url = reverse("assistance:project-detail", args=[project.code])
    assert login(personas["outsider"]).get(url).status_code == 404
    assert login(personas["village_cadre_a1"]).get(url).status_code == 200
    assert (
        login(personas["village_cadre_a1"])
        .get(reverse("assistance:project-edit", args=[project.code]))
        .status_code
        == 403
    )
    assert project.code in html(
        login(personas["county_admin"]).get(reverse("assistance:project-list"))
    )
    assert project.code not in html(
        login(personas["outsider"]).get(reverse("assistance:project-list"))
    )


def test_project_photo_is_checked_and_served_to_those_who_see_the_project(personas):
    admin = personas["township_admin_a"]
    project = make_project(admin)
    client = login(admin)
    url = reverse("assistance:project-photo", args=[project.code])
    response = client.post(
        url, {"file": SimpleUploadedFile("x.png", png(), "image/png"), "phase": "evidence"}
    )
    assert response.status_code == 302
    photo = Photo.objects.get()
    assert photo.project == project
    served = login(personas["village_cadre_a1"]).get(
        reverse("assistance:photo-file", args=[photo.public_id])
    )
    assert served.status_code == 200
    assert read_file(served) == png()
    assert (
        login(personas["outsider"])
        .get(reverse("assistance:photo-file", args=[photo.public_id]))
        .status_code
        == 404
    )
    assert (
        re.search(
            r"/media/|MEDIA_URL",
            html(client.get(reverse("assistance:project-detail", args=[project.code]))),
        )
        is None
    )


def test_overdue_milestones_list_only_what_the_actor_sees(personas):
    project = make_project(
        personas["township_admin_a"], planned={"approval": TODAY - dt.timedelta(days=10)}
    )
    make_project(
        personas["outsider"],
        division_code="371502002000",
        village_codes=["371502002201"],
        name="柳村项目",
        planned={"approval": TODAY - dt.timedelta(days=3)},
    )
    page = html(login(personas["township_admin_a"]).get(reverse("assistance:overdue")))
    assert project.code in page and "柳村项目" not in page
    assert Milestone.objects.count() == 2


def test_household_timeline_shows_benefits_only_within_scope(personas, household_a1):
    admin = personas["county_admin"]
    project = make_project(admin, division_code="371502000000")
    beneficiaries_add(actor=admin, source=SOURCE, project=project, household_nos=["A1-0001"])
    benefits_distribute(
        actor=admin,
        source=SOURCE,
        project=project,
        year=TODAY.year,
        paid_on=TODAY,
        amounts={"A1-0001": Decimal("300")},
    )
    page = household_page(login(personas["village_cadre_a1"]))
    assert "300.00" in page[page.index('id="timeline"') :]
