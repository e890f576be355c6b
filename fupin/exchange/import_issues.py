"""The problems an import reports (exchange-format §6): one shared vocabulary for the package
reader, the validator, the report and the pages.

An ``Issue`` is one problem at one place: sheet, Excel row (the header is row 1), column
(Chinese header), code, and the offending value where it is not personal data. Its message is
made on demand in the language asked for, so one report can be shown in Chinese on the screen
and English through the API, and the error workbook is always in Chinese.
"""

from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# exchange-format §6, plus the codes this project adds (documented in docs/import.md).
ISSUE_MESSAGES: dict[str, Any] = {
    "missing_column": _("The required column is missing."),
    "duplicate_column": _("The column appears more than once; only the first is read."),
    "unknown_column": _("Unknown column; it is ignored."),
    "hidden_sheet": _("The sheet is hidden in Excel; it is read all the same."),
    "required": _("A value is required."),
    "too_long": _("The text is too long."),
    "bad_format": _("The value is not in the format this column needs."),
    "bad_code": _("The value is not in this column's list."),
    "out_of_range": _("The value is outside the allowed range."),
    "id_checksum": _("The check character of the id number is wrong."),
    "id_invalid": _("The id number has a wrong length, characters or birth date."),
    "id_sex_mismatch": _("The sex does not agree with the id number."),
    "id_birth_mismatch": _("The birth date does not agree with the id number."),
    "unknown_division": _("The division code is not a village or group in the registry."),
    "out_of_scope": _("The division is outside the part of the city you may change."),
    "duplicate_household": _("The household number appears more than once in the file."),
    "duplicate_person": _("The person appears more than once in the file."),
    "person_in_other_household": _("The person belongs to another household in the registry."),
    "no_head": _("The household has no member whose relation is 户主 (head)."),
    "multiple_heads": _("The household has more than one member whose relation is 户主 (head)."),
    "head_mismatch": _("The head's name or id number differs from the 户主 member row."),
    "size_mismatch": _("The household size differs from the number of member rows."),
    "orphan_member": _("The household number is not in the household sheet."),
    "exit_year_missing": _("An exited household (已脱贫) needs its exit year."),
    "too_many_errors": _("Too many errors; checking stopped. Fix these and import again."),
}

# Why a package cannot be read at all (the command exits with 2).
UNREADABLE_MESSAGES: dict[str, Any] = {
    "not_found": _("The file or folder does not exist."),
    "empty": pgettext_lazy("import package", "The file is empty."),
    "unknown_container": _(
        "Not an exchange package: give an XLSX workbook, a ZIP holding households.csv and "
        "members.csv, or a folder holding them."
    ),
    "damaged": _("The file is damaged or truncated and cannot be opened."),
    "zip_bomb": _("The package unpacks to more than the allowed size."),
    "xml_dtd": _("The workbook contains XML declarations (DTD or entities), which are refused."),
    "encoding": _("The text is neither UTF-8 nor GB18030/GBK."),
    "bad_csv": _("The CSV file is not well formed (RFC 4180)."),
    "missing_sheet": _("The package lacks a required sheet or file."),
}


@dataclass(frozen=True)
class Issue:
    """One problem (or warning) at one place in the package."""

    sheet: str  # 户信息 or 成员信息 (the Chinese sheet name also for CSV files)
    row: int  # as Excel shows it: the header is row 1; 0 when it concerns the whole sheet
    column: str  # the Chinese column header, "" when the issue is about a row
    code: str  # a key of ISSUE_MESSAGES
    value: str = ""  # the offending value, never personal data (id numbers, names, phones)
    detail: str = ""  # optional extra text, already in Chinese (e.g. "应为 3，实为 4")
    household_no: str = field(default="", compare=False)  # which household the row belongs to

    def message(self, language: str = "zh-hans") -> str:
        with translation.override(language):
            text = str(ISSUE_MESSAGES.get(self.code, self.code))
        return f"{text}（{self.detail}）" if self.detail else text

    def as_json(self, language: str = "zh-hans") -> dict[str, Any]:
        entry: dict[str, Any] = {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "message": self.message(language),
        }
        if self.value:
            entry["value"] = self.value
        return entry


class PackageUnreadable(Exception):  # noqa: N818 (a state of the package, not a programming error)
    """The package cannot be read at all (exit code 2): ``code`` is a key of UNREADABLE_MESSAGES."""

    def __init__(self, code: str, detail: str = "", *, file: str = "") -> None:
        self.code = code
        self.detail = detail
        self.file = file
        super().__init__(self.message("en"))

    def message(self, language: str = "zh-hans") -> str:
        with translation.override(language):
            text = str(UNREADABLE_MESSAGES.get(self.code, self.code))
        where = f"{self.file}: " if self.file else ""
        return f"{where}{text}" + (f" ({self.detail})" if self.detail else "")
