"""What the package reader hands to the validator: each sheet as one polars frame of typed
values, plus the issues found cell by cell.

Column types in ``ParsedSheet.rows`` (one column per column key of ``columns.py``, always all
of them, null where the file lacks the column, the cell is empty or the value is wrong):
- TEXT, HOUSEHOLD_NO, DIVISION, PHONE: ``pl.String``, trimmed and full-width normalised;
- ID_NUMBER: ``pl.String`` upper-case (``x`` → ``X``) as given (18 or 20 characters), plus a
  column ``<key>_person`` (``person_key`` for members, ``head_id_number_person`` for
  households) with its first 18 characters; null when the id is invalid;
- CODE: ``pl.String``, the internal code of the code list (``CodeItem.code``, e.g. ``exited``);
- CODES: ``pl.List(pl.String)`` of internal codes (empty list when the cell is empty);
- YES_NO: ``pl.Boolean``; INTEGER and YEAR: ``pl.Int64``; DATE: ``pl.Date``;
- MONEY and DECIMAL: ``pl.Int64`` in hundredths (fen; 1.5 亩 → 150), exact.
The frame also has ``_row`` (``pl.Int64``): the row number Excel shows (header = row 1).
"""

from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from fupin.exchange.import_issues import Issue

Container = Literal["xlsx", "csv_folder", "csv_zip"]


@dataclass
class ParsedSheet:
    name: str  # 户信息 or 成员信息
    file: str  # where it came from inside the package, e.g. "households.csv" or "户信息"
    rows: pl.DataFrame
    present: frozenset[str]  # keys of the columns the file has
    errors: list[Issue] = field(default_factory=list)  # header and cell errors
    warnings: list[Issue] = field(default_factory=list)


@dataclass
class ParsedPackage:
    file_name: str  # the package's own name (file or folder), for the history
    sha256: str  # of the file as uploaded (for a folder: of both CSV files in order)
    container: Container
    encoding: str  # "utf-8", "utf-8-sig" or "gb18030" for CSV; "xlsx" for a workbook
    households: ParsedSheet
    members: ParsedSheet
