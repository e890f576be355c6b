"""Cell normalisation and typing of the import (exchange-format §1–§4, §6): each kind's rules,
the id number check against fupin.registry.idnumbers, the member checks, and the round trip of
the export's cells."""

import datetime as dt
import string

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from fupin.exchange import import_cells
from fupin.exchange.columns import HOUSEHOLD_COLUMNS, MEMBER_COLUMNS, Column
from fupin.exchange.export_cells import csv_text
from fupin.exchange.import_cells import (
    FLAGGED,
    ROW,
    cell_rules,
    header_key,
    normalise,
    normalise_text,
    type_sheet,
    type_values,
)
from fupin.exchange.package import parse_csv
from fupin.exchange.tests.package_builders import bundled_code_lists, valid_rows
from fupin.registry.idnumbers import IdNumberError, make_id_number, parse_id_number

TODAY = dt.date(2024, 6, 30)
RULES = cell_rules(bundled_code_lists(), today=TODAY)
HOUSEHOLD = {c.key: c for c in HOUSEHOLD_COLUMNS}
MEMBER = {c.key: c for c in MEMBER_COLUMNS}


def typed(column: Column, *texts: str | None) -> list[tuple[object, str | None]]:
    frame = type_values(column, list(texts), RULES)
    return list(zip(frame["value"].to_list(), frame["error"].to_list(), strict=True))


def one(column: Column, text: str | None) -> tuple[object, str | None]:
    return typed(column, text)[0]


# --- Normalisation -----------------------------------------------------------------------------


def test_normalise_trims_and_makes_full_width_half_width():
    frame = pl.DataFrame({"x": ["\u3000１２３Ａｂ－，（）\u00a0", "  ", None, "\ufeff户主 "]})
    out = frame.select(normalise(pl.col("x"))).to_series().to_list()
    assert out == ["123Ab-,()", None, None, "户主"]


def test_names_keep_full_width_punctuation_but_not_full_width_digits():
    frame = pl.DataFrame({"x": ["王（小）１号"]})
    out = frame.select(normalise(pl.col("x"), punctuation=False)).to_series().to_list()
    assert out == ["王（小）1号"]


def test_headers_match_chinese_names_and_keys_in_any_width_and_case():
    lookup = {c.zh: c for c in MEMBER_COLUMNS} | {c.key: c for c in MEMBER_COLUMNS}
    assert header_key(" 证件号码\u3000", lookup) is MEMBER["id_number"]
    assert header_key("ＩＤ＿ＮＵＭＢＥＲ", lookup) is MEMBER["id_number"]
    assert header_key("备注", lookup) is None
    assert normalise_text("ｈｏｕｓｅｈｏｌｄ＿ｎｏ ") == "household_no"


# --- Kinds -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "text", "value", "error"),
    [
        ("household_no", "371502001201-0001", "371502001201-0001", None),
        ("household_no", "３７１５０２Ａ", "371502A", None),
        ("household_no", "37150 2", None, "bad_format"),
        ("household_no", "1" * 33, None, "too_long"),
        ("division_code", "371502001201", "371502001201", None),
        ("division_code", "37150200120", None, "bad_format"),
        ("division_code", "3715020012O1", None, "bad_format"),
        ("head_name", "王" * 50, "王" * 50, None),
        ("head_name", "王" * 51, None, "too_long"),
        ("phone", "13812345678", "13812345678", None),
        ("phone", "0635-8123456", "0635-8123456", None),
        ("phone", "010-12345678", "010-12345678", None),
        ("phone", "12812345678", None, "bad_format"),
        ("phone", "1381234567", None, "bad_format"),
        ("phone", "8123456", None, "bad_format"),
        ("identified_year", "2016", 2016, None),
        ("identified_year", "２０１６", 2016, None),
        ("identified_year", "2016.0", 2016, None),
        ("identified_year", "2012", None, "out_of_range"),
        ("identified_year", "2025", None, "out_of_range"),
        ("identified_year", "2024", 2024, None),
        ("identified_year", "二〇一六", None, "bad_format"),
        ("identified_year", "2016.5", None, "bad_format"),
        ("exit_year", "1899", None, "out_of_range"),
        ("household_size", "3", 3, None),
        ("household_size", "+3", 3, None),
        ("household_size", "0", None, "out_of_range"),
        ("household_size", "31", None, "out_of_range"),
        ("household_size", "三", None, "bad_format"),
        ("household_size", "99999999999999999999", None, "out_of_range"),
        ("wage_income", "1013.5", 101350, None),
        ("wage_income", "1013.50", 101350, None),
        ("wage_income", "1013.500", 101350, None),
        ("wage_income", "1,013.50", 101350, None),
        ("wage_income", "１０１３．５", 101350, None),
        ("wage_income", "0", 0, None),
        ("wage_income", ".5", 50, None),
        ("wage_income", "5.", 500, None),
        ("wage_income", "-0.00", 0, None),
        ("wage_income", "1013.505", None, "bad_format"),
        ("wage_income", "-1", None, "out_of_range"),
        ("wage_income", "10000000000", None, "out_of_range"),
        ("wage_income", "9999999999.99", 999999999999, None),
        ("wage_income", "一千", None, "bad_format"),
        ("wage_income", "1,0000", None, "bad_format"),
        ("wage_income", ".", None, "bad_format"),
        ("wage_income", "1e3", None, "bad_format"),
        ("farmland_mu", "1.5", 150, None),
        ("farmland_mu", "1000000", None, "out_of_range"),
        ("standard", "国家标准", "national", None),
        ("main_cause", "缺劳力", "lack_labour", None),
        ("main_cause", "缺劳动力", "lack_labour", None),
        ("main_cause", "其它", "other", None),
        ("main_cause", "illness", "illness", None),
        ("main_cause", "缺劳", None, "bad_code"),
        ("housing_grade", "a", "A", None),
        ("housing_grade", "Ｃ", "C", None),
        ("housing_grade", "E", None, "bad_code"),
        ("safe_water", "是", True, None),
        ("safe_water", "否", False, None),
        ("safe_water", "有", None, "bad_code"),
    ],
)
def test_each_kind_types_its_cells(key, text, value, error):
    column = HOUSEHOLD[key]
    assert one(column, text) == (value, error)


@pytest.mark.parametrize(
    ("text", "value", "error"),
    [
        ("1985-03-12", dt.date(1985, 3, 12), None),
        ("1985/3/2", dt.date(1985, 3, 2), None),
        ("19850312", dt.date(1985, 3, 12), None),
        ("1985.3.12", dt.date(1985, 3, 12), None),
        ("1985年3月12日", dt.date(1985, 3, 12), None),
        ("1985-03-12 00:00:00", dt.date(1985, 3, 12), None),
        ("31118", dt.date(1985, 3, 12), None),  # an Excel date serial
        ("31118.75", dt.date(1985, 3, 12), None),
        ("1", dt.date(1900, 1, 1), None),
        ("61", dt.date(1900, 3, 1), None),
        ("60", None, "bad_format"),  # Excel's 1900-02-29
        ("1985-02-30", None, "bad_format"),
        ("1985-13-01", None, "bad_format"),
        ("12/03/1985", None, "bad_format"),
        ("1899-12-31", None, "out_of_range"),
        ("2024-07-01", None, "out_of_range"),
        ("2024-06-30", dt.date(2024, 6, 30), None),
    ],
)
def test_dates_accept_the_formats_and_excel_serials(text, value, error):
    assert one(MEMBER["birth_date"], text) == (value, error)


def test_other_causes_are_up_to_two_codes_with_any_separator():
    column = HOUSEHOLD["other_causes"]
    assert typed(column, "因病、缺劳力", "因病,因残", "因学；缺水", "因病，", "因病、因病") == [
        (["illness", "lack_labour"], None),
        (["illness", "disability"], None),
        (["schooling", "lack_water"], None),
        (["illness"], None),
        (["illness"], None),
    ]
    assert typed(column, "因病、穷", "因病、因残、因学") == [
        (None, "bad_code"),
        (None, "bad_format"),
    ]


def test_an_empty_cell_is_required_or_empty():
    assert one(HOUSEHOLD["standard"], "") == (None, "required")
    assert one(HOUSEHOLD["phone"], "  ") == (None, None)
    assert one(HOUSEHOLD["other_causes"], None) == ([], None)


def test_text_over_excels_limit_is_too_long_in_every_column():
    assert one(HOUSEHOLD["standard"], "国" * 40_000) == (None, "too_long")
    assert one(HOUSEHOLD["other_causes"], "因病" * 20_000) == (None, "too_long")


def test_a_flagged_cell_is_empty_without_a_second_error():
    assert one(HOUSEHOLD["standard"], FLAGGED) == (None, None)
    assert one(HOUSEHOLD["identified_year"], FLAGGED) == (None, None)


# --- Id numbers --------------------------------------------------------------------------------


def test_id_numbers_are_upper_cased_and_keyed_by_their_first_18_characters():
    column = MEMBER["id_number"]
    base = make_id_number("371502", dt.date(1990, 1, 31), 12)
    with_x = next(
        make_id_number("371502", dt.date(1990, 1, 31), n)
        for n in range(1000)
        if make_id_number("371502", dt.date(1990, 1, 31), n).endswith("X")
    )
    assert one(column, with_x.lower()) == (with_x, None)
    assert one(column, with_x.replace("X", "Ｘ")) == (with_x, None)
    assert one(column, base + "34") == (base + "34", None)
    assert one(column, base + "84") == (None, "id_invalid")
    assert one(column, base[:17]) == (None, "id_invalid")
    wrong = base[:17] + ("0" if base[17] != "0" else "1")
    assert one(column, wrong) == (None, "id_checksum")
    raw = pl.DataFrame({ROW: [2, 3], "id_number": [base, base + "34"]})
    rows = type_sheet(raw, sheet="成员信息", columns=MEMBER_COLUMNS, rules=RULES).rows
    assert rows["person_key"].to_list() == [base, base]


def vectorised_codes(ids: list[str]) -> list[str | None]:
    return type_values(MEMBER["id_number"], ids, RULES)["error"].to_list()


def reference_code(raw: str) -> str | None:
    try:
        parse_id_number(raw, today=TODAY)
    except IdNumberError as exc:
        return exc.code
    return None


ID_CHARS = string.digits + "Xx"


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    birth = draw(st.dates(dt.date(1890, 1, 1), dt.date(2030, 12, 31)))
    value = make_id_number(
        draw(st.from_regex(r"[0-9]{6}", fullmatch=True)), birth, draw(st.integers(0, 999))
    )
    if draw(st.booleans()):
        value += draw(st.sampled_from(["11", "74", "34", "80", "15", "1"]))
    mutation = draw(st.sampled_from(["none", "char", "drop", "add", "lower", "birth"]))
    position = draw(st.integers(0, len(value) - 1))
    if mutation == "char":
        value = value[:position] + draw(st.sampled_from(ID_CHARS + "A ")) + value[position + 1 :]
    elif mutation == "drop":
        value = value[:position] + value[position + 1 :]
    elif mutation == "add":
        value = value[:position] + draw(st.sampled_from(ID_CHARS)) + value[position:]
    elif mutation == "lower":
        value = value.lower()
    elif mutation == "birth":
        value = (
            value[:10]
            + draw(st.sampled_from(["0230", "1301", "0431", "0000", "1231"]))
            + value[14:]
        )
    return value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(id_numbers(), min_size=1, max_size=40))
@example(["11010519491231002X", "110105194912310021", "11010519491231002x"])
def test_the_vectorised_id_check_agrees_with_parse_id_number(ids):
    assume(all(i.strip() == i and i for i in ids))
    assert vectorised_codes(ids) == [reference_code(i) for i in ids]


# --- Members -----------------------------------------------------------------------------------


def test_member_sex_and_birth_date_must_agree_with_the_id_number():
    _households, members = valid_rows(1, seed=5)
    head = members[0]
    rows = [
        dict(head),
        dict(head, sex="女" if head["sex"] == "男" else "男"),
        dict(head, birth_date="2001-01-01"),
        dict(head, id_number=head["id_number"][:17] + "0", sex="女", birth_date="2001-01-01"),
    ]
    raw = pl.DataFrame(rows).with_columns(pl.Series(ROW, [2, 3, 4, 5], dtype=pl.Int64))
    sheet = type_sheet(raw, sheet="成员信息", columns=MEMBER_COLUMNS, rules=RULES)
    found = [(i.row, i.column, i.code) for i in sheet.errors]
    assert (3, "性别", "id_sex_mismatch") in found
    assert (4, "出生日期", "id_birth_mismatch") in found
    assert [f for f in found if f[0] == 2] == []
    # A wrong id number says so once; sex and birth date are not compared with it.
    checksum = next(f for f in found if f[0] == 5 and f[1] == "证件号码")[2]
    assert checksum in ("id_checksum", "id_invalid")
    assert [f for f in found if f[0] == 5 and f[1] != "证件号码"] == []
    # The values are kept: which of the two is wrong is for the person to say.
    sex = "female" if rows[1]["sex"] == "女" else "male"
    assert sheet.rows.filter(pl.col(ROW) == 3)["sex"].to_list() == [sex]


# --- A sheet -----------------------------------------------------------------------------------


def test_type_sheet_has_every_column_typed_and_drops_empty_rows():
    households, _members = valid_rows(2)
    raw = pl.DataFrame(
        {
            ROW: [2, 3, 4],
            "household_no": [households[0]["household_no"], "  ", households[1]["household_no"]],
            "wage_income": ["12.5", None, "3"],
        }
    )
    sheet = type_sheet(raw, sheet="户信息", columns=HOUSEHOLD_COLUMNS, rules=RULES)
    assert sheet.rows[ROW].to_list() == [2, 4]
    keys = [c.key for c in HOUSEHOLD_COLUMNS]
    at = keys.index("head_id_number") + 1
    assert sheet.rows.columns == [ROW, *keys[:at], "head_id_number_person", *keys[at:]]
    assert sheet.rows.schema["wage_income"] == pl.Int64
    assert sheet.rows.schema["other_causes"] == pl.List(pl.String)
    assert sheet.rows["other_causes"].to_list() == [[], []]
    assert sheet.rows.schema["safe_water"] == pl.Boolean
    assert sheet.rows["wage_income"].to_list() == [1250, 300]
    assert sheet.errors == []  # absent columns are the reader's business (missing_column)


def test_issues_never_carry_personal_data():
    raw = pl.DataFrame(
        {
            ROW: [2],
            "household_no": ["H-1"],
            "name": ["王" * 60],
            "id_number": ["123"],
            "sex": ["不详"],
            "birth_date": ["1985-99-99"],
        }
    )
    sheet = type_sheet(raw, sheet="成员信息", columns=MEMBER_COLUMNS, rules=RULES)
    values = {i.column: i.value for i in sheet.errors}
    assert values["姓名"] == ""
    assert values["证件号码"] == ""
    assert values["出生日期"] == ""
    assert values["性别"] == "不详"
    assert {i.household_no for i in sheet.errors} == {"H-1"}


def test_errors_are_in_row_then_column_order_and_capped(monkeypatch):
    monkeypatch.setattr(import_cells, "MAX_ERRORS_PER_SHEET", 5)
    monkeypatch.setattr(import_cells, "SLICE_ROWS", 3)
    raw = pl.DataFrame(
        {
            ROW: list(range(2, 12)),
            "standard": ["x"] * 10,
            "household_no": ["bad no"] * 10,
        }
    )
    sheet = type_sheet(raw, sheet="户信息", columns=HOUSEHOLD_COLUMNS, rules=RULES)
    assert [(i.row, i.column) for i in sheet.errors[:5]] == [
        (2, "户编号"),
        (2, "识别标准"),
        (3, "户编号"),
        (3, "识别标准"),
        (4, "户编号"),
    ]
    assert sheet.errors[-1].code == "too_many_errors"
    assert sheet.errors[-1].detail == "20"
    assert len(sheet.errors) == 6


def test_ten_thousand_errors_are_all_kept():
    raw = pl.DataFrame({ROW: list(range(2, 10_002)), "standard": ["不知道"] * 10_000})
    sheet = type_sheet(raw, sheet="户信息", columns=HOUSEHOLD_COLUMNS, rules=RULES)
    assert len(sheet.errors) == 10_000
    assert {i.code for i in sheet.errors} == {"bad_code"}


# --- Round trip of the export's cells ----------------------------------------------------------

# Names as people write them, with what CSV and spreadsheets find special: quotes, commas, line
# breaks, formula characters, apostrophes. Full-width digits and letters are left out (the
# import makes them half-width, by the format's rule), and so are edge spaces (trimmed).
NAME_TEXT = st.text(
    alphabet=st.sampled_from(list("王李张·（）()-'=+@\",，\n\r;ab 1" + "àé😀")),
    min_size=1,
    max_size=12,
).filter(lambda t: t == t.strip() and t.strip("\r\n") == t)


@settings(max_examples=200, deadline=None)
@given(st.lists(NAME_TEXT, min_size=1, max_size=8))
def test_csv_cells_of_the_export_read_back_as_written(names):
    lines = ["姓名,户编号"] + [f"{csv_text(name)},H-{i}" for i, name in enumerate(names)]
    text = ("\r\n".join(lines) + "\r\n").encode()
    headers, frame = parse_csv(text, "members.csv")
    assert headers == ["姓名", "户编号"]
    raw = frame.rename({"c0": "name", "c1": "household_no"})
    rows = type_sheet(raw, sheet="成员信息", columns=MEMBER_COLUMNS, rules=RULES).rows
    assert rows["name"].to_list() == names
    assert rows[ROW].to_list() == list(range(2, len(names) + 2))
