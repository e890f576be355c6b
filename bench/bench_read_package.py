"""Speed and memory of reading an exchange package (the first half of the import): containers,
text, headers and the typing of every cell, at a million people.

    .venv/bin/python bench/bench_read_package.py [--households 320000] [--formats csv,zip,xlsx]
        [--repeat 1] [--excel-style 100000]

Generates once (into bench/.data/read/, ignored by git, reused while the household count
matches) a package of valid rows from ``fupin.exchange.tests.package_builders.valid_rows``:
about 3.1 people per household, so 320,000 households are about 1,000,000 people.

- ``csv``: households.csv and members.csv in a folder, UTF-8 with a byte order mark, CRLF, as
  the export writes them; ``zip``: the same two files in a ZIP.
- ``xlsx``: a workbook as the export writes it (export_files.XlsxBook; text as inline strings,
  code labels as shared strings, numbers as numbers).
- ``--excel-style N``: also a workbook of N households written by xlsxwriter, where every text
  is a shared string, as Excel itself saves a workbook (0 to skip).

Each read runs in a child process, so the peak memory printed (maximum resident set size) is
that read's alone. Printed: seconds, people per second, the CPU time of all its threads (which
other work on the machine does not inflate: with two idle cores the wall time is at most that,
less where unzipping and polars run in parallel), and the split between reading the sheets as
text and typing them. Targets: CSV (1,000,000 members) well under 10 s; XLSX at least
50,000 people per second. The load average is printed too: other work on the machine slows every
figure.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data" / "read"
CHUNK = 10_000  # households generated at a time


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "fupin.settings"
    os.environ.setdefault("FUPIN_LOG_LEVEL", "WARNING")
    os.environ["FUPIN_DATA_DIR"] = str(DATA / "var")
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- Generating the package --------------------------------------------------------------------


def _paths(households: int) -> dict[str, Path]:
    base = DATA / f"h{households}"
    return {
        "csv": base / "csv",
        "zip": base / "package.zip",
        "xlsx": base / "package.xlsx",
        "excel": base / "excel-style.xlsx",
        "done": base / "done.json",
    }


def generate(households: int, excel_style: int) -> dict[str, Any]:
    """Write the packages unless they are there; their people count."""
    paths = _paths(households)
    if paths["done"].exists():
        done: dict[str, Any] = json.loads(paths["done"].read_text())
        if done.get("excel_style") == excel_style:
            return done
    import zipfile

    from fupin.exchange.columns import (
        HOUSEHOLD_COLUMNS,
        HOUSEHOLD_CSV,
        HOUSEHOLD_SHEET,
        MEMBER_COLUMNS,
        MEMBER_CSV,
        MEMBER_SHEET,
        Kind,
    )
    from fupin.exchange.export_cells import CSV_LINE_END, column_letter, csv_text, xlsx_text_cell
    from fupin.exchange.export_files import BOM, XlsxBook
    from fupin.exchange.export_zip import DeflatedMember, ZipWriter
    from fupin.exchange.tests.package_builders import valid_rows, write_xlsx_package

    started = time.perf_counter()
    paths["csv"].mkdir(parents=True, exist_ok=True)
    book = XlsxBook([HOUSEHOLD_SHEET, MEMBER_SHEET])
    members_parts = [DeflatedMember(paths["xlsx"].parent), DeflatedMember(paths["xlsx"].parent)]
    sheets = [
        book.sheet(HOUSEHOLD_COLUMNS, members_parts[0]),
        book.sheet(MEMBER_COLUMNS, members_parts[1]),
    ]
    letters = [column_letter(i) for i in range(40)]
    numbers = {Kind.INTEGER, Kind.YEAR, Kind.MONEY, Kind.DECIMAL}
    labels = {Kind.CODE, Kind.YES_NO}

    def xlsx_row(row: dict[str, str], columns: Any, number: int) -> str:
        cells = []
        for i, column in enumerate(columns):
            value = row.get(column.key, "")
            if not value:
                continue
            ref = f"{letters[i]}{number}"
            if column.kind in numbers:
                cells.append(f'<c r="{ref}" s="2"><v>{value}</v></c>')
            elif column.kind in labels:
                cells.append(f'<c r="{ref}" t="s"><v>{book.string(value)}</v></c>')
            else:
                cells.append(xlsx_text_cell(ref, value))
        return f'<row r="{number}">{"".join(cells)}</row>'

    def csv_line(row: dict[str, str], columns: Any) -> str:
        return ",".join(csv_text(row.get(c.key, "")) for c in columns) + CSV_LINE_END

    people = 0
    with (
        (paths["csv"] / HOUSEHOLD_CSV).open("w", encoding="utf-8", newline="") as hh_csv,
        (paths["csv"] / MEMBER_CSV).open("w", encoding="utf-8", newline="") as mm_csv,
    ):
        hh_csv.write(BOM + ",".join(c.zh for c in HOUSEHOLD_COLUMNS) + CSV_LINE_END)
        mm_csv.write(BOM + ",".join(c.zh for c in MEMBER_COLUMNS) + CSV_LINE_END)
        hh_row = mm_row = 2
        for start in range(1, households + 1, CHUNK):
            count = min(CHUNK, households - start + 1)
            hh, mm = valid_rows(count, start=start, seed=start)
            people += len(mm)
            hh_csv.write("".join(csv_line(r, HOUSEHOLD_COLUMNS) for r in hh))
            mm_csv.write("".join(csv_line(r, MEMBER_COLUMNS) for r in mm))
            text = "".join(xlsx_row(r, HOUSEHOLD_COLUMNS, hh_row + i) for i, r in enumerate(hh))
            sheets[0].write(text.encode(), len(hh))
            text = "".join(xlsx_row(r, MEMBER_COLUMNS, mm_row + i) for i, r in enumerate(mm))
            sheets[1].write(text.encode(), len(mm))
            hh_row += len(hh)
            mm_row += len(mm)
    for sheet in sheets:
        sheet.close()
    with paths["xlsx"].open("wb") as handle, ZipWriter(handle) as archive:
        book.write(archive, members_parts)
    with zipfile.ZipFile(paths["zip"], "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zipped:
        for name in (HOUSEHOLD_CSV, MEMBER_CSV):
            zipped.write(paths["csv"] / name, name)
    excel_people = 0
    if excel_style:
        hh, mm = valid_rows(excel_style, seed=7)
        excel_people = len(mm)
        write_xlsx_package(paths["excel"], hh, mm, constant_memory=False)
    done = {
        "households": households,
        "people": people,
        "excel_style": excel_style,
        "excel_people": excel_people,
        "seconds": round(time.perf_counter() - started, 1),
    }
    paths["done"].write_text(json.dumps(done))
    return done


# --- One read, in a child --------------------------------------------------------------------


def read_once(path: Path) -> dict[str, Any]:
    from fupin.exchange.import_cells import cell_rules, type_sheet
    from fupin.exchange.package import SHEET_COLUMNS, SHEETS, _keyed, open_package, read_package
    from fupin.exchange.tests.package_builders import bundled_code_lists

    rules = cell_rules(bundled_code_lists())
    started = time.perf_counter()
    cpu = time.process_time()
    package = read_package(path, rules=rules)
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu
    people = package.members.rows.height
    errors = len(package.members.errors) + len(package.households.errors)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del package
    # The same again in two halves: the sheets as text, then their typing.
    started = time.perf_counter()
    with open_package(path) as opened:
        raws = [opened.sheet(name, lambda _d, _t: None) for name in SHEETS]
    text_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for raw in raws:
        keyed, _present, _errors, _warnings = _keyed(raw, SHEET_COLUMNS[raw.name])
        type_sheet(keyed, sheet=raw.name, columns=SHEET_COLUMNS[raw.name], rules=rules)
    typing_seconds = time.perf_counter() - started
    return {
        "seconds": round(total, 2),
        "cpu_seconds": round(cpu, 2),
        "people": people,
        "people_per_second": round(people / total),
        "errors": errors,
        "text_seconds": round(text_seconds, 2),
        "typing_seconds": round(typing_seconds, 2),
        "peak_mb": round(peak),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=320_000)
    parser.add_argument("--formats", default="csv,zip,xlsx,excel")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--excel-style", type=int, default=100_000)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    setup_django()
    if args.one:
        print(json.dumps(read_once(Path(args.one))))
        return
    done = generate(args.households, args.excel_style)
    paths = _paths(args.households)
    print(
        f"package: {done['households']:,} households, {done['people']:,} people "
        f"(generated in {done['seconds']} s); load average {os.getloadavg()[0]:.2f}"
    )
    for fmt in args.formats.split(","):
        if fmt == "excel" and not done["excel_style"]:
            continue
        for _ in range(args.repeat):
            child = subprocess.run(
                [sys.executable, __file__, "--one", str(paths[fmt])],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(child.stdout.strip().splitlines()[-1])
            print(
                f"{fmt:6} {result['people']:>9,} people in {result['seconds']:6.2f} s = "
                f"{result['people_per_second']:>8,} people/s (CPU {result['cpu_seconds']} s, all "
                f"threads); text {result['text_seconds']} s, "
                f"typing {result['typing_seconds']} s; peak {result['peak_mb']:,} MB; "
                f"errors {result['errors']}"
            )
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
