"""Exchange packages for tests and benchmarks, written from Python rows.

Rows are dicts from column key to cell; a missing key is an empty cell. Cells are text as a
file holds it (``"户主"``, ``"1013.50"``); in XLSX an ``int``, ``float`` or ``Decimal`` becomes a
number cell (as Excel holds numbers) and a ``datetime.date`` a date cell.

- ``valid_rows(n_households)``: consistent households and members with valid id numbers;
- ``write_csv_package(folder, households, members)``: households.csv and members.csv (or a ZIP);
- ``write_xlsx_package(path, households, members)``: a workbook with both sheets.

Headers are the Chinese names of ``columns.py`` unless ``headers`` says otherwise.
"""

import csv
import datetime as dt
import io
import random
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter

from fupin.core.code_lists import BUNDLED_FILE, Code, CodeList
from fupin.exchange.columns import (
    HOUSEHOLD_COLUMNS,
    HOUSEHOLD_CSV,
    HOUSEHOLD_SHEET,
    MEMBER_COLUMNS,
    MEMBER_CSV,
    MEMBER_SHEET,
    Column,
)
from fupin.exchange.export_cells import csv_text
from fupin.exchange.import_cells import normalise_text
from fupin.registry.idnumbers import make_id_number

Row = Mapping[str, Any]
VILLAGE = "371502001201"  # village A1 of the test personas (conftest.py)


def bundled_code_lists() -> dict[str, CodeList]:
    """The bundled code lists without a database (for typing tests and benchmarks)."""
    grouped: dict[str, list[Code]] = {}
    with BUNDLED_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            grouped.setdefault(row["list_key"], []).append(
                Code(
                    code=row["code"],
                    label_zh=row["label_zh"],
                    label_en=row["label_en"],
                    aliases=tuple(a for a in row["aliases"].split("|") if a),
                    valid_from=dt.date.fromisoformat(row["valid_from"]),
                    valid_to=dt.date.fromisoformat(row["valid_to"]) if row["valid_to"] else None,
                )
            )
    return {key: CodeList(key, codes) for key, codes in grouped.items()}


# --- Valid rows --------------------------------------------------------------------------------

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华"
_CAUSES = ["因病", "因残", "因学", "缺劳动力", "缺资金", "缺技术", "因灾"]


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2))))


def valid_rows(
    n_households: int,
    *,
    village_code: str = VILLAGE,
    survey_year: int = 2020,
    seed: int = 2016,
    start: int = 1,
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """``n_households`` consistent households (1–5 members each, about 3 on average) as the
    text an export holds: the head first, valid id numbers (no two alike), sizes that match."""
    rng = random.Random(seed)
    seen: set[str] = set()
    households: list[dict[str, str]] = []
    members: list[dict[str, str]] = []
    for number in range(start, start + n_households):
        household_no = f"{village_code}{number:05d}"
        size = rng.choice((1, 2, 3, 3, 3, 4, 4, 5))
        head_birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 40))
        people = []
        for index in range(size):
            if index == 0:
                birth, relation = head_birth, "户主"
            elif index == 1:
                birth = head_birth + dt.timedelta(days=rng.randrange(-2000, 2000))
                relation = "配偶"
            else:
                birth = head_birth + dt.timedelta(days=rng.randrange(7000, 12000))
                relation = "之子"
            male = relation in ("户主", "之子") if index != 1 else False
            sequence = rng.randrange(0, 499) * 2 + (1 if male else 0)
            id_number = make_id_number(village_code[:6], birth, sequence)
            while id_number in seen:  # a repeated birth date and sequence: the next, same sex
                sequence = (sequence + 2) % 1000
                id_number = make_id_number(village_code[:6], birth, sequence)
            seen.add(id_number)
            people.append(
                {
                    "household_no": household_no,
                    "name": _name(rng),
                    "id_number": id_number,
                    "sex": "男" if male else "女",
                    "birth_date": birth.isoformat(),
                    "relation": relation,
                    "ethnicity": "汉族",
                    "education": rng.choice(("小学", "初中", "高中", "")),
                    "schooling": "非在校生",
                    "health": rng.choice(("健康", "健康", "长期慢性病", "残疾")),
                    "labour": rng.choice(("普通劳动力", "弱劳动力或半劳动力", "丧失劳动力")),
                    "work_place": "未务工",
                    "work_months": "0",
                    "basic_medical": "是",
                    "critical_illness": "是",
                    "pension": rng.choice(("是", "否")),
                    "dibao": "否",
                    "tekun": "否",
                }
            )
        head = people[0]
        main_cause = rng.choice(_CAUSES)
        other = rng.choice([c for c in _CAUSES if c != main_cause])
        households.append(
            {
                "household_no": household_no,
                "division_code": village_code,
                "head_name": head["name"],
                "head_id_number": head["id_number"],
                "phone": f"13{rng.randrange(0, 10**9):09d}",
                "identified_year": str(rng.choice((2014, 2015, 2016))),
                "standard": "国家标准",
                "category": rng.choice(("一般贫困户", "低保贫困户")),
                "main_cause": main_cause,
                "other_causes": rng.choice(("", other)),
                "status": "未脱贫",
                "exit_year": "",
                "survey_year": str(survey_year),
                "household_size": str(size),
                "wage_income": f"{rng.randrange(0, 2_000_000) / 100:.2f}",
                "business_income": f"{rng.randrange(0, 500_000) / 100:.2f}",
                "property_income": "0.00",
                "transfer_income": f"{rng.randrange(0, 300_000) / 100:.2f}",
                "business_cost": f"{rng.randrange(0, 100_000) / 100:.2f}",
                "excluded_income": "0.00",
                "farmland_mu": f"{rng.randrange(0, 1000) / 100:.2f}",
                "housing_grade": rng.choice("ABAB"),
                "safe_water": "是",
                "food_secure": "是",
                "clothing_secure": "是",
                "has_electricity": "是",
            }
        )
        members.extend(people)
    return households, members


# --- CSV ---------------------------------------------------------------------------------------


def _headers(columns: Sequence[Column], headers: Sequence[str] | None) -> list[str]:
    return list(headers) if headers is not None else [c.zh for c in columns]


def _keys(columns: Sequence[Column], headers: Sequence[str] | None) -> list[str]:
    """The column key each header stands for ("" for one that names no column)."""
    if headers is None:
        return [c.key for c in columns]
    lookup = {c.zh: c.key for c in columns} | {c.key: c.key for c in columns}
    return [
        lookup.get(normalise_text(h).lower(), lookup.get(normalise_text(h), "")) for h in headers
    ]


def csv_bytes(
    columns: Sequence[Column],
    rows: Iterable[Row],
    *,
    headers: Sequence[str] | None = None,
    encoding: str = "utf-8-sig",
    line_end: str = "\r\n",
) -> bytes:
    """A CSV file as the export writes it: quoting as RFC 4180 needs, an apostrophe before text
    that begins with a formula character."""
    keys = _keys(columns, headers)
    lines = [",".join(csv_text(h) for h in _headers(columns, headers))]
    lines.extend(
        ",".join(csv_text(str(row.get(key, "") or "")) if key else "" for key in keys)
        for row in rows
    )
    return (line_end.join(lines) + line_end).encode(encoding)


def write_csv_package(
    folder: Path,
    households: Iterable[Row],
    members: Iterable[Row],
    *,
    encoding: str = "utf-8-sig",
    zip: bool = False,
    line_end: str = "\r\n",
    household_headers: Sequence[str] | None = None,
    member_headers: Sequence[str] | None = None,
    name: str = "package",
) -> Path:
    """households.csv and members.csv in ``folder`` (returned), or with ``zip`` a ZIP
    ``folder/<name>.zip`` holding both at its top (returned)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        HOUSEHOLD_CSV: csv_bytes(
            HOUSEHOLD_COLUMNS,
            households,
            headers=household_headers,
            encoding=encoding,
            line_end=line_end,
        ),
        MEMBER_CSV: csv_bytes(
            MEMBER_COLUMNS, members, headers=member_headers, encoding=encoding, line_end=line_end
        ),
    }
    if zip:
        path = folder / f"{name}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for file_name, data in files.items():
                archive.writestr(file_name, data)
        return path
    for file_name, data in files.items():
        (folder / file_name).write_bytes(data)
    return folder


# --- XLSX --------------------------------------------------------------------------------------


def _write_cell(sheet: Any, row: int, col: int, value: Any, formats: dict[str, Any]) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, dt.date):
        sheet.write_datetime(row, col, value, formats["date"])
    elif isinstance(value, int | float | Decimal):
        sheet.write_number(row, col, float(value))
    else:
        sheet.write_string(row, col, str(value), formats["text"])


def write_xlsx_package(
    path: Path,
    households: Iterable[Row],
    members: Iterable[Row],
    *,
    household_headers: Sequence[str] | None = None,
    member_headers: Sequence[str] | None = None,
    sheet_names: tuple[str, str] = (HOUSEHOLD_SHEET, MEMBER_SHEET),
    constant_memory: bool = True,
) -> Path:
    """A workbook with the two sheets (xlsxwriter; text cells in text format as the export
    writes them)."""
    book = xlsxwriter.Workbook(
        str(path), {"constant_memory": constant_memory, "strings_to_numbers": False}
    )
    formats = {"date": book.add_format({"num_format": "yyyy-mm-dd"}), "text": None}
    for name, columns, rows, headers in (
        (sheet_names[0], HOUSEHOLD_COLUMNS, households, household_headers),
        (sheet_names[1], MEMBER_COLUMNS, members, member_headers),
    ):
        sheet = book.add_worksheet(name)
        for col, header in enumerate(_headers(columns, headers)):
            sheet.write_string(0, col, header)
        keys = _keys(columns, headers)
        for row_index, row in enumerate(rows, 1):
            for col, key in enumerate(keys):
                if key:
                    _write_cell(sheet, row_index, col, row.get(key), formats)
    book.close()
    return path


def zip_bytes(files: Mapping[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP archive of ``files`` (name → content), in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()
