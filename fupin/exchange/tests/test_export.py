"""Export in exchange format v1 (shared/exchange-format.md §8): containers, columns, values,
masking, scope, filters, formula-looking text, the audit event and the command."""

import csv
import datetime as dt
import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from python_calamine import CalamineWorkbook

from conftest import VILLAGE_A1, VILLAGE_A2, VILLAGE_B1, VILLAGE_C1
from fupin.core.audit import ChangeSource
from fupin.core.errors import PermissionDenied
from fupin.core.masking import mask_id_number, mask_phone
from fupin.core.models import AuditEvent
from fupin.exchange import export_files, exporting
from fupin.exchange.columns import (
    HOUSEHOLD_COLUMNS,
    HOUSEHOLD_CSV,
    HOUSEHOLD_SHEET,
    MEMBER_COLUMNS,
    MEMBER_CSV,
    MEMBER_SHEET,
    Column,
    Kind,
)
from fupin.exchange.export_cells import csv_text, csv_unquote_text
from fupin.exchange.exporting import ExportError, UnknownDivisionError, export_registry
from fupin.registry.models import Household, Member, YearlyRecord
from fupin.registry.services import member_update, record_save
from fupin.registry.tests.factories import (
    MemberDataFactory,
    RecordDataFactory,
    register_household,
)
from fupin.registry.validation import MEMBER_FIELDS, MemberData

pytestmark = pytest.mark.django_db

SOURCE = ChangeSource.command("test")
HOUSEHOLD_HEADERS = [c.zh for c in HOUSEHOLD_COLUMNS]
MEMBER_HEADERS = [c.zh for c in MEMBER_COLUMNS]


# --- Reading exports back ----------------------------------------------------------------------


def xlsx_text(value: Any, column: Column) -> str:
    """A cell read by calamine as the text a CSV export holds."""
    if value is None or value == "":
        return ""
    if column.kind in (Kind.MONEY, Kind.DECIMAL):
        return f"{value:.2f}"
    if column.kind in (Kind.YEAR, Kind.INTEGER):
        assert float(value).is_integer()
        return str(int(value))
    assert isinstance(value, str), (column.key, value)
    return value


def read_xlsx(path: Path) -> dict[str, list[list[str]]]:
    """Both sheets as rows of text (header included)."""
    book = CalamineWorkbook.from_path(str(path))
    out: dict[str, list[list[str]]] = {}
    for name, columns in ((HOUSEHOLD_SHEET, HOUSEHOLD_COLUMNS), (MEMBER_SHEET, MEMBER_COLUMNS)):
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        header, body = rows[0], rows[1:]
        out[name] = [[str(h) for h in header]] + [
            [xlsx_text(v, c) for v, c in zip(row, columns, strict=True)] for row in body
        ]
    return out


def read_csv_bytes(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 byte order mark"
    text = data[3:].decode("utf-8")
    assert "\n" not in text.replace("\r\n", ""), "CRLF line ends only (outside quoted values)"
    return list(csv.reader(io.StringIO(text, newline="")))


def read_csv(path: Path) -> dict[str, list[list[str]]]:
    """Both files of a CSV package (folder or ZIP) as rows, with the formula apostrophe
    removed as an importer does."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            assert sorted(archive.namelist()) == sorted([HOUSEHOLD_CSV, MEMBER_CSV])
            raw = {name: archive.read(name) for name in (HOUSEHOLD_CSV, MEMBER_CSV)}
    else:
        raw = {name: (path / name).read_bytes() for name in (HOUSEHOLD_CSV, MEMBER_CSV)}
    return {
        HOUSEHOLD_SHEET: [
            [csv_unquote_text(v) for v in row] for row in read_csv_bytes(raw[HOUSEHOLD_CSV])
        ],
        MEMBER_SHEET: [
            [csv_unquote_text(v) for v in row] for row in read_csv_bytes(raw[MEMBER_CSV])
        ],
    }


def read_any(path: Path) -> dict[str, list[list[str]]]:
    return read_xlsx(path) if path.suffix == ".xlsx" else read_csv(path)


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def export(
    path: Path, **kwargs: Any
) -> tuple[exporting.ExportResult, dict[str, list[dict[str, str]]]]:
    kwargs.setdefault("actor", None)
    if path.suffix == ".xlsx":
        kwargs.setdefault("fmt", "xlsx")
    else:
        kwargs.setdefault("fmt", "csv")
    result = export_registry(path, **kwargs)
    sheets = read_any(path)
    return result, {name: as_dicts(rows) for name, rows in sheets.items()}


FORMATS = ["out.xlsx", "out.zip", "out"]


# --- Data --------------------------------------------------------------------------------------


@pytest.fixture
def registry(personas):
    """Three households in village A1, A2 and B1 (two townships) and one in another county."""
    admin = personas["city_admin"]
    first = register_household(
        admin,
        household_no="A1-0001",
        division_code=VILLAGE_A1,
        members=[
            MemberDataFactory(name="王建国", relation="head", born=dt.date(1960, 3, 8)),
            MemberDataFactory(
                name="李秀英",
                relation="spouse",
                sex="female",
                born=dt.date(1962, 7, 1),
                ethnicity="03",
                critical_illness=True,
                pension=False,
                dibao=None,
                work_place="county",
                work_months=6,
            ),
        ],
        record={
            "wage_income": Decimal("12000.50"),
            "farmland_mu": Decimal("2.5"),
            "has_electricity": True,
            "excluded_income": Decimal("300"),
        },
        identified_year=2015,
        main_cause="illness",
        other_causes=["lack_funds", "disability"],
        category="dibao",
        phone="13912345678",
    )
    second = register_household(
        admin,
        household_no="A2-0001",
        division_code=VILLAGE_A2,
        members=[MemberDataFactory(name="张伟", relation="head", ethnicity="", education="")],
        identified_year=2016,
        status="exited",
        exit_year=2018,
        phone="",
    )
    third = register_household(
        admin,
        household_no="B1-0001",
        division_code=VILLAGE_B1,
        members=[MemberDataFactory(name="赵大海", relation="head")],
    )
    fourth = register_household(
        admin,
        household_no="C1-0001",
        division_code=VILLAGE_C1,
        members=[MemberDataFactory(name="陈静", relation="head", sex="female")],
    )
    return {"A1": first, "A2": second, "B1": third, "C1": fourth}


# --- Containers, headers, values ---------------------------------------------------------------


@pytest.mark.parametrize("name", FORMATS)
def test_export_writes_both_sheets_with_the_chinese_headers_in_column_order(
    registry, tmp_path, name
):
    path = tmp_path / name
    result = export_registry(path, actor=None, fmt="xlsx" if name.endswith("xlsx") else "csv")
    sheets = read_any(path)
    assert sheets[HOUSEHOLD_SHEET][0] == HOUSEHOLD_HEADERS
    assert sheets[MEMBER_SHEET][0] == MEMBER_HEADERS
    assert result.households == 4
    assert result.members == 5
    assert result.path == path
    if name == "out":
        assert result.files == [path / HOUSEHOLD_CSV, path / MEMBER_CSV]
    else:
        assert result.files == [path]


def test_xlsx_has_exactly_the_two_sheets(registry, tmp_path):
    path = tmp_path / "out.xlsx"
    export_registry(path, actor=None)
    assert CalamineWorkbook.from_path(str(path)).sheet_names == [HOUSEHOLD_SHEET, MEMBER_SHEET]


@pytest.mark.parametrize("name", FORMATS)
def test_values_are_labels_yes_no_two_decimals_and_iso_dates(registry, tmp_path, name):
    _result, sheets = export(tmp_path / name)
    households = {h["户编号"]: h for h in sheets[HOUSEHOLD_SHEET]}
    first = households["A1-0001"]
    assert first["行政区划代码"] == VILLAGE_A1
    assert first["户主姓名"] == "王建国"
    head = Member.objects.get(household__household_no="A1-0001", relation="head")
    assert first["户主证件号码"] == head.id_number
    assert first["联系电话"] == "13912345678"
    assert first["识别年度"] == "2015"
    assert first["识别标准"] == "省定标准"
    assert first["贫困户属性"] == "低保贫困户"
    assert first["主要致贫原因"] == "因病"
    assert first["其他致贫原因"] == "缺资金、因残"
    assert first["户状态"] == "未脱贫"
    assert first["脱贫年度"] == ""
    assert first["年度"] == "2015"
    assert first["家庭人口"] == "2"
    assert first["工资性收入"] == "12000.50"
    assert first["财产性收入"] == "0.00"
    assert first["不计入收入"] == "300.00"
    assert first["耕地面积"] == "2.50"
    assert first["住房安全等级"] == "B"
    assert first["饮水安全"] == "是"
    assert first["通生活用电"] == "是"
    second = households["A2-0001"]
    assert second["户状态"] == "已脱贫"
    assert second["脱贫年度"] == "2018"
    assert second["联系电话"] == ""
    assert second["其他致贫原因"] == ""
    assert second["耕地面积"] == ""
    assert second["通生活用电"] == ""

    members = [m for m in sheets[MEMBER_SHEET] if m["户编号"] == "A1-0001"]
    assert [m["姓名"] for m in members] == ["王建国", "李秀英"]
    spouse = members[1]
    assert spouse["性别"] == "女"
    assert spouse["出生日期"] == "1962-07-01"
    assert spouse["与户主关系"] == "配偶"
    assert spouse["民族"] == "回族"
    assert spouse["文化程度"] == "初中"
    assert spouse["在校生状况"] == "非在校生"
    assert spouse["健康状况"] == "健康"
    assert spouse["劳动技能"] == "普通劳动力"
    assert spouse["务工状况"] == "县内乡外"
    assert spouse["务工时间"] == "6"
    assert spouse["基本医疗保险"] == "是"
    assert spouse["大病保险"] == "是"
    assert spouse["养老保险"] == "否"
    assert spouse["享受低保"] == ""
    lone = next(m for m in sheets[MEMBER_SHEET] if m["户编号"] == "A2-0001")
    assert lone["民族"] == ""
    assert lone["文化程度"] == ""


def test_xlsx_cells_are_typed_text_numbers_and_shared_labels(registry, tmp_path):
    path = tmp_path / "out.xlsx"
    export_registry(path, actor=None)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(HOUSEHOLD_SHEET).to_python()
    first = dict(zip(HOUSEHOLD_HEADERS, rows[1], strict=True))
    assert first["户编号"] == "A1-0001"
    assert isinstance(first["户主证件号码"], str)
    assert first["识别年度"] == 2015
    assert first["工资性收入"] == pytest.approx(12000.5)
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
        styles = archive.read("xl/styles.xml").decode()
    assert "<f>" not in sheet
    assert 'numFmtId="2"' in styles  # amounts shown with 2 decimals
    assert 'pane ySplit="1"' in sheet  # the header row stays in view


def test_members_are_active_ones_only_head_first(personas, tmp_path):
    admin = personas["city_admin"]
    household = register_household(
        admin,
        household_no="A1-0009",
        members=[
            MemberDataFactory(name="子女", relation="son", born=dt.date(2000, 1, 1)),
            MemberDataFactory(name="户主甲", relation="head"),
            MemberDataFactory(name="离开者", relation="daughter", sex="female"),
        ],
    )
    Member.objects.filter(household=household, name="离开者").update(is_active=False)
    _result, sheets = export(tmp_path / "out.zip")
    assert [m["姓名"] for m in sheets[MEMBER_SHEET]] == ["户主甲", "子女"]


def test_one_row_per_household_with_its_latest_record(registry, tmp_path):
    household = registry["A1"]
    record_save(
        actor=household_admin(registry),
        source=SOURCE,
        household=household,
        data=RecordDataFactory(survey_year=2017, household_size=2, wage_income=Decimal("99")),
    )
    _result, sheets = export(tmp_path / "out.zip")
    rows = [h for h in sheets[HOUSEHOLD_SHEET] if h["户编号"] == "A1-0001"]
    assert len(rows) == 1
    assert rows[0]["年度"] == "2017"
    assert rows[0]["工资性收入"] == "99.00"


def household_admin(registry: dict[str, Household]) -> Any:
    from fupin.accounts.models import User

    return User.objects.get(username="city_admin")


def test_a_code_outside_its_list_is_written_as_stored(registry, tmp_path):
    Household.objects.filter(household_no="A1-0001").update(standard="retired_code")
    _result, sheets = export(tmp_path / "out.xlsx")
    first = next(h for h in sheets[HOUSEHOLD_SHEET] if h["户编号"] == "A1-0001")
    assert first["识别标准"] == "retired_code"


def test_a_household_without_records_has_empty_record_columns(registry, tmp_path):
    YearlyRecord.objects.filter(household=registry["B1"]).delete()
    _result, sheets = export(tmp_path / "out.zip")
    row = next(h for h in sheets[HOUSEHOLD_SHEET] if h["户编号"] == "B1-0001")
    assert row["年度"] == row["家庭人口"] == row["工资性收入"] == ""
    assert row["户主姓名"] == "赵大海"


def test_csv_is_utf8_with_bom_crlf_and_rfc4180_quoting(personas, tmp_path):
    register_household(
        personas["city_admin"],
        household_no="A1-0100",
        members=[MemberDataFactory(name='王"大",三', relation="head")],
    )
    export_registry(tmp_path / "out", actor=None, fmt="csv")
    data = (tmp_path / "out" / MEMBER_CSV).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.endswith(b"\r\n")
    assert '"王""大"",三"'.encode() in data
    assert read_csv(tmp_path / "out")[MEMBER_SHEET][1][1] == '王"大",三'


def test_an_empty_selection_writes_the_headers_only(personas, tmp_path):
    result, sheets = export(tmp_path / "out.xlsx", division_code=VILLAGE_B1)
    assert result.households == result.members == 0
    assert sheets == {HOUSEHOLD_SHEET: [], MEMBER_SHEET: []}
    assert read_xlsx(tmp_path / "out.xlsx")[HOUSEHOLD_SHEET] == [HOUSEHOLD_HEADERS]


# --- Formula-looking and awkward text ----------------------------------------------------------

AWKWARD_NAMES = [
    '=HYPERLINK("http://example.invalid","点我")',
    "+8613912345678",
    "-1",
    "@SUM(A1)",
    "'引号",
    "A&B <王>",
    "_x0041_王",
]


@pytest.mark.parametrize("name", FORMATS)
def test_formula_looking_text_stays_text(personas, tmp_path, name):
    admin = personas["city_admin"]
    for i, awkward in enumerate(AWKWARD_NAMES):
        register_household(
            admin,
            household_no=f"A1-{i:04d}",
            members=[MemberDataFactory(name=awkward, relation="head")],
        )
    # A household number may itself begin with "-"; the phone is set around validation.
    Household.objects.filter(household_no="A1-0000").update(household_no="-0000")
    Household.objects.filter(household_no="A1-0001").update(phone="+8613912345678")
    path = tmp_path / name
    _result, sheets = export(path)
    heads = {h["户主姓名"] for h in sheets[HOUSEHOLD_SHEET]}
    assert heads == set(AWKWARD_NAMES)
    assert {m["姓名"] for m in sheets[MEMBER_SHEET]} == set(AWKWARD_NAMES)
    assert "-0000" in {h["户编号"] for h in sheets[HOUSEHOLD_SHEET]}
    assert "+8613912345678" in {h["联系电话"] for h in sheets[HOUSEHOLD_SHEET]}
    if name.endswith(".xlsx"):
        with zipfile.ZipFile(path) as archive:
            for part in ("xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"):
                xml = archive.read(part).decode()
                assert "<f>" not in xml and "<f " not in xml
                assert 's="4" t="inlineStr"><is><t>=HYPERLINK' in xml  # Excel's quote prefix
    else:
        if name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                raw = archive.read(HOUSEHOLD_CSV).decode("utf-8-sig")
        else:
            raw = (path / HOUSEHOLD_CSV).read_bytes().decode("utf-8-sig")
        assert '"\'=HYPERLINK(""http://example.invalid"",""点我"")"' in raw
        assert ",'+8613912345678," in raw
        assert "\r\n'-0000," in raw
        assert ",''引号," in raw


def test_csv_text_quoting_rule_and_its_inverse():
    for text in [*AWKWARD_NAMES, "王建国", "", "a,b", 'a"b', "''", "'"]:
        quoted = csv_text(text)
        parsed = next(csv.reader([quoted])) if quoted else [""]
        assert csv_unquote_text(parsed[0]) == text
        assert not parsed[0].startswith(("=", "+", "-", "@"))


def test_xml_awkward_characters_survive_xlsx(personas, tmp_path):
    register_household(
        personas["city_admin"],
        household_no="A1-0200",
        members=[MemberDataFactory(name="王\x0b五 ", relation="head")],
    )
    Member.objects.filter(household__household_no="A1-0200").update(name=" 王\x0b五 ")
    path = tmp_path / "out.xlsx"
    export_registry(path, actor=None)
    members = read_xlsx(path)[MEMBER_SHEET]
    assert members[1][1] == " 王\x0b五 "


# --- Masking -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "masked"), [("leader", True), ("department_user", True)])
def test_roles_without_personal_data_rights_get_masked_exports(
    registry, personas, tmp_path, persona, masked
):
    _result, sheets = export(tmp_path / "out.xlsx", actor=personas[persona])
    head = Member.objects.get(household__household_no="A1-0001", relation="head")
    first = next(h for h in sheets[HOUSEHOLD_SHEET] if h["户编号"] == "A1-0001")
    assert first["户主证件号码"] == mask_id_number(head.id_number)
    assert first["户主证件号码"].startswith(head.id_number[:4])
    assert "**********" in first["户主证件号码"]
    assert first["联系电话"] == mask_phone("13912345678") == "139****5678"
    member = next(m for m in sheets[MEMBER_SHEET] if m["姓名"] == "王建国")
    assert member["证件号码"] == mask_id_number(head.id_number)
    assert all("*" in m["证件号码"] for m in sheets[MEMBER_SHEET])


@pytest.mark.parametrize("name", ["out.xlsx", "out.zip"])
def test_the_operator_gets_unmasked_ids_and_masked_forces_masking(registry, tmp_path, name):
    _result, plain = export(tmp_path / name)
    assert not any("*" in m["证件号码"] for m in plain[MEMBER_SHEET])
    _result, masked = export(tmp_path / ("m-" + name), masked=True)
    ids = {m["证件号码"] for m in masked[MEMBER_SHEET]}
    assert ids == {mask_id_number(m["证件号码"]) for m in plain[MEMBER_SHEET]}


def test_an_administrator_gets_unmasked_ids_unless_asking_for_masking(registry, personas, tmp_path):
    admin = personas["county_admin"]
    _result, sheets = export(tmp_path / "out.zip", actor=admin)
    assert not any("*" in m["证件号码"] for m in sheets[MEMBER_SHEET])
    _result, sheets = export(tmp_path / "m.zip", actor=admin, masked=True)
    assert all("*" in m["证件号码"] for m in sheets[MEMBER_SHEET])


def test_an_actor_without_the_right_cannot_ask_for_unmasked_ids(registry, personas, tmp_path):
    with pytest.raises(PermissionDenied):
        export_registry(tmp_path / "out.zip", actor=personas["leader"], fmt="csv", masked=False)
    assert not (tmp_path / "out.zip").exists()


def test_a_twenty_character_disability_number_is_masked_whole(personas, tmp_path):
    member = MemberDataFactory(name="残疾人", relation="head")
    member.id_number += "31"
    register_household(personas["city_admin"], household_no="A1-0300", members=[member])
    _result, sheets = export(tmp_path / "out.zip", masked=True)
    masked = sheets[MEMBER_SHEET][0]["证件号码"]
    assert masked == mask_id_number(member.id_number)
    assert len(masked) == 20


# --- Scope and filters -------------------------------------------------------------------------


def numbers(sheets: dict[str, list[dict[str, str]]], sheet: str = HOUSEHOLD_SHEET) -> set[str]:
    return {row["户编号"] for row in sheets[sheet]}


def test_a_township_administrator_exports_only_their_township(registry, personas, tmp_path):
    _result, sheets = export(tmp_path / "out.zip", actor=personas["township_admin_a"])
    assert numbers(sheets) == {"A1-0001", "A2-0001"}
    assert numbers(sheets, MEMBER_SHEET) == {"A1-0001", "A2-0001"}
    _result, sheets = export(tmp_path / "b.zip", actor=personas["outsider"])
    assert numbers(sheets) == {"B1-0001"}


def test_a_village_cadre_exports_only_their_village(registry, personas, tmp_path):
    _result, sheets = export(tmp_path / "out.xlsx", actor=personas["village_cadre_a1"])
    assert numbers(sheets) == {"A1-0001"}


@pytest.mark.parametrize("code", [VILLAGE_B1, "371502002000", "999999999999", "abc"])
def test_a_division_outside_the_area_is_unknown(registry, personas, tmp_path, code):
    with pytest.raises(UnknownDivisionError, match="不存在或不在您的管辖范围内"):
        export_registry(
            tmp_path / "out" / "out.zip",
            actor=personas["township_admin_a"],
            fmt="csv",
            division_code=code,
        )
    assert not (tmp_path / "out").exists()


def test_division_narrows_to_its_subtree(registry, tmp_path):
    _result, sheets = export(tmp_path / "out.zip", division_code="371502001000")
    assert numbers(sheets) == {"A1-0001", "A2-0001"}
    _result, sheets = export(tmp_path / "c.zip", division_code=VILLAGE_C1)
    assert numbers(sheets) == {"C1-0001"}
    _result, sheets = export(tmp_path / "all.zip")
    assert numbers(sheets) == {"A1-0001", "A2-0001", "B1-0001", "C1-0001"}


def test_an_actor_without_any_role_has_nothing_to_export(db, tmp_path):
    from fupin.accounts.models import User

    nobody = User.objects.create_user(username="nobody", password="x-Persona-pass-1")
    with pytest.raises(PermissionDenied):
        export_registry(tmp_path / "out.zip", actor=nobody, fmt="csv")


def test_since_keeps_households_whose_household_member_or_record_changed(registry, tmp_path):
    long_ago = timezone.now() - dt.timedelta(days=30)
    for model in (Household, Member, YearlyRecord):
        model.objects.update(updated_at=long_ago)
    cutoff = timezone.now() - dt.timedelta(days=1)
    _result, sheets = export(tmp_path / "none.zip", since=cutoff)
    assert numbers(sheets) == set()

    Household.objects.filter(household_no="A1-0001").update(updated_at=timezone.now())
    member = Member.objects.get(household__household_no="B1-0001")
    data = MemberData(**{f: getattr(member, f) for f in MEMBER_FIELDS})
    data.education = "senior"
    member_update(actor=household_admin(registry), source=SOURCE, member=member, data=data)
    YearlyRecord.objects.filter(household=registry["C1"]).update(updated_at=timezone.now())
    result, sheets = export(tmp_path / "some.zip", since=cutoff)
    assert numbers(sheets) == {"A1-0001", "B1-0001", "C1-0001"}
    assert numbers(sheets, MEMBER_SHEET) == {"A1-0001", "B1-0001", "C1-0001"}
    assert result.households == 3


def test_since_without_a_time_zone_is_local_time(registry, tmp_path):
    long_ago = timezone.now() - dt.timedelta(days=30)
    for model in (Household, Member, YearlyRecord):
        model.objects.update(updated_at=long_ago)
    Household.objects.filter(household_no="A2-0001").update(updated_at=timezone.now())
    naive = timezone.localtime().replace(tzinfo=None) - dt.timedelta(hours=1)
    _result, sheets = export(tmp_path / "out.zip", since=naive)
    assert numbers(sheets) == {"A2-0001"}


def test_year_exports_that_years_record_and_leaves_out_households_without_one(registry, tmp_path):
    admin = household_admin(registry)
    record_save(
        actor=admin,
        source=SOURCE,
        household=registry["A1"],
        data=RecordDataFactory(survey_year=2016, household_size=2, wage_income=Decimal("16")),
    )
    result, sheets = export(tmp_path / "y2015.xlsx", year=2015)
    assert numbers(sheets) == {"A1-0001", "B1-0001", "C1-0001"}  # A2 was identified in 2016
    first = next(h for h in sheets[HOUSEHOLD_SHEET] if h["户编号"] == "A1-0001")
    assert first["年度"] == "2015"
    assert first["工资性收入"] == "12000.50"
    assert numbers(sheets, MEMBER_SHEET) == {"A1-0001", "B1-0001", "C1-0001"}
    assert result.households == 3
    _result, sheets = export(tmp_path / "y2016.xlsx", year=2016)
    assert numbers(sheets) == {"A1-0001", "A2-0001"}
    _result, sheets = export(tmp_path / "latest.xlsx")
    first = next(h for h in sheets[HOUSEHOLD_SHEET] if h["户编号"] == "A1-0001")
    assert first["年度"] == "2016"


# --- Audit, progress, errors -------------------------------------------------------------------


def test_every_export_is_audited_without_personal_data(registry, personas, tmp_path):
    path = tmp_path / "fupin-export.zip"
    export_registry(
        path,
        actor=personas["township_admin_a"],
        fmt="csv",
        year=2015,
        source=ChangeSource.web(),
    )
    event = AuditEvent.objects.get(action="export")
    assert event.entity == "registry"
    assert event.entity_key == "fupin-export.zip"
    assert event.source == "web"
    assert event.actor_username == "township_admin_a"
    assert event.division_path.endswith("371502001000/")
    assert event.after["households"] == 1
    assert event.after["members"] == 2
    assert event.after["year"] == 2015
    assert event.after["masked"] is False
    assert event.after["format"] == "csv"
    text = json.dumps(event.after, ensure_ascii=False)
    for member in Member.objects.all():
        assert member.id_number not in text
        assert member.name not in text


def test_the_default_source_is_the_export_command(registry, tmp_path):
    export_registry(tmp_path / "a.xlsx", actor=None)
    event = AuditEvent.objects.get(action="export")
    assert event.source == "command"
    assert event.source_detail == {"command": "export"}
    assert event.actor is None
    assert event.division_path == "370000000000/"


def test_progress_reports_each_stage_up_to_its_total(registry, tmp_path):
    calls: list[tuple[str, int, int]] = []
    export_registry(tmp_path / "out.xlsx", actor=None, progress=lambda *a: calls.append(a))
    stages = [c[0] for c in calls]
    assert stages[0] == "households"
    assert stages[-1] == "members"
    assert ("households", 4, 4) in calls
    assert ("members", 5, 5) in calls


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fmt": "pdf"}, "未知的导出格式"),
        ({"year": 99}, "年度"),
    ],
)
def test_bad_arguments_are_clear_errors(registry, tmp_path, kwargs, message):
    with pytest.raises(ExportError, match=message):
        export_registry(tmp_path / "out.xlsx", actor=None, **kwargs)


def test_paths_that_cannot_be_written_are_clear_errors(registry, tmp_path):
    with pytest.raises(ExportError, match="不存在"):
        export_registry(tmp_path / "missing" / "out.xlsx", actor=None)
    (tmp_path / "folder.xlsx").mkdir()
    with pytest.raises(ExportError, match="是一个目录"):
        export_registry(tmp_path / "folder.xlsx", actor=None)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="不是目录"):
        export_registry(tmp_path / "file", actor=None, fmt="csv")
    assert not AuditEvent.objects.filter(action="export").exists()


@pytest.mark.parametrize("where", ["rows", "package"])
def test_a_failed_export_leaves_no_file_and_the_old_one_intact(
    registry, tmp_path, monkeypatch, where
):
    folder = tmp_path / "out"
    folder.mkdir()
    path = folder / "out.xlsx"
    path.write_bytes(b"old")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    if where == "rows":
        monkeypatch.setattr(export_files.XlsxSheet, "write", broken)
    else:
        monkeypatch.setattr(export_files.XlsxBook, "write", broken)
    with pytest.raises(RuntimeError):
        export_registry(path, actor=None)
    assert path.read_bytes() == b"old"
    assert [p.name for p in folder.iterdir()] == ["out.xlsx"]
    assert not AuditEvent.objects.filter(action="export").exists()


def test_too_many_rows_for_a_sheet_asks_for_csv(registry, tmp_path, monkeypatch):
    monkeypatch.setattr(exporting, "XLSX_MAX_ROWS", 4)
    with pytest.raises(ExportError, match="CSV"):
        export_registry(tmp_path / "out.xlsx", actor=None)
    assert not (tmp_path / "out.xlsx").exists()
    export_registry(tmp_path / "out.zip", actor=None, fmt="csv")


def test_files_are_readable_by_their_owner_only(registry, tmp_path):
    result = export_registry(tmp_path / "out", actor=None, fmt="csv")
    for file in result.files:
        assert file.stat().st_mode & 0o077 == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", ["out.xlsx", "out.zip"])
def test_outside_a_transaction_the_export_reads_one_snapshot_on_its_own_connection(
    personas, tmp_path, name
):
    for i in range(3):
        register_household(personas["city_admin"], household_no=f"A1-{i:04d}")
    seen: list[int] = []
    # The SQLite test database lives in memory with a shared cache, where a reader locks the
    # tables; a database file in WAL mode (production) lets writers go on.
    concurrent = not (connection.vendor == "sqlite" and connection.is_in_memory_db())  # type: ignore[attr-defined]

    def progress(stage: str, done: int, total: int) -> None:
        # A change committed while the export runs is not in it.
        if concurrent and stage == "households" and done == 3 and not seen:
            seen.append(done)
            Member.objects.filter(household__household_no="A1-0000").update(name="改名")
            assert not connection.in_atomic_block

    path = tmp_path / name
    result, sheets = export(path, progress=progress)
    assert result.households == 3
    assert "改名" not in {m["姓名"] for m in sheets[MEMBER_SHEET]}
    assert Member.objects.filter(name="改名").exists() == concurrent
    assert AuditEvent.objects.filter(action="export").count() == 1


# --- The command -------------------------------------------------------------------------------


def test_command_writes_the_package_and_prints_counts(registry, tmp_path):
    out = io.StringIO()
    call_command("export_package", str(tmp_path / "out.zip"), stdout=out)
    assert "4 户、5 人" in out.getvalue()
    assert "csv" in out.getvalue()
    assert read_csv(tmp_path / "out.zip")[HOUSEHOLD_SHEET][0] == HOUSEHOLD_HEADERS


def test_command_options_reach_the_export(registry, tmp_path):
    out = io.StringIO()
    call_command(
        "export_package",
        str(tmp_path / "out.xlsx"),
        "--division",
        "371502001000",
        "--year",
        "2015",
        "--since",
        "2000-01-01",
        "--masked",
        stdout=out,
    )
    sheets = {k: as_dicts(v) for k, v in read_xlsx(tmp_path / "out.xlsx").items()}
    assert numbers(sheets) == {"A1-0001"}
    assert all("*" in m["证件号码"] for m in sheets[MEMBER_SHEET])
    assert "已屏蔽" in out.getvalue()
    call_command("export_package", str(tmp_path / "folder"), "--format", "csv", stdout=out)
    assert (tmp_path / "folder" / HOUSEHOLD_CSV).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--division", "999999999999"], "999999999999"),
        (["--since", "yesterday"], "无法识别的时间"),
        (["--year", "20x"], "年度"),
        (["--format", "pdf"], "invalid choice"),
    ],
)
def test_command_rejects_bad_arguments(registry, tmp_path, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_package", str(tmp_path / "out.xlsx"), *args)


def test_command_rejects_an_unwritable_path(registry, tmp_path):
    with pytest.raises(CommandError, match="不存在"):
        call_command("export_package", str(tmp_path / "no" / "such" / "out.xlsx"))


def test_fupin_export_exits_non_zero_on_errors(tmp_path):
    import subprocess
    import sys

    fupin = Path(sys.executable).parent / "fupin"
    env = {"FUPIN_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [str(fupin), "export", str(tmp_path / "x" / "out.xlsx")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode != 0
    assert "不存在" in done.stderr


def test_labels_stay_chinese_when_the_interface_is_english(personas, tmp_path):
    from django.utils import translation

    from fupin.exchange.exporting import export_registry
    from fupin.registry.tests.factories import register_household

    register_household(
        personas["village_cadre_a1"], household_no="EN-1", other_causes=["lack_funds"]
    )
    with translation.override("en"):
        export_registry(tmp_path / "en", actor=None, fmt="csv")
    text = (tmp_path / "en" / "households.csv").read_text(encoding="utf-8-sig")
    assert "缺资金" in text and "因病" in text and "Lack of funds" not in text
