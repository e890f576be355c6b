"""The registry's web pages, driven through the test client with the personas of two townships."""

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import PASSWORD, VILLAGE_A1, VILLAGE_A2, VILLAGE_B1, _make
from fupin.accounts.roles import Role
from fupin.core.audit import ChangeSource
from fupin.core.models import AuditEvent
from fupin.registry import panels
from fupin.registry.models import Household, Member, YearlyRecord
from fupin.registry.services import member_add, record_save
from fupin.registry.tests.factories import (
    MemberDataFactory,
    RecordDataFactory,
    register_household,
    valid_id_number,
)

pytestmark = pytest.mark.django_db

LIST_URL = reverse("registry:household-list")


def login(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def html(response: Any) -> str:
    return str(response.content.decode())


def listed_numbers(response: Any) -> list[str]:
    return re.findall(r'<td><a href="/households/([^/]+)/">', html(response))


def section(page: str, section_id: str) -> str:
    start = page.index(f'id="{section_id}"')
    return page[start : page.index("</section>", start)]


def comparable(page: str) -> str:
    """A page without its CSRF tokens and the language form's return address."""
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)
    return re.sub(r'name="next" value="[^"]*"', "", page)


def field_errors(response: Any, name: str) -> list[str]:
    return [str(e) for e in response.context["form"].errors.get(name, [])]


# --- list ----------------------------------------------------------------------------------


def test_household_list_requires_login(client):
    response = client.get(LIST_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_household_list_shows_only_the_actors_area(client, personas, household_a1, household_b1):
    response = login(client, personas["village_cadre_a1"]).get(LIST_URL)
    assert response.status_code == 200
    assert listed_numbers(response) == ["A1-0001"]
    assert "B1-0001" not in html(response)

    response = login(client, personas["outsider"]).get(LIST_URL)
    assert listed_numbers(response) == ["B1-0001"]

    response = login(client, personas["county_admin"]).get(LIST_URL)
    assert listed_numbers(response) == ["A1-0001", "B1-0001"]

    response = login(client, personas["other_county_admin"]).get(LIST_URL)
    assert listed_numbers(response) == []
    assert "没有符合条件的贫困户" in html(response)


def test_household_list_columns_show_labels_income_and_members(client, personas, household_a1):
    response = login(client, personas["village_cadre_a1"]).get(LIST_URL)
    page = html(response)
    row = page[page.index("A1-0001</a>") :]
    row = row[: row.index("</tr>")]
    # Per capita: (2000 + 800 + 0 + 600 − 300) ÷ 2 members.
    for text in ("一村", "王建国", "未脱贫", "一般贫困户", "因病", "2015", "1,550.00"):
        assert text in row
    assert re.search(r'<td class="num">2</td>\s*$', row)
    # Members are the active members now, not the size at the last survey.
    member_add(
        actor=personas["village_cadre_a1"],
        source=ChangeSource.command("test"),
        household=household_a1,
        data=MemberDataFactory(name="王小明", relation="son", born=dt.date(2010, 3, 1)),
    )
    page = html(client.get(LIST_URL))
    row = page[page.index("A1-0001</a>") :]
    assert re.search(r'<td class="num">3</td>\s*$', row[: row.index("</tr>")])


def test_household_list_filters(client, personas, household_a1, household_b1):
    register_household(
        personas["township_admin_a"],
        division_code=VILLAGE_A2,
        household_no="A2-0001",
        category="dibao",
        main_cause="disability",
        identified_year=2016,
        members=[MemberDataFactory(name="孙小梅", relation="head", sex="female")],
    )
    login(client, personas["county_admin"])
    assert listed_numbers(client.get(LIST_URL, {"division": VILLAGE_B1})) == ["B1-0001"]
    assert listed_numbers(client.get(LIST_URL, {"division": "371502001000"})) == [
        "A1-0001",
        "A2-0001",
    ]
    assert listed_numbers(client.get(LIST_URL, {"division_code": VILLAGE_A2})) == ["A2-0001"]
    assert listed_numbers(client.get(LIST_URL, {"category": "dibao"})) == ["A2-0001"]
    assert listed_numbers(client.get(LIST_URL, {"main_cause": "illness"})) == ["A1-0001", "B1-0001"]
    assert listed_numbers(client.get(LIST_URL, {"identified_year": 2016})) == ["A2-0001"]
    assert listed_numbers(client.get(LIST_URL, {"survey_year": 2016})) == ["A2-0001"]
    assert listed_numbers(client.get(LIST_URL, {"status": "exited"})) == []
    # A division outside the actor's area shows nothing rather than an error.
    login(client, personas["village_cadre_a1"])
    assert listed_numbers(client.get(LIST_URL, {"division": VILLAGE_B1})) == []


def test_household_list_division_select_offers_the_actors_divisions(client, personas, household_a1):
    page = html(login(client, personas["county_admin"]).get(LIST_URL))
    assert "东昌府区" in page and "古楼街道" in page and "柳园街道" in page
    assert "侨润街道" not in page
    assert "一村" in page  # the page's own rows name the village
    select = page[
        page.index('id="id_division"') : page.index("</select>", page.index('id="id_division"'))
    ]
    assert "一村" not in select  # villages appear once a township is chosen
    page = html(client.get(LIST_URL, {"division": "371502001000"}))
    select = page[
        page.index('id="id_division"') : page.index("</select>", page.index('id="id_division"'))
    ]
    assert "一村" in select and "二村" in select and "柳村" not in select


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("王建国", ["A1-0001"]),  # the head's name
        ("建国", ["A1-0001"]),  # part of the head's name
        ("李秀英", ["A1-0001"]),  # another member's name
        ("wjg", ["A1-0001"]),  # pinyin initials of the head
        ("WJG", ["A1-0001"]),
        ("A1-00", ["A1-0001"]),  # the start of a household number
        ("赵大海", []),  # a household of the other township
    ],
)
def test_household_list_search(client, personas, household_a1, household_b1, query, expected):
    response = login(client, personas["village_cadre_a1"]).get(LIST_URL, {"q": query})
    assert listed_numbers(response) == expected


def test_household_list_search_by_id_number(client, personas, household_a1, household_b1):
    head = household_a1.members.get(relation="head")
    login(client, personas["county_admin"])
    assert listed_numbers(client.get(LIST_URL, {"q": head.id_number})) == ["A1-0001"]
    assert listed_numbers(client.get(LIST_URL, {"q": head.id_number.lower()})) == ["A1-0001"]
    other = household_b1.members.get(relation="head")
    # Someone else's id number from the other township finds nothing for the cadre.
    login(client, personas["village_cadre_a1"])
    assert listed_numbers(client.get(LIST_URL, {"q": other.id_number})) == []


@pytest.fixture
def many_households(personas):
    cadre = personas["village_cadre_a1"]
    for n in range(1, 56):
        register_household(
            cadre,
            household_no=f"A1-{n:04d}",
            category="dibao" if n % 5 == 0 else "general",
            members=[MemberDataFactory(name="张伟", relation="head")],
        )


def test_household_list_paginates_by_50_and_keeps_filters(client, personas, many_households):
    login(client, personas["village_cadre_a1"])
    first = client.get(LIST_URL)
    assert len(listed_numbers(first)) == 50
    assert "55 户" in html(first)
    assert "?page=2" in html(first)
    second = client.get(LIST_URL, {"page": 2})
    assert listed_numbers(second) == [f"A1-{n:04d}" for n in range(51, 56)]

    assert len(listed_numbers(client.get(LIST_URL, {"category": "general"}))) == 44

    filtered = client.get(LIST_URL, {"status": "not_out", "q": "张伟", "division": ""})
    assert len(listed_numbers(filtered)) == 50
    page = html(filtered)
    nav = page[page.index('class="pagination"') :]
    link = re.search(r'href="(\?[^"]*page=2[^"]*)"', nav)
    assert link is not None
    assert link.group(1) == "?status=not_out&amp;q=%E5%BC%A0%E4%BC%9F&amp;page=2"
    assert (
        listed_numbers(client.get(LIST_URL + link.group(1).replace("&amp;", "&")))[0] == "A1-0051"
    )
    assert client.get(LIST_URL, {"page": 999}).status_code == 200  # out of range: the last page


def test_household_list_sorts_by_column(client, personas, many_households):
    login(client, personas["village_cadre_a1"])
    response = client.get(LIST_URL, {"ordering": "-household_no"})
    assert listed_numbers(response)[:2] == ["A1-0055", "A1-0054"]
    page = html(response)
    # The active column links to the other direction, the others to ascending, filters kept.
    assert 'href="?ordering=household_no"' in page
    assert 'href="?ordering=head_name"' in page
    response = client.get(LIST_URL, {"ordering": "household_no", "category": "dibao"})
    assert listed_numbers(response) == [f"A1-{n:04d}" for n in range(5, 56, 5)]
    assert "category=dibao&amp;ordering=-household_no" in html(response)
    # An unknown ordering falls back to the household number.
    assert listed_numbers(client.get(LIST_URL, {"ordering": "id_number"}))[0] == "A1-0001"


def test_household_list_query_count_does_not_grow_with_rows(
    client, personas, many_households, django_assert_max_num_queries
):
    login(client, personas["village_cadre_a1"])
    client.get(LIST_URL)  # warm the session
    with django_assert_max_num_queries(14) as full:
        response = client.get(LIST_URL)
    assert len(listed_numbers(response)) == 50
    with django_assert_max_num_queries(14) as small:
        response = client.get(LIST_URL, {"page": 2})
    assert len(listed_numbers(response)) == 5
    assert len(full.captured_queries) == len(small.captured_queries)


def test_household_list_htmx_request_gets_the_results_only(client, personas, household_a1):
    response = login(client, personas["village_cadre_a1"]).get(
        LIST_URL, {"q": "王"}, headers={"HX-Request": "true"}
    )
    page = html(response)
    assert "<html" not in page
    assert listed_numbers(response) == ["A1-0001"]
    assert 'hx-swap-oob="true"' in page  # the division select follows the filters
    boosted = client.get(LIST_URL, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in html(boosted)


def test_household_list_masks_phone_for_leader(client, personas, household_a1):
    page = html(login(client, personas["leader"]).get(LIST_URL))
    assert "138****5678" in page and "13812345678" not in page
    page = html(login(client, personas["village_cadre_a1"]).get(LIST_URL))
    assert "13812345678" in page


def test_register_button_only_for_editors(client, personas, household_a1):
    register_url = reverse("registry:household-register")
    assert register_url in html(login(client, personas["village_cadre_a1"]).get(LIST_URL))
    assert register_url not in html(login(client, personas["leader"]).get(LIST_URL))


# --- household page ------------------------------------------------------------------------


def detail_url(no: str) -> str:
    return reverse("registry:household-detail", args=[no])


def test_household_page_shows_facts_members_and_records(client, personas, household_a1):
    page = html(login(client, personas["village_cadre_a1"]).get(detail_url("A1-0001")))
    facts = section(page, "facts-title")
    for text in (
        "A1-0001",
        "一村",
        "王建国",
        "13812345678",
        "省定标准",
        "一般贫困户",
        "因病",
        "未脱贫",
    ):
        assert text in facts
    members = section(page, "members-title")
    assert "王建国" in members and "李秀英" in members and "户主" in members and "配偶" in members
    head = household_a1.members.get(relation="head")
    assert head.id_number in members
    records = section(page, "records-title")
    assert "2015" in records and "1,550.00" in records


def test_household_page_before_after_shows_first_and_latest_year_side_by_side(client, personas):
    cadre = personas["village_cadre_a1"]
    household = register_household(cadre, household_no="A1-0100", identified_year=2016)
    record_save(
        actor=cadre,
        source=ChangeSource.command("test"),
        household=household,
        data=RecordDataFactory(
            survey_year=2020,
            household_size=1,
            wage_income=Decimal("9000.00"),
            housing_grade="A",
            safe_water=True,
        ),
    )
    page = html(login(client, cadre).get(detail_url("A1-0100")))
    compare = section(page, "before-after")
    assert "2016（首次）" in compare and "2020（最新）" in compare
    wage = re.search(r"工资性收入</th>(.*?)</tr>", compare, re.S)
    assert wage is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", wage.group(1), re.S)
    assert [c.strip() for c in cells] == ["2,000.00", "9,000.00", "+7,000.00"]
    per_capita = re.search(
        r'<tr class="changed key-row">\s*<th scope="row">人均纯收入</th>(.*?)</tr>', compare, re.S
    )
    assert per_capita is not None
    assert "3,100.00" in per_capita.group(1) and "10,100.00" in per_capita.group(1)
    housing = re.search(r"住房安全等级</th>(.*?)</tr>", compare, re.S)
    assert housing is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", housing.group(1), re.S)
    assert [c.strip() for c in cells[:2]] == ["B", "A"] and "有变化" in cells[2]
    assert 'class="changed"' in compare  # changes are highlighted
    records = section(page, "records-title")
    assert records.index("2016") < records.index("2020")


def test_household_page_history_shows_who_what_source_and_changes(client, personas):
    cadre = personas["village_cadre_a1"]
    household = register_household(cadre, household_no="A1-0200")
    login(client, cadre).post(
        reverse("registry:household-edit", args=["A1-0200"]),
        household_post(household, category="dibao", phone="13900001111"),
    )
    AuditEvent.objects.create(
        actor=cadre,
        actor_username="importer",
        action="household.update",
        entity="household",
        entity_key="A1-0200",
        household_no="A1-0200",
        division_path=household.division.path,
        before={"status": "not_out"},
        after={"status": "exited"},
        source=AuditEvent.Source.IMPORT,
        source_detail={"file_name": "gulou-2017.xlsx", "sha256": "0" * 64},
    )
    page = html(client.get(detail_url("A1-0200")))
    history = section(page, "history-title")
    assert "登记贫困户" in history and "修改贫困户信息" in history
    assert "village_cadre_a1" in history
    assert "网页" in history
    assert "导入文件: gulou-2017.xlsx" in history
    assert re.search(
        r"一般贫困户</span>\s*<span[^>]*>→</span>\s*<span class=\"after\">低保贫困户", history
    )
    assert re.search(r"未脱贫</span>\s*<span[^>]*>→</span>\s*<span class=\"after\">已脱贫", history)


def test_household_page_missing_and_out_of_scope_look_the_same(
    client, personas, household_a1, household_b1
):
    login(client, personas["village_cadre_a1"])
    out_of_scope = client.get(detail_url("B1-0001"))
    missing = client.get(detail_url("X9-9999"))
    assert out_of_scope.status_code == missing.status_code == 404
    assert "赵大海" not in html(out_of_scope)
    assert comparable(html(out_of_scope)) == comparable(html(missing))
    for name in ("household-edit", "member-add", "record-add"):
        assert client.get(reverse(f"registry:{name}", args=["B1-0001"])).status_code == 404
        assert client.get(reverse(f"registry:{name}", args=["X9-9999"])).status_code == 404


def test_household_page_query_count(client, personas, household_a1, django_assert_max_num_queries):
    cadre = personas["village_cadre_a1"]
    login(client, cadre)
    client.get(detail_url("A1-0001"))
    # The registry's own queries, plus a few for each panel or timeline source that the apps
    # above the registry add to the household page (fupin.registry.panels).
    budget = 10 + 3 * (len(panels._panel_sources) + len(panels._timeline_sources))
    _assert_each_source_costs_at_most(client, 3, registry_only=10)
    with django_assert_max_num_queries(budget) as few:
        client.get(detail_url("A1-0001"))
    for year in (2016, 2017, 2018):
        record_save(
            actor=cadre,
            source=ChangeSource.command("test"),
            household=household_a1,
            data=RecordDataFactory(survey_year=year, household_size=2),
        )
    with django_assert_max_num_queries(budget) as more:
        client.get(detail_url("A1-0001"))
    assert len(few.captured_queries) == len(more.captured_queries)


def test_household_page_masks_personal_data_for_leader(client, personas, household_a1):
    head = household_a1.members.get(relation="head")
    page = html(login(client, personas["leader"]).get(detail_url("A1-0001")))
    assert head.id_number not in page
    assert head.id_number[:4] + "**********" + head.id_number[-4:] in page
    assert "13812345678" not in page and "138****5678" in page
    # The history's snapshots are masked too.
    assert section(page, "history-title").count("**********") >= 2
    for persona in ("department_user", "auditor"):
        assert login(client, personas[persona]).get(detail_url("A1-0001")).status_code == 200
    page = html(login(client, personas["auditor"]).get(detail_url("A1-0001")))
    assert head.id_number in page  # auditors see personal data


def test_household_page_edit_buttons_only_for_editors(client, personas, household_a1):
    edit_url = reverse("registry:household-edit", args=["A1-0001"])
    assert edit_url in html(login(client, personas["village_cadre_a1"]).get(detail_url("A1-0001")))
    for persona in ("leader", "auditor", "department_user"):
        page = html(login(client, personas[persona]).get(detail_url("A1-0001")))
        assert edit_url not in page
        assert "/members/new/" not in page and "/records/new/" not in page and "/leave/" not in page


# --- forms ---------------------------------------------------------------------------------

REGISTER_URL = reverse("registry:household-register")


def register_post(**changes: Any) -> dict[str, Any]:
    birth = dt.date(1968, 3, 9)
    data = {
        "household_no": "",
        "division": VILLAGE_A1,
        "phone": "13712345678",
        "identified_year": "2016",
        "standard": "national",
        "category": "general",
        "main_cause": "disability",
        "other_causes": ["lack_skills"],
        "status": "not_out",
        "exit_year": "",
        "name": "周永康",
        "id_number": valid_id_number(birth=birth, sex="male"),
        "sex": "male",
        "birth_date": birth.isoformat(),
        "relation": "head",
        "ethnicity": "01",
        "education": "primary",
        "schooling": "not_student",
        "health": "disabled",
        "labour": "weak",
        "work_place": "none",
        "work_months": "0",
        "basic_medical": "True",
        "critical_illness": "",
        "pension": "False",
        "dibao": "",
        "tekun": "",
        "survey_year": "2016",
        "wage_income": "1200.00",
        "business_income": "500",
        "property_income": "0",
        "transfer_income": "900.50",
        "business_cost": "100",
        "excluded_income": "",
        "farmland_mu": "2.5",
        "housing_grade": "C",
        "safe_water": "False",
        "food_secure": "True",
        "clothing_secure": "True",
        "has_electricity": "True",
    }
    data.update(changes)
    return data


def test_register_household(client, personas):
    login(client, personas["village_cadre_a1"])
    page = html(client.get(REGISTER_URL))
    assert "登记贫困户" in page and "户主信息" in page and 'value="371502001201"' in page
    assert "柳村" not in page  # only villages the cadre may edit
    response = client.post(REGISTER_URL, register_post())
    household = Household.objects.get(head_name="周永康")
    assert response.status_code == 302
    assert response["Location"] == detail_url(household.household_no)
    assert household.household_no == "37150200120100001"
    assert household.division.code == VILLAGE_A1
    assert household.other_causes == ["lack_skills"]
    head = household.members.get()
    assert head.relation == "head" and head.pension is False and head.critical_illness is None
    record = household.records.get()
    assert record.household_size == 1
    assert record.transfer_income == Decimal("900.50")
    assert record.per_capita_net_income == Decimal("2500.50")
    event = AuditEvent.objects.get(action="household.register", household_no=household.household_no)
    assert event.source == AuditEvent.Source.WEB and event.actor_username == "village_cadre_a1"
    page = html(client.get(response["Location"]))
    assert "已保存" in page


def test_register_household_with_chosen_number(client, personas):
    login(client, personas["township_admin_a"])
    response = client.post(
        REGISTER_URL, register_post(household_no="GL-2016-7", division=VILLAGE_A2)
    )
    assert response.status_code == 302
    assert Household.objects.get(household_no="GL-2016-7").division.code == VILLAGE_A2


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"id_number": "371502196803090011"}, "id_number", "证件号码校验位错误。"),
        ({"id_number": "37150219680309"}, "id_number", "证件号码应为18位"),
        ({"wage_income": "-10"}, "wage_income", "金额不能为负数。"),
        ({"main_cause": "laziness"}, "main_cause", "选择一个有效的选项"),
        ({"relation": "spouse"}, "relation", "一户必须有户主。"),
        ({"sex": "female"}, "sex", "性别与证件号码不符。"),
        ({"phone": "12345"}, "phone", "请输入11位手机号码"),
        ({"survey_year": "2014"}, "survey_year", "年份必须在2016到"),
        ({"status": "exited"}, "exit_year", "已脱贫户须填写脱贫年份。"),
        ({"division": VILLAGE_B1}, "division", "选择一个有效的选项"),
        ({"name": ""}, "name", "这个字段是必填项。"),
        ({"basic_medical": ""}, "basic_medical", "这个字段是必填项。"),
    ],
)
def test_register_household_bad_input_is_shown_at_the_field_and_saves_nothing(
    client, personas, household_b1, changes, field, message
):
    login(client, personas["village_cadre_a1"])
    before = (
        Household.objects.count(),
        Member.objects.count(),
        YearlyRecord.objects.count(),
        AuditEvent.objects.count(),
    )
    response = client.post(REGISTER_URL, register_post(**changes))
    assert response.status_code == 200
    errors = field_errors(response, field)
    assert any(message in e for e in errors), errors
    page = html(response)
    field_html = page[page.index(f'id="id_{field}"') :]
    field_html = field_html[: field_html.index('<div class="field')]  # up to the next field
    assert message in field_html  # the message sits at its field
    assert "请更正标记的字段。" in page
    after = (
        Household.objects.count(),
        Member.objects.count(),
        YearlyRecord.objects.count(),
        AuditEvent.objects.count(),
    )
    assert after == before


def test_register_household_person_of_another_household(client, personas, household_a1):
    head = household_a1.members.get(relation="head")
    login(client, personas["village_cadre_a1"])
    response = client.post(
        REGISTER_URL,
        register_post(
            id_number=head.id_number, birth_date=head.birth_date.isoformat(), sex=head.sex
        ),
    )
    assert "此人已是另一户的成员。" in field_errors(response, "id_number")
    assert Household.objects.count() == 1


def household_post(household: Household, **changes: Any) -> dict[str, Any]:
    data = {
        "division": household.division.code,
        "phone": household.phone,
        "identified_year": str(household.identified_year),
        "standard": household.standard,
        "category": household.category,
        "main_cause": household.main_cause,
        "other_causes": list(household.other_causes),
        "status": household.status,
        "exit_year": household.exit_year or "",
    }
    data.update(changes)
    return data


def test_edit_household(client, personas, household_a1):
    url = reverse("registry:household-edit", args=["A1-0001"])
    login(client, personas["village_cadre_a1"])
    page = html(client.get(url))
    assert 'value="13812345678"' in page
    assert re.search(r'<option value="general" selected>', page)
    response = client.post(url, household_post(household_a1, status="exited", exit_year="2019"))
    assert response.status_code == 302
    household_a1.refresh_from_db()
    assert household_a1.status == "exited" and household_a1.exit_year == 2019
    event = AuditEvent.objects.get(action="household.update")
    assert event.before == {"exit_year": None, "status": "not_out"}
    assert event.source == AuditEvent.Source.WEB


def test_edit_household_bad_input(client, personas, household_a1):
    url = reverse("registry:household-edit", args=["A1-0001"])
    login(client, personas["village_cadre_a1"])
    response = client.post(url, household_post(household_a1, status="exited", exit_year="2014"))
    assert "脱贫年份不能早于识别年份。" in field_errors(response, "exit_year")
    household_a1.refresh_from_db()
    assert household_a1.status == "not_out"
    assert not AuditEvent.objects.filter(action="household.update").exists()


def member_post(**changes: Any) -> dict[str, Any]:
    birth = dt.date(2005, 9, 1)
    data = {
        "name": "王小明",
        "id_number": valid_id_number(birth=birth, sex="male"),
        "sex": "male",
        "birth_date": birth.isoformat(),
        "relation": "son",
        "ethnicity": "01",
        "education": "junior",
        "schooling": "senior",
        "health": "healthy",
        "labour": "none",
        "work_place": "",
        "work_months": "",
        "basic_medical": "True",
        "critical_illness": "",
        "pension": "",
        "dibao": "",
        "tekun": "",
    }
    data.update(changes)
    return data


def test_add_member(client, personas, household_a1):
    url = reverse("registry:member-add", args=["A1-0001"])
    login(client, personas["village_cadre_a1"])
    assert client.get(url).status_code == 200
    response = client.post(url, member_post())
    assert response.status_code == 302
    member = household_a1.members.get(name="王小明")
    assert member.relation == "son" and member.schooling == "senior" and member.is_active
    assert AuditEvent.objects.get(action="member.add").source == AuditEvent.Source.WEB


def test_add_member_bad_input(client, personas, household_a1):
    url = reverse("registry:member-add", args=["A1-0001"])
    login(client, personas["village_cadre_a1"])
    response = client.post(url, member_post(relation="head"))
    assert "该户已有户主。" in field_errors(response, "relation")
    response = client.post(
        url, member_post(id_number="37150220050901001X", birth_date="2005-09-01")
    )
    assert "证件号码校验位错误。" in field_errors(response, "id_number")
    response = client.post(url, member_post(work_place="none", work_months="5"))
    assert "未外出务工的人务工月数为0。" in field_errors(response, "work_months")
    assert household_a1.members.count() == 2


def test_edit_member(client, personas, household_a1):
    spouse = household_a1.members.get(relation="spouse")
    url = reverse("registry:member-edit", args=["A1-0001", spouse.public_id])
    login(client, personas["village_cadre_a1"])
    page = html(client.get(url))
    assert 'value="李秀英"' in page
    data = member_post(
        name="李秀英",
        id_number=spouse.id_number,
        sex="female",
        birth_date=spouse.birth_date.isoformat(),
        relation="spouse",
        health="chronic",
    )
    response = client.post(url, data)
    assert response.status_code == 302
    spouse.refresh_from_db()
    assert spouse.health == "chronic"
    # A member's page under another household's number is not found.
    register_household(personas["village_cadre_a1"], household_no="A1-0002")
    other = reverse("registry:member-edit", args=["A1-0002", spouse.public_id])
    assert client.get(other).status_code == 404


def test_member_leaves(client, personas, household_a1):
    spouse = household_a1.members.get(relation="spouse")
    head = household_a1.members.get(relation="head")
    login(client, personas["village_cadre_a1"])
    url = reverse("registry:member-leave", args=["A1-0001", spouse.public_id])
    response = client.post(url, {"left_reason": "", "left_on": ""})
    assert "请填写离开原因。" in field_errors(response, "left_reason")
    response = client.post(url, {"left_reason": "出嫁", "left_on": "2020-05-01"})
    assert response.status_code == 302
    spouse.refresh_from_db()
    assert (
        not spouse.is_active
        and spouse.left_reason == "出嫁"
        and spouse.left_on == dt.date(2020, 5, 1)
    )
    page = html(client.get(detail_url("A1-0001")))
    former = page[page.index("原家庭成员") :]
    assert "李秀英" in former and "出嫁" in former and "2020-05-01" in former
    response = client.post(
        reverse("registry:member-leave", args=["A1-0001", head.public_id]), {"left_reason": "去世"}
    )
    assert any("户主不能离开" in e for e in response.context["form"].non_field_errors())
    head.refresh_from_db()
    assert head.is_active


def record_post(**changes: Any) -> dict[str, Any]:
    data = {
        "survey_year": "2019",
        "wage_income": "6000",
        "business_income": "1500",
        "property_income": "100",
        "transfer_income": "1200",
        "business_cost": "400",
        "excluded_income": "0",
        "farmland_mu": "",
        "housing_grade": "A",
        "safe_water": "True",
        "food_secure": "True",
        "clothing_secure": "True",
        "has_electricity": "True",
    }
    data.update(changes)
    return data


def test_new_and_edited_yearly_record(client, personas, household_a1):
    login(client, personas["village_cadre_a1"])
    url = reverse("registry:record-add", args=["A1-0001"])
    page = html(client.get(url))
    assert 'value="2016"' in page  # the year after the latest record
    response = client.post(url, record_post())
    assert response.status_code == 302
    record = household_a1.records.get(survey_year=2019)
    assert record.household_size == 2  # the household's active members
    assert record.per_capita_net_income == Decimal("4200.00")
    edit = reverse("registry:record-edit", args=["A1-0001", 2019])
    response = client.post(edit, record_post(survey_year="2015", wage_income="7000"))
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.wage_income == Decimal("7000")
    assert household_a1.records.get(survey_year=2015).wage_income == Decimal("2000.00")  # untouched
    assert AuditEvent.objects.filter(action="record.update", entity_key="A1-0001/2019").exists()
    assert client.get(reverse("registry:record-edit", args=["A1-0001", 2003])).status_code == 404


def test_yearly_record_bad_input(client, personas, household_a1):
    login(client, personas["village_cadre_a1"])
    url = reverse("registry:record-add", args=["A1-0001"])
    response = client.post(url, record_post(business_cost="-1"))
    assert "金额不能为负数。" in field_errors(response, "business_cost")
    response = client.post(url, record_post(housing_grade="Z", safe_water="maybe"))
    assert any("选择一个有效的选项" in e for e in field_errors(response, "housing_grade"))
    assert any("选择一个有效的选项" in e for e in field_errors(response, "safe_water"))
    response = client.post(url, record_post(wage_income="12.345"))
    assert "最多保留2位小数。" in field_errors(response, "wage_income")
    response = client.post(url, record_post(survey_year="2030"))
    assert any("年份必须在" in e for e in field_errors(response, "survey_year"))
    assert household_a1.records.count() == 1


@pytest.fixture
def pairing_official(personas):
    return _make("pairing_official", Role.PAIRING_OFFICIAL, "371502001000")


@pytest.mark.parametrize("persona", ["leader", "auditor", "department_user", "pairing_official"])
def test_read_only_roles_get_403_on_edit_pages(
    client, personas, pairing_official, household_a1, persona
):
    user = pairing_official if persona == "pairing_official" else personas[persona]
    login(client, user)
    assert client.get(detail_url("A1-0001")).status_code == 200
    member = household_a1.members.get(relation="spouse")
    urls = [
        reverse("registry:household-edit", args=["A1-0001"]),
        reverse("registry:member-add", args=["A1-0001"]),
        reverse("registry:member-edit", args=["A1-0001", member.public_id]),
        reverse("registry:member-leave", args=["A1-0001", member.public_id]),
        reverse("registry:record-add", args=["A1-0001"]),
        reverse("registry:record-edit", args=["A1-0001", 2015]),
        REGISTER_URL,
    ]
    for url in urls:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {}).status_code == 403, url
    assert "无权" in html(client.get(urls[0]))
    member.refresh_from_db()
    assert member.is_active


def test_outsider_edit_pages_are_not_found(client, personas, household_a1):
    member = household_a1.members.get(relation="spouse")
    login(client, personas["outsider"])
    for url in (
        reverse("registry:member-edit", args=["A1-0001", member.public_id]),
        reverse("registry:member-leave", args=["A1-0001", member.public_id]),
        reverse("registry:record-edit", args=["A1-0001", 2015]),
    ):
        assert client.get(url).status_code == 404
        assert client.post(url, {"left_reason": "x"}).status_code == 404
    member.refresh_from_db()
    assert member.is_active


# --- audit log -----------------------------------------------------------------------------

AUDIT_URL = reverse("audit:event-list")


def test_audit_log_for_auditors_and_admins(client, personas, household_a1, household_b1):
    page = html(login(client, personas["auditor"]).get(AUDIT_URL))
    assert "审计日志" in page and "A1-0001" in page and "B1-0001" in page
    response = client.get(AUDIT_URL, {"household_no": "A1-0001"})
    assert "B1-0001" not in html(response) and "A1-0001" in html(response)
    response = client.get(AUDIT_URL, {"action": "user.create"})
    assert "A1-0001" not in html(response) and "创建用户" in html(response)
    assert login(client, personas["county_admin"]).get(AUDIT_URL).status_code == 200
    for persona in ("village_cadre_a1", "township_admin_a", "leader", "department_user"):
        assert login(client, personas[persona]).get(AUDIT_URL).status_code == 403


def test_audit_log_stays_inside_the_actors_area(client, personas, household_a1):
    register_household(
        personas["other_county_admin"],
        division_code="371521001201",
        household_no="C1-0001",
    )
    page = html(login(client, personas["county_admin"]).get(AUDIT_URL))
    assert "A1-0001" in page and "C1-0001" not in page


def test_audit_log_paginates(client, personas, many_households):
    page = html(login(client, personas["auditor"]).get(AUDIT_URL, {"action": "household.register"}))
    assert "55 条记录" in page
    assert "action=household.register&amp;page=2" in page


# --- layout, login and languages ------------------------------------------------------------


def test_layout_shows_user_roles_divisions_and_language_switch(client, personas, household_a1):
    page = html(login(client, personas["village_cadre_a1"]).get(LIST_URL))
    assert "扶贫" in page and "Fupin" in page
    assert "village_cadre_a1" in page and "村干部 · 一村" in page
    assert 'action="/i18n/setlang/"' in page and 'name="csrfmiddlewaretoken"' in page
    assert 'action="/accounts/logout/"' in page
    assert '<html lang="zh-hans">' in page
    assert '<script src="/static/django_htmx/htmx-2.min.js" defer></script>' in page
    assert "<script>" not in page  # the CSP allows no inline script


def test_language_switch_to_english(client, personas, household_a1):
    login(client, personas["village_cadre_a1"])
    assert "贫困户" in html(client.get(LIST_URL))
    response = client.post("/i18n/setlang/", {"language": "en", "next": LIST_URL})
    assert response.status_code == 302 and response["Location"] == LIST_URL
    page = html(client.get(LIST_URL))
    assert '<html lang="en">' in page
    assert "Households" in page and "Register a household" in page
    assert "Not yet out of poverty" in page and "General poor household" in page
    assert "village cadre · 一村" in page
    page = html(client.get(detail_url("A1-0001")))
    assert "Before and after" in page and "Members" in page
    response = client.post(REGISTER_URL, register_post(id_number="371502196803090011"))
    assert "The check character of the id number is wrong." in field_errors(response, "id_number")
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": LIST_URL})
    assert '<html lang="zh-hans">' in html(client.get(LIST_URL))


def test_login_page_and_logout(client, personas):
    page = html(client.get(reverse("accounts:login")))
    assert "登录" in page and 'name="username"' in page
    response = client.post(
        reverse("accounts:login"), {"username": "village_cadre_a1", "password": "wrong"}
    )
    assert response.status_code == 200
    assert "请输入一个正确的" in html(response)
    response = client.post(
        reverse("accounts:login"), {"username": "village_cadre_a1", "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == LIST_URL
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert client.get(LIST_URL).status_code == 302


def test_stylesheet_and_icon_are_found_by_the_static_finders():
    assert finders.find("fupin/app.css") is not None
    assert finders.find("fupin/favicon.svg") is not None
    assert finders.find("django_htmx/htmx-2.min.js") is not None


def test_pages_send_a_content_security_policy(client, personas, household_a1):
    response = login(client, personas["village_cadre_a1"]).get(detail_url("A1-0001"))
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_register_form_defaults_to_the_current_year(client, personas):
    # Registration defaults to the current local year.
    page = html(login(client, personas["village_cadre_a1"]).get(REGISTER_URL))
    assert f'value="{timezone.localdate().year}"' in page


def _page_queries(client) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(detail_url("A1-0001")).status_code == 200
    return len(captured.captured_queries)


def _assert_each_source_costs_at_most(client, each: int, *, registry_only: int) -> None:
    """Measure the page with no panel or timeline source, then with each source alone, so that
    the whole page's budget (``registry_only + each`` per source) cannot hide one source that
    costs more while another costs less; template-time queries of a panel count too."""
    everything: list[tuple[dict[str, Any], str, Any]] = [
        (registry, key, source)
        for registry in (panels._panel_sources, panels._timeline_sources)
        for key, source in registry.items()
    ]
    saved = (dict(panels._panel_sources), dict(panels._timeline_sources))
    try:
        panels._panel_sources.clear()
        panels._timeline_sources.clear()
        base = _page_queries(client)
        assert base <= registry_only
        for registry, key, source in everything:
            registry[key] = source
            cost = _page_queries(client) - base
            assert cost <= each, f"{key}: {cost} queries"
            del registry[key]
    finally:
        panels._panel_sources.update(saved[0])
        panels._timeline_sources.update(saved[1])
