"""Reading exchange packages (exchange-format §1–§4, §6): containers, safety, encodings,
headers, XLSX specifics, and the bad-input corpus of issue 3, each with its exact code and
place."""

import datetime as dt
import hashlib
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import polars as pl
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

from fupin.exchange import import_xlsx
from fupin.exchange.columns import HOUSEHOLD_COLUMNS, MEMBER_COLUMNS
from fupin.exchange.export_cells import column_letter, xml_text_element
from fupin.exchange.export_files import XlsxBook
from fupin.exchange.export_zip import DeflatedMember, ZipWriter
from fupin.exchange.import_cells import ROW, cell_rules
from fupin.exchange.import_issues import Issue, PackageUnreadable
from fupin.exchange.package import read_package, read_raw_rows
from fupin.exchange.parsed import ParsedPackage
from fupin.exchange.tests.package_builders import (
    bundled_code_lists,
    csv_bytes,
    valid_rows,
    write_csv_package,
    write_xlsx_package,
    zip_bytes,
)

RULES = cell_rules(bundled_code_lists())
HH = "户信息"
MM = "成员信息"


def read(path: Path, **kwargs: Any) -> ParsedPackage:
    return read_package(path, rules=RULES, **kwargs)


def unreadable(path: Path) -> PackageUnreadable:
    with pytest.raises(PackageUnreadable) as caught:
        read(path)
    return caught.value


def located(issues: list[Issue]) -> list[tuple[int, str, str]]:
    return [(i.row, i.column, i.code) for i in issues]


@pytest.fixture
def rows() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    return valid_rows(3)


# --- A hand-made workbook ----------------------------------------------------------------------

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def cell(ref: str, value: Any) -> str:
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is>{xml_text_element(str(value))}</is></c>'


def sheet_rows(rows: list[list[Any]], start: int = 1) -> str:
    out = []
    for number, values in enumerate(rows, start):
        cells = "".join(
            cell(f"{column_letter(i)}{number}", v) for i, v in enumerate(values) if v != ""
        )
        out.append(f'<row r="{number}">{cells}</row>')
    return "".join(out)


def raw_xlsx(
    path: Path,
    sheets: dict[str, str],
    *,
    tails: dict[str, str] | None = None,
    shared: str | None = None,
    styles: str | None = None,
    hidden: tuple[str, ...] = (),
    workbook_pr: str = "",
    prefix: str = "",
    head: str = "",
) -> Path:
    """A workbook written by hand: ``sheets`` maps a sheet name to its sheetData XML."""
    p = f"{prefix}:" if prefix else ""
    ns = (
        f'xmlns:{prefix}="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
        if prefix
        else NS
    )
    sheet_list = "".join(
        f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"'
        + (' state="hidden"' if name in hidden else "")
        + "/>"
        for i, name in enumerate(sheets, 1)
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    n = len(sheets)
    rels += f'<Relationship Id="rId{n + 1}" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
    rels += f'<Relationship Id="rId{n + 2}" Type="{REL}/styles" Target="styles.xml"/>'
    files = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><{p}workbook {ns} xmlns:r="{REL}">{workbook_pr}'
        f"<{p}sheets>{sheet_list}</{p}sheets></{p}workbook>",
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f"{rels}</Relationships>",
        "xl/sharedStrings.xml": shared or f'<?xml version="1.0"?><sst {NS}></sst>',
        "xl/styles.xml": styles
        or f'<?xml version="1.0"?><styleSheet {NS}><cellXfs><xf numFmtId="0"/></cellXfs></styleSheet>',
    }
    for i, (name, data) in enumerate(sheets.items(), 1):
        body = data
        tail = (tails or {}).get(name, "")
        if prefix:
            body = body.replace("<row", f"<{p}row").replace("</row>", f"</{p}row>")
            body = body.replace("<c ", f"<{p}c ").replace("</c>", f"</{p}c>")
            body = body.replace("<is>", f"<{p}is>").replace("</is>", f"</{p}is>")
            body = body.replace("<t>", f"<{p}t>").replace("</t>", f"</{p}t>")
            body = (
                body.replace("<t ", f"<{p}t ").replace("<v>", f"<{p}v>").replace("</v>", f"</{p}v>")
            )
        files[f"xl/worksheets/sheet{i}.xml"] = (
            f'<?xml version="1.0"?>{head}<{p}worksheet {ns}><{p}sheetData>{body}</{p}sheetData>'
            f"{tail}</{p}worksheet>"
        )
    path.write_bytes(zip_bytes({k: v.encode() for k, v in files.items()}))
    return path


def header_row(columns: Any) -> list[str]:
    return [c.zh for c in columns]


def as_list(rows: list[dict[str, str]], columns: Any) -> list[list[Any]]:
    return [[r.get(c.key, "") for c in columns] for r in rows]


def both(households: list[dict[str, str]], members: list[dict[str, str]]) -> dict[str, str]:
    return {
        HH: sheet_rows([header_row(HOUSEHOLD_COLUMNS), *as_list(households, HOUSEHOLD_COLUMNS)]),
        MM: sheet_rows([header_row(MEMBER_COLUMNS), *as_list(members, MEMBER_COLUMNS)]),
    }


def xlsxwriter_book(
    path: Path,
    households: list[dict[str, Any]],
    members: list[dict[str, Any]],
    tweak: Callable[[Any, Any, Any], None] | None = None,
) -> Path:
    """A workbook from xlsxwriter (as Excel writes one: shared strings), then ``tweak``."""
    book = xlsxwriter.Workbook(
        str(path), {"strings_to_numbers": False, "strings_to_formulas": False}
    )
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    sheets = []
    for name, columns, data in ((HH, HOUSEHOLD_COLUMNS, households), (MM, MEMBER_COLUMNS, members)):
        sheet = book.add_worksheet(name)
        for col, column in enumerate(columns):
            sheet.write_string(0, col, column.zh)
        for r, row in enumerate(data, 1):
            for col, column in enumerate(columns):
                value = row.get(column.key)
                if value is None or value == "":
                    continue
                if isinstance(value, dt.date):
                    sheet.write_datetime(r, col, value, date)
                elif isinstance(value, int | float):
                    sheet.write_number(r, col, value)
                else:
                    sheet.write_string(r, col, value)
        sheets.append(sheet)
    if tweak:
        tweak(book, *sheets)
    book.close()
    return path


# --- Containers --------------------------------------------------------------------------------


def test_an_xlsx_package_is_read_and_typed(tmp_path, rows):
    path = write_xlsx_package(tmp_path / "p.xlsx", *rows)
    package = read(path)
    assert (package.container, package.encoding, package.file_name) == ("xlsx", "xlsx", "p.xlsx")
    assert package.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert package.households.errors == package.members.errors == []
    assert package.households.rows.height == 3
    assert package.members.rows.height == len(rows[1])
    assert package.members.rows[ROW].to_list() == list(range(2, len(rows[1]) + 2))
    assert package.households.present == frozenset(c.key for c in HOUSEHOLD_COLUMNS)
    assert package.members.name == MM and package.members.file == MM


def test_the_containers_give_the_same_typed_rows(tmp_path, rows):
    xlsx = read(write_xlsx_package(tmp_path / "p.xlsx", *rows))
    folder = read(write_csv_package(tmp_path / "folder", *rows))
    zipped = read(write_csv_package(tmp_path / "z", *rows, zip=True))
    assert (folder.container, zipped.container) == ("csv_folder", "csv_zip")
    assert folder.households.file == "households.csv"
    for other in (folder, zipped):
        assert other.households.rows.equals(xlsx.households.rows)
        assert other.members.rows.equals(xlsx.members.rows)
    h = (tmp_path / "folder" / "households.csv").read_bytes()
    m = (tmp_path / "folder" / "members.csv").read_bytes()
    assert folder.sha256 == hashlib.sha256(h + m).hexdigest()


def test_a_zip_may_hold_the_csv_files_in_one_top_folder(tmp_path, rows):
    files = {
        "包/households.csv": csv_bytes(HOUSEHOLD_COLUMNS, rows[0]),
        "包/members.csv": csv_bytes(MEMBER_COLUMNS, rows[1]),
        "__MACOSX/包/._members.csv": b"\x00\x05",
    }
    path = tmp_path / "p.zip"
    path.write_bytes(zip_bytes(files))
    package = read(path)
    assert package.container == "csv_zip"
    assert package.members.rows.height == len(rows[1])


def test_the_container_is_told_by_content_not_name(tmp_path, rows):
    path = write_xlsx_package(tmp_path / "p.xlsx", *rows)
    renamed = tmp_path / "package.dat"
    path.rename(renamed)
    assert read(renamed).container == "xlsx"


def test_a_single_csv_lacks_the_other_file(tmp_path, rows):
    path = tmp_path / "households.csv"
    path.write_bytes(csv_bytes(HOUSEHOLD_COLUMNS, rows[0]))
    error = unreadable(path)
    assert (error.code, error.detail) == ("missing_sheet", "members.csv")
    folder = tmp_path / "only"
    folder.mkdir()
    (folder / "members.csv").write_bytes(csv_bytes(MEMBER_COLUMNS, rows[1]))
    error = unreadable(folder)
    assert (error.code, error.detail) == ("missing_sheet", "households.csv")


def test_a_zip_with_one_csv_lacks_the_other(tmp_path, rows):
    path = tmp_path / "p.zip"
    path.write_bytes(zip_bytes({"members.csv": csv_bytes(MEMBER_COLUMNS, rows[1])}))
    error = unreadable(path)
    assert (error.code, error.detail) == ("missing_sheet", "households.csv")


def test_a_workbook_without_a_sheet_is_unreadable(tmp_path, rows):
    path = raw_xlsx(tmp_path / "p.xlsx", {HH: both(*rows)[HH], "其他": ""})
    error = unreadable(path)
    assert (error.code, error.detail) == ("missing_sheet", MM)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("x.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4),
        ("x.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600),
        ("x.zip", zip_bytes({"readme.txt": b"hello"})),
        (
            "x.docx",
            zip_bytes(
                {
                    "[Content_Types].xml": b"<Types/>",
                    "_rels/.rels": b'<Relationships xmlns="x"><Relationship Id="r" Type="a/officeDocument" Target="word/document.xml"/></Relationships>',
                    "word/document.xml": b"<document/>",
                }
            ),
        ),
    ],
)
def test_other_files_are_not_packages(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    assert unreadable(path).code == "unknown_container"


def test_an_empty_folder_is_not_a_package(tmp_path):
    (tmp_path / "empty").mkdir()
    assert unreadable(tmp_path / "empty").code == "unknown_container"


def test_an_empty_file_and_a_missing_one(tmp_path):
    (tmp_path / "empty.xlsx").write_bytes(b"")
    assert unreadable(tmp_path / "empty.xlsx").code == "empty"
    assert unreadable(tmp_path / "nothing.xlsx").code == "not_found"


# --- Safety ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["xlsx", "zip"])
def test_a_truncated_package_is_damaged(tmp_path, rows, kind):
    path = (
        write_xlsx_package(tmp_path / "p.xlsx", *rows)
        if kind == "xlsx"
        else write_csv_package(tmp_path, *rows, zip=True)
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert unreadable(path).code == "damaged"


def test_a_corrupt_member_is_damaged(tmp_path):
    households, members = valid_rows(200)
    path = write_csv_package(tmp_path, households, members, zip=True)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("members.csv")
    start = info.header_offset + 30 + len(info.filename.encode()) + 100
    data[start : start + 200] = bytes(200)
    path.write_bytes(bytes(data))
    assert unreadable(path).code == "damaged"


def test_a_zip_bomb_is_refused_by_its_declared_size(tmp_path, settings):
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 1024 * 1024
    path = tmp_path / "bomb.zip"
    path.write_bytes(zip_bytes({"households.csv": b"a" * (2 * 1024 * 1024), "members.csv": b"b"}))
    assert unreadable(path).code == "zip_bomb"


def test_a_zip_bomb_is_refused_by_its_compression_ratio(tmp_path, settings):
    settings.IMPORT_MAX_COMPRESSION_RATIO = 100
    path = tmp_path / "bomb.zip"
    path.write_bytes(zip_bytes({"households.csv": b"0" * (4 * 1024 * 1024), "members.csv": b""}))
    assert unreadable(path).code == "zip_bomb"


def test_a_zip_that_lies_about_its_sizes_is_refused_while_read(tmp_path, settings):
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 1024 * 1024
    settings.IMPORT_MAX_COMPRESSION_RATIO = 100_000
    data = bytearray(zip_bytes({"households.csv": b"x" * (3 * 1024 * 1024), "members.csv": b""}))
    # Declare 1,000 bytes in the local header and the central directory.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset : at + offset + 4] = (1000).to_bytes(4, "little")
    path = tmp_path / "liar.zip"
    path.write_bytes(bytes(data))
    assert unreadable(path).code in ("zip_bomb", "damaged")


def test_a_workbook_bomb_is_refused(tmp_path, rows, settings):
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 1024 * 1024
    big = sheet_rows([["户编号"], *[["1" * 100] for _ in range(20_000)]])
    path = raw_xlsx(tmp_path / "p.xlsx", {HH: big, MM: ""})
    assert unreadable(path).code == "zip_bomb"


LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)


def test_an_xml_dtd_in_a_sheet_is_refused(tmp_path, rows):
    path = raw_xlsx(tmp_path / "p.xlsx", both(*rows), head=LAUGHS)
    error = unreadable(path)
    assert error.code == "xml_dtd"


@pytest.mark.parametrize(
    "part", ["xl/sharedStrings.xml", "xl/workbook.xml", "xl/styles.xml", "docProps/app.xml"]
)
def test_an_xml_entity_in_any_part_is_refused(tmp_path, rows, part):
    path = raw_xlsx(tmp_path / "p.xlsx", both(*rows))
    with zipfile.ZipFile(path) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    original = files.get(part, b'<?xml version="1.0"?><Properties/>')
    files[part] = original.replace(b"?>", b"?>" + LAUGHS.encode(), 1)
    path.write_bytes(zip_bytes(files))
    error = unreadable(path)
    assert (error.code, error.detail) == ("xml_dtd", part)


def test_a_dtd_across_two_read_blocks_is_found(tmp_path, rows, monkeypatch):
    monkeypatch.setattr(import_xlsx, "READ_BLOCK", 64)
    households, members = rows
    sheets = both(households, members)
    sheets[MM] += "<!-- " + " " * 61 + "-->"
    path = raw_xlsx(tmp_path / "p.xlsx", sheets, tails={MM: "<!ENTITY x 'y'>"})
    assert unreadable(path).code == "xml_dtd"


# --- Encodings and CSV -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8"), ("gb18030", "gb18030"), ("gbk", "gb18030")],
)
def test_csv_encodings_are_detected_and_reported(tmp_path, rows, encoding, reported):
    package = read(write_csv_package(tmp_path, *rows, encoding=encoding))
    assert package.encoding == reported
    assert package.members.errors == []
    assert package.members.rows["name"].to_list() == [m["name"] for m in rows[1]]


def test_a_gb18030_file_with_chinese_headers_is_typed(tmp_path, rows):
    path = write_csv_package(tmp_path, *rows, encoding="gb18030")
    assert "户编号".encode("gb18030") in (path / "households.csv").read_bytes()[:20]
    package = read(path)
    assert package.households.rows["main_cause"].to_list() == [
        {
            "因病": "illness",
            "因残": "disability",
            "因学": "schooling",
            "缺劳动力": "lack_labour",
            "缺资金": "lack_funds",
            "缺技术": "lack_skills",
            "因灾": "disaster",
        }[h["main_cause"]]
        for h in rows[0]
    ]


def test_a_file_in_neither_encoding_is_refused_at_its_row(tmp_path, rows):
    path = write_csv_package(tmp_path, *rows, encoding="utf-8")
    data = (path / "members.csv").read_bytes().split(b"\r\n")
    data[3] = data[3] + b"\xff\xff\xff"
    (path / "members.csv").write_bytes(b"\r\n".join(data))
    error = unreadable(path)
    assert (error.code, error.detail, error.file) == ("encoding", "第 4 行", "members.csv")


def test_a_file_mixing_utf8_and_gb18030_is_refused_at_the_odd_row(tmp_path, rows):
    households, members = valid_rows(10)
    path = write_csv_package(tmp_path, households, members, encoding="utf-8")
    lines = (path / "members.csv").read_bytes().split(b"\r\n")
    lines[6] = lines[6].decode().encode("gb18030")
    (path / "members.csv").write_bytes(b"\r\n".join(lines))
    error = unreadable(path)
    assert (error.code, error.detail) == ("encoding", "第 7 行")
    lines = (
        [line.decode().encode("gb18030") for line in lines[:6]]
        + [line.decode("gb18030").encode() for line in lines[6:7]]
        + [line.decode().encode("gb18030") for line in lines[7:]]
    )
    (path / "members.csv").write_bytes(b"\r\n".join(lines))
    error = unreadable(path)
    assert (error.code, error.detail) == ("encoding", "第 7 行")


def test_an_unterminated_quote_is_bad_csv_at_its_row(tmp_path, rows):
    path = write_csv_package(tmp_path, *rows)
    lines = (path / "members.csv").read_bytes().split(b"\r\n")
    lines[2] = lines[2].replace(b",", b',"', 1)
    (path / "members.csv").write_bytes(b"\r\n".join(lines))
    error = unreadable(path)
    assert (error.code, error.detail, error.file) == ("bad_csv", "第 3 行", "members.csv")


def test_a_quote_inside_an_unquoted_field_is_bad_csv(tmp_path, rows):
    households, members = rows
    members[1]["name"] = "王"  # then a stray quote after it
    path = write_csv_package(tmp_path, households, members)
    data = (path / "members.csv").read_bytes().replace("王,".encode(), '王"x,'.encode(), 1)
    (path / "members.csv").write_bytes(data)
    error = unreadable(path)
    assert (error.code, error.detail) == ("bad_csv", "第 3 行")


def test_mixed_line_endings_and_blank_lines_keep_excels_row_numbers(tmp_path, rows):
    households, members = rows
    members[3]["sex"] = "未知"
    text = csv_bytes(MEMBER_COLUMNS, members, encoding="utf-8", line_end="\n").split(b"\n")
    mixed = text[0] + b"\r\n" + text[1] + b"\r" + text[2] + b"\n\n" + b"\r\n".join(text[3:])
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "members.csv").write_bytes(mixed)
    (folder / "households.csv").write_bytes(csv_bytes(HOUSEHOLD_COLUMNS, households))
    package = read(folder)
    # Header 1, rows 2 and 3, an empty row 4, then the rest from row 5: the 4th member is row 6.
    assert located(package.members.errors) == [(6, "性别", "bad_code")]
    assert package.members.rows.height == len(members)
    assert package.members.rows[ROW].to_list()[:3] == [2, 3, 5]


def test_a_quoted_first_header_after_the_byte_order_mark(tmp_path, rows):
    path = write_csv_package(tmp_path, *rows)
    data = (path / "members.csv").read_bytes()
    (path / "members.csv").write_bytes(data.replace("户编号".encode(), '"户编号"'.encode(), 1))
    assert read(path).members.errors == []


def test_quoted_fields_may_hold_commas_quotes_and_line_breaks(tmp_path, rows):
    households, members = rows
    members[0]["name"] = '王,"小"\n明'
    package = read(write_csv_package(tmp_path, households, members))
    assert package.members.rows["name"][0] == '王,"小"\n明'
    assert package.members.errors == []


def test_the_exports_apostrophe_is_dropped_once(tmp_path, rows):
    households, members = rows
    members[0]["name"] = "=SUM(A1)"
    members[1]["name"] = "'王"
    path = write_csv_package(tmp_path, households, members)
    content = (path / "members.csv").read_text(encoding="utf-8-sig")
    assert "'=SUM(A1)" in content and "''王" in content
    package = read(path)
    assert package.members.rows["name"].to_list()[:2] == ["=SUM(A1)", "'王"]


# --- Headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_headers_only_is_a_valid_empty_sheet(tmp_path, kind):
    write = write_xlsx_package if kind == "xlsx" else write_csv_package
    package = read(write(tmp_path / ("p.xlsx" if kind == "xlsx" else "p"), [], []))
    assert package.households.rows.height == package.members.rows.height == 0
    assert package.households.errors == package.members.errors == []
    assert package.members.rows.columns[:3] == [ROW, "household_no", "name"]


def test_an_empty_sheet_misses_every_required_column(tmp_path, rows):
    path = raw_xlsx(tmp_path / "p.xlsx", {HH: both(*rows)[HH], MM: ""})
    package = read(path)
    required = [c.zh for c in MEMBER_COLUMNS if c.required]
    assert located(package.members.errors) == [(1, zh, "missing_column") for zh in required]
    folder = write_csv_package(tmp_path / "c", *rows)
    (folder / "members.csv").write_bytes(b"")
    assert located(read(folder).members.errors) == [(1, zh, "missing_column") for zh in required]


def test_headers_may_be_keys_in_any_order_with_spaces_and_full_width(tmp_path, rows):
    households, members = rows
    keys = [c.key for c in MEMBER_COLUMNS][::-1]
    headers = [f" {k} " for k in keys]
    headers[0] = "ｔｅｋｕｎ"
    headers[-1] = "\u3000户编号"
    path = write_csv_package(tmp_path / "k", households, members, member_headers=headers)
    plain = read(write_csv_package(tmp_path / "p", households, members))
    package = read(path)
    assert package.members.errors == []
    assert package.members.rows.equals(plain.members.rows)


def test_unknown_duplicate_and_missing_columns(tmp_path, rows):
    households, members = rows
    headers = [c.zh for c in MEMBER_COLUMNS if c.key != "health"] + ["备注", "姓名"]
    path = write_csv_package(tmp_path, households, members, member_headers=headers)
    data = (path / "members.csv").read_bytes().split(b"\r\n")
    # The second 姓名 column holds something else; the first is read.
    data[1] = data[1] + "甲".encode()
    (path / "members.csv").write_bytes(b"\r\n".join(data))
    package = read(path)
    assert located(package.members.errors) == [
        (1, "姓名", "duplicate_column"),
        (1, "健康状况", "missing_column"),
    ]
    assert [(w.row, w.column, w.code, w.value) for w in package.members.warnings] == [
        (1, "备注", "unknown_column", "备注")
    ]
    assert package.members.rows["name"].to_list() == [m["name"] for m in members]
    assert "health" not in package.members.present
    assert package.members.rows["health"].null_count() == len(members)


# --- XLSX specifics ----------------------------------------------------------------------------


def test_formulas_are_bad_format_at_their_cell(tmp_path, rows):
    def tweak(book: Any, households: Any, members: Any) -> None:
        members.write_formula(2, 12, "=1+1", None, 2)  # 务工时间 of row 3
        members.write_formula(3, 30, "=1+1", None, 2)  # a column without a header
        members.write_string(0, 18, "备注")
        members.write_formula(3, 18, "=1+1", None, 2)  # a column that is ignored
        members.merge_range(0, 19, 0, 20, "标题")  # in the header row, ignored columns

    package = read(xlsxwriter_book(tmp_path / "p.xlsx", rows[0], rows[1], tweak=tweak))
    assert located(package.members.errors) == [(3, "务工时间", "bad_format")]
    assert package.members.rows.filter(pl.col(ROW) == 3)["work_months"].to_list() == [None]


def test_merged_cells_are_bad_format_at_the_top_left_cell(tmp_path, rows):
    households, members = rows
    # As Excel keeps them: the value in the top-left cell, the others empty.
    members[1]["household_no"] = members[2]["household_no"] = ""

    def tweak(book: Any, hh: Any, mm: Any) -> None:
        mm.merge_range(1, 0, 3, 0, members[0]["household_no"])

    package = read(xlsxwriter_book(tmp_path / "p.xlsx", households, members, tweak=tweak))
    assert located(package.members.errors) == [
        (2, "户编号", "bad_format"),
        (3, "户编号", "required"),
        (4, "户编号", "required"),
    ]


def test_a_hidden_sheet_is_read_with_a_warning(tmp_path, rows):
    def tweak(book: Any, hh: Any, mm: Any) -> None:
        mm.activate()
        hh.hide()

    package = read(xlsxwriter_book(tmp_path / "p.xlsx", rows[0], rows[1], tweak=tweak))
    assert located(package.households.warnings) == [(0, "", "hidden_sheet")]
    assert package.households.rows.height == 3
    assert package.members.warnings == []


def test_date_cells_and_date_serials_are_birth_dates(tmp_path, rows):
    households, members = rows
    births = [dt.date.fromisoformat(m["birth_date"]) for m in members]
    members = [dict(m) for m in members]
    members[0]["birth_date"] = births[0]  # a date cell
    members[1]["birth_date"] = (births[1] - dt.date(1899, 12, 30)).days  # a bare serial
    members[2]["birth_date"] = int(births[2].strftime("%Y%m%d"))  # 19850312 as a number
    package = read(xlsxwriter_book(tmp_path / "p.xlsx", households, members))
    assert package.members.errors == []
    assert package.members.rows["birth_date"].to_list() == births


def test_the_1904_date_system(tmp_path, rows):
    households, members = rows
    styles = f'<?xml version="1.0"?><styleSheet {NS}><numFmts><numFmt numFmtId="164" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/></numFmts><cellXfs><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="14"/></cellXfs></styleSheet>'
    birth = dt.date.fromisoformat(members[0]["birth_date"])
    sheets = both(households, members)
    serial = (birth - dt.date(1904, 1, 1)).days
    old = f'<c r="E2" t="inlineStr"><is><t>{members[0]["birth_date"]}</t></is></c>'
    assert old in sheets[MM]
    sheets[MM] = sheets[MM].replace(old, f'<c r="E2" s="1"><v>{serial}</v></c>')
    package = read(
        raw_xlsx(
            tmp_path / "p.xlsx", sheets, styles=styles, workbook_pr='<workbookPr date1904="1"/>'
        )
    )
    assert package.members.errors == []
    assert package.members.rows["birth_date"][0] == birth


def test_numbers_read_as_a_person_sees_them(tmp_path, rows):
    households, members = rows
    households = [dict(h) for h in households]
    households[0].update(
        identified_year=2016,
        household_size=float(households[0]["household_size"]),
        wage_income=12.5,
        business_income=0.1 + 0.2,
        farmland_mu=1013,
    )
    package = read(xlsxwriter_book(tmp_path / "p.xlsx", households, members))
    assert package.households.errors == []
    first = package.households.rows.row(0, named=True)
    assert (
        first["identified_year"],
        first["wage_income"],
        first["business_income"],
        first["farmland_mu"],
    ) == (2016, 1250, 30, 101300)
    _header, cells = read_raw_rows(tmp_path / "p.xlsx", HH, {2})
    assert cells[0][5] == "2016" and cells[0][14] == "12.5" and cells[0][15] == "0.3"


def test_text_in_a_number_column_is_bad_format(tmp_path, rows):
    households, members = rows
    households[1]["household_size"] = "三口人"
    package = read(write_xlsx_package(tmp_path / "p.xlsx", households, members))
    assert [(i.row, i.column, i.code, i.value) for i in package.households.errors] == [
        (3, "家庭人口", "bad_format", "三口人")
    ]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_10_mb_cell_is_too_long(tmp_path, rows, kind):
    households, members = rows
    members[1]["name"] = "王" * (10 * 1024 * 1024 // 3)
    write = write_xlsx_package if kind == "xlsx" else write_csv_package
    package = read(write(tmp_path / ("p.xlsx" if kind == "xlsx" else "p"), households, members))
    assert [(i.row, i.column, i.code, i.value) for i in package.members.errors] == [
        (3, "姓名", "too_long", "")
    ]
    assert package.members.rows["name"][1] is None


def test_full_width_digits_and_x_are_half_width(tmp_path, rows):
    households, members = rows
    wide = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    members[0]["id_number"] = members[0]["id_number"].translate(wide)
    members[0]["birth_date"] = members[0]["birth_date"].translate(wide)
    households[0]["wage_income"] = "１２．５"
    package = read(write_csv_package(tmp_path, households, members))
    assert package.members.errors == package.households.errors == []
    assert package.members.rows["id_number"][0] == rows[1][0]["id_number"].translate(
        str.maketrans("０１２３４５６７８９Ｘ", "0123456789X")
    )
    assert package.households.rows["wage_income"][0] == 1250


def test_codes_aliases_and_wrong_values_are_located(tmp_path, rows):
    households, members = rows
    households[0]["main_cause"] = "缺劳力"
    households[1]["main_cause"] = "缺钱"
    households[2]["wage_income"] = "12.345"
    households[0]["business_income"] = "-5"
    households[1]["identified_year"] = "2012"
    package = read(write_csv_package(tmp_path, households, members))
    assert [(i.row, i.column, i.code, i.value) for i in package.households.errors] == [
        (2, "生产经营性收入", "out_of_range", "-5"),
        (3, "识别年度", "out_of_range", "2012"),
        (3, "主要致贫原因", "bad_code", "缺钱"),
        (4, "工资性收入", "bad_format", "12.345"),
    ]
    assert package.households.rows["main_cause"][0] == "lack_labour"


def test_ten_thousand_errors_are_all_reported(tmp_path):
    households, members = valid_rows(10_000, seed=3)
    for h in households:
        h["housing_grade"] = "E"
    package = read(write_csv_package(tmp_path, households, members))
    assert len(package.households.errors) == 10_000
    assert package.households.errors[-1].row == 10_001


# --- Hand-made XML ----------------------------------------------------------------------------


def test_prefixed_xml_cells_without_references_and_alias_sheet_names(tmp_path, rows):
    households, members = rows
    for member in members:
        member["education"] = "初中"  # every cell present: without references, order places them
    sheets = both(households, members)
    plain = read(raw_xlsx(tmp_path / "plain.xlsx", sheets))
    renamed = {"households": sheets[HH], "members": sheets[MM]}
    prefixed = read(raw_xlsx(tmp_path / "x.xlsx", renamed, prefix="x"))
    assert prefixed.members.rows.equals(plain.members.rows)
    unreferenced = {k: _drop_cell_refs(v) for k, v in sheets.items()}
    package = read(raw_xlsx(tmp_path / "n.xlsx", unreferenced))
    assert package.members.rows.equals(plain.members.rows)


@pytest.mark.parametrize(
    "layout",
    [
        lambda xml: xml.replace(' t="inlineStr"', ' s="0" t="inlineStr"'),  # r, s, t
        lambda xml: xml.replace(' t="inlineStr"', ' t="inlineStr" s="0"'),  # r, t, s
        lambda xml: xml.replace(' t="inlineStr"', ' cm="1" t="inlineStr"'),  # another attribute
        lambda xml: re.sub(r'<c r="([A-Z]+[0-9]+)" t="inlineStr"', r"<c t='inlineStr' r='\1'", xml),
        lambda xml: xml.replace('<row r="', '<row spans="1:18" r="'),
    ],
)
def test_cell_attributes_in_any_order_and_quoting(tmp_path, rows, layout):
    households, members = rows
    sheets = both(households, members)
    plain = read(raw_xlsx(tmp_path / "plain.xlsx", sheets))
    changed = read(raw_xlsx(tmp_path / "x.xlsx", {k: layout(v) for k, v in sheets.items()}))
    assert changed.members.errors == plain.members.errors == []
    assert changed.members.rows.equals(plain.members.rows)
    assert changed.households.rows.equals(plain.households.rows)


def _drop_cell_refs(xml: str) -> str:
    return re.sub(r'<c r="[A-Z]+[0-9]+"', "<c", xml)


def test_rich_text_phonetics_escapes_entities_and_cdata(tmp_path, rows):
    households, members = rows
    sheets = both(households, members)
    name = members[0]["name"]
    old = f'<c r="B2" t="inlineStr"><is><t>{name}</t></is></c>'
    assert old in sheets[MM]
    shared = (
        f'<?xml version="1.0"?><sst {NS} count="3">'
        f"<si><r><rPr><b/></rPr><t>{name[0]}</t></r><r><t>{name[1:]}</t></r>"
        '<rPh sb="0" eb="1"><t>ワン</t></rPh><phoneticPr fontId="1"/></si>'
        "<si><t>a&amp;b&lt;c&#x4E2D;_x000D_d</t></si>"
        '<si><t xml:space="preserve"> 健康 </t></si></sst>'
    )
    sheets[MM] = sheets[MM].replace(old, '<c r="B2" t="s"><v>0</v></c>')
    old_health = f'<c r="J3" t="inlineStr"><is><t>{members[1]["health"]}</t></is></c>'
    sheets[MM] = sheets[MM].replace(old_health, '<c r="J3" t="s"><v>2</v></c>')
    old_name = f'<c r="B4" t="inlineStr"><is><t>{members[2]["name"]}</t></is></c>'
    sheets[MM] = sheets[MM].replace(
        old_name, '<c r="B4" t="inlineStr"><is><t><![CDATA[<王&>]]></t><!-- note --></is></c>'
    )
    sheets[MM] = sheets[MM].replace(
        '</row><row r="3">', '<c r="Z2" t="s"><v>1</v></c></row><row r="3">', 1
    )
    sheets[MM] = sheets[MM].replace('<c r="A1"', '<c r="Z1" t="str"><v>备注</v></c><c r="A1"', 1)
    package = read(raw_xlsx(tmp_path / "p.xlsx", sheets, shared=shared))
    names = package.members.rows["name"].to_list()
    assert names[0] == name and names[2] == "<王&>"
    assert package.members.rows["health"][1] == "healthy"
    header, cells = read_raw_rows(tmp_path / "p.xlsx", MM, {2})
    assert header[25] == "备注"
    assert cells[0][25] == "a&b<c中\rd"


def test_booleans_errors_and_formula_strings(tmp_path, rows):
    households, members = rows
    sheets = both(households, members)
    old = f'<c r="N2" t="inlineStr"><is><t>{members[0]["basic_medical"]}</t></is></c>'
    assert old in sheets[MM]
    sheets[MM] = sheets[MM].replace(old, '<c r="N2" t="b"><v>1</v></c>')
    old = f'<c r="F3" t="inlineStr"><is><t>{members[1]["relation"]}</t></is></c>'
    sheets[MM] = sheets[MM].replace(old, '<c r="F3" t="e"><v>#N/A</v></c>')
    package = read(raw_xlsx(tmp_path / "p.xlsx", sheets))
    assert [(i.row, i.column, i.code, i.value) for i in package.members.errors] == [
        (2, "基本医疗保险", "bad_code", "TRUE"),
        (3, "与户主关系", "bad_code", "#N/A"),
    ]


# --- Raw rows and progress --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["xlsx", "csv", "zip"])
def test_read_raw_rows_gives_the_rows_as_written(tmp_path, rows, kind):
    households, members = rows
    members[1]["name"] = " 王 "
    members[2]["name"] = "=1+1"
    if kind == "xlsx":
        path = write_xlsx_package(tmp_path / "p.xlsx", households, members)
    else:
        path = write_csv_package(tmp_path / "p", households, members, zip=kind == "zip")
    header, cells = read_raw_rows(path, MM, {4, 3, 999})
    assert header == [c.zh for c in MEMBER_COLUMNS]
    assert len(cells) == 3
    assert cells[0][1] == " 王 " and cells[1][1] == "=1+1"
    assert cells[0][0] == members[1]["household_no"]
    assert cells[2] == [""] * len(header)
    assert all(len(r) == len(header) for r in cells)


def test_progress_is_reported_up_to_the_total(tmp_path):
    path = write_xlsx_package(tmp_path / "p.xlsx", *valid_rows(50))
    seen: list[tuple[int, int]] = []
    read(path, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1]
    assert all(0 <= d <= t for d, t in seen)
    assert [d for d, _t in seen] == sorted(d for d, _t in seen)


@pytest.mark.django_db
def test_the_code_lists_come_from_the_database_by_default(tmp_path, rows):
    package = read_package(write_xlsx_package(tmp_path / "p.xlsx", *rows))
    assert package.households.errors == []
    assert package.households.rows["standard"].to_list() == ["national"] * 3


# --- The export's own XLSX cells read back -----------------------------------------------------

SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
TEXT = st.text(
    alphabet=st.characters(exclude_categories=SURROGATES, exclude_characters="\x00"),
    max_size=20,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=6))
def test_text_cells_of_the_export_read_back_exactly(tmp_path_factory, texts):
    """export_cells' text cells (escapes, quote prefix, preserved spaces) and shared strings,
    in a workbook of export_files, read back as written."""
    folder = tmp_path_factory.mktemp("x")
    book = XlsxBook([HH, MM])
    members = [DeflatedMember(folder), DeflatedMember(folder)]
    from fupin.exchange.export_cells import xlsx_text_cell

    sheets = [book.sheet(HOUSEHOLD_COLUMNS, members[0]), book.sheet(MEMBER_COLUMNS, members[1])]
    sheets[0].close()
    body = "".join(
        f'<row r="{r}">{xlsx_text_cell(f"B{r}", t)}<c r="C{r}" t="s"><v>{book.string(t)}</v></c></row>'
        for r, t in enumerate(texts, 2)
    )
    sheets[1].write(body.encode(), len(texts))
    sheets[1].close()
    path = folder / "p.xlsx"
    with path.open("wb") as handle, ZipWriter(handle) as archive:
        book.write(archive, members)
    _header, cells = read_raw_rows(path, MM, set(range(2, len(texts) + 2)))
    assert [c[1] for c in cells] == texts
    assert [c[2] for c in cells] == texts
