"""The report of an import (exchange-format §6): counts, errors and warnings, as JSON, as text
for the screen, and as an error workbook that copies the offending rows with their reasons.

The workbook holds, for each sheet, the original header and the rows that were not applied
because of an error: the rows with errors and the other rows of their households, so that it
is itself a package of the rejected households, ready to fix in Excel and send again. Two
columns are added at the end, 原行号 (the row in the file sent) and 错误原因 (every error of
the row); the importer ignores them (with an unknown-column warning) when the workbook comes
back. A third sheet, 错误说明, lists every error, including those about a whole sheet.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import xlsxwriter

from fupin.exchange.columns import HOUSEHOLD_SHEET, MEMBER_SHEET
from fupin.exchange.import_issues import Issue

ROW_COLUMN = "原行号"
REASON_COLUMN = "错误原因"
SUMMARY_SHEET = "错误说明"
# Columns this module adds; dropped when a workbook it made comes back with new errors.
ADDED_COLUMNS = (ROW_COLUMN, REASON_COLUMN)
SAME_HOUSEHOLD = "（同户其他行有错误，本行未导入）"
XLSX_MAX_CELL = 32_767


@dataclass
class ImportReport:
    """What an import did (or, in a dry run or a rejected strict import, would do)."""

    ok: bool
    mode: str
    dry_run: bool
    encoding: str
    households: dict[str, int]  # created, updated, unchanged, rejected
    members: dict[str, int]  # created, updated, unchanged, left, rejected
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    file_name: str = ""
    sha256: str = ""
    container: str = ""
    seconds: float = 0.0
    applied: bool = False  # whether anything was written to the registry
    moved: int = 0  # people who moved between households (also in created and left)
    # Excel rows per sheet that were not applied because of errors (for the error workbook).
    rejected_rows: dict[str, list[int]] = field(default_factory=dict, repr=False)

    @property
    def rejected(self) -> bool:
        return bool(self.errors)

    def as_json(self, language: str = "zh-hans") -> dict[str, Any]:
        """The §6 JSON, plus ``file`` (name, sha256, container), ``applied``, ``moved`` and
        ``seconds``."""
        return {
            "ok": self.ok,
            "mode": self.mode,
            "dry_run": self.dry_run,
            "encoding": self.encoding,
            "households": dict(self.households),
            "members": dict(self.members),
            "errors": [e.as_json(language) for e in self.errors],
            "warnings": [w.as_json(language) for w in self.warnings],
            "file": {"name": self.file_name, "sha256": self.sha256, "container": self.container},
            "applied": self.applied,
            "moved": self.moved,
            "seconds": round(self.seconds, 3),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ImportReport":
        """A report back from its JSON (e.g. stored by a job). Messages are made again from
        the codes; the rows of rejected households are not in the JSON, so an error workbook
        made from it copies only the rows with errors."""
        file = data.get("file") or {}
        return cls(
            ok=bool(data["ok"]),
            mode=str(data["mode"]),
            dry_run=bool(data["dry_run"]),
            encoding=str(data.get("encoding", "")),
            households=dict(data["households"]),
            members=dict(data["members"]),
            errors=[_issue(e) for e in data.get("errors", [])],
            warnings=[_issue(w) for w in data.get("warnings", [])],
            file_name=str(file.get("name", "")),
            sha256=str(file.get("sha256", "")),
            container=str(file.get("container", "")),
            seconds=float(data.get("seconds", 0.0)),
            applied=bool(data.get("applied", False)),
            moved=int(data.get("moved", 0)),
        )

    def summary_lines(self, language: str = "zh-hans") -> list[str]:
        """The counts as lines for the screen."""
        h, m = self.households, self.members
        if language == "en":
            state = _state_en(self)
            return [
                f"{self.file_name} ({self.container}, {self.encoding}): {state}",
                f"Households: {h['created']:,} created, {h['updated']:,} updated, "
                f"{h['unchanged']:,} unchanged, {h['rejected']:,} rejected",
                f"Members: {m['created']:,} created, {m['updated']:,} updated, "
                f"{m['unchanged']:,} unchanged, {m['left']:,} left, {m['rejected']:,} rejected"
                + (f" ({self.moved:,} moved between households)" if self.moved else ""),
                f"Errors: {len(self.errors):,}; warnings: {len(self.warnings):,}; "
                f"{self.seconds:.1f} s",
            ]
        return [
            f"{self.file_name}（{self.container}，{self.encoding}）：{_state_zh(self)}",
            f"户：新增 {h['created']:,}，更新 {h['updated']:,}，未变 {h['unchanged']:,}，"
            f"拒绝 {h['rejected']:,}",
            f"成员：新增 {m['created']:,}，更新 {m['updated']:,}，未变 {m['unchanged']:,}，"
            f"减少 {m['left']:,}，拒绝 {m['rejected']:,}"
            + (f"（其中迁移 {self.moved:,} 人）" if self.moved else ""),
            f"错误 {len(self.errors):,} 条，警告 {len(self.warnings):,} 条，用时 {self.seconds:.1f} 秒",
        ]


def _state_zh(report: ImportReport) -> str:
    if report.dry_run:
        return "试导入（未写入）" + ("，无错误" if report.ok else "，有错误")
    if report.ok:
        return "已导入"
    if report.mode == "strict" or not report.applied:
        return "有错误，未导入任何数据"
    return "部分导入：有错误的户未导入"


def _state_en(report: ImportReport) -> str:
    if report.dry_run:
        return "dry run (nothing written)" + ("" if report.ok else ", with errors")
    if report.ok:
        return "imported"
    if report.mode == "strict" or not report.applied:
        return "errors: nothing was imported"
    return "partly imported: households with errors were not imported"


def _issue(entry: dict[str, Any]) -> Issue:
    """An issue back from its JSON; its detail is what its message adds to the code's text."""
    issue = Issue(
        sheet=str(entry["sheet"]),
        row=int(entry["row"]),
        column=str(entry.get("column", "")),
        code=str(entry["code"]),
        value=str(entry.get("value", "")),
        detail=str(entry.get("detail", "")),
    )
    if issue.detail:
        return issue  # stored with its detail (e.g. by an import job)
    message = str(entry.get("message", ""))
    for language in ("zh-hans", "en"):
        base = issue.message(language)
        if message.startswith(base + "（") and message.endswith("）"):
            return replace(issue, detail=message[len(base) + 1 : -1])
    return issue


def issue_line(issue: Issue, language: str = "zh-hans") -> str:
    """One error as a line: sheet, row, column, message, value."""
    place = (
        f"{issue.sheet} 第 {issue.row} 行" if language != "en" else f"{issue.sheet} row {issue.row}"
    )
    if issue.column:
        place += f" {issue.column}"
    value = f" [{issue.value}]" if issue.value else ""
    return f"{place}: {issue.message(language)}{value} ({issue.code})"


def _reasons(issues: Iterable[Issue]) -> dict[str, dict[int, list[str]]]:
    """Per sheet and row, the errors' texts (in Chinese: the workbook goes back to the
    sender)."""
    out: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for issue in issues:
        if issue.row > 1:
            text = issue.message("zh-hans")
            out[issue.sheet][issue.row].append(f"{issue.column}：{text}" if issue.column else text)
    return out


def write_error_workbook(report: ImportReport, package_path: Path, out_path: Path) -> Path:
    """Write the error workbook of ``report`` for the package at ``package_path`` to
    ``out_path`` (XLSX): each sheet's header and its rejected rows copied from the package,
    with 原行号 and 错误原因 at the end, and the list of all errors in 错误说明."""
    from fupin.exchange.package import read_raw_rows

    reasons = _reasons(report.errors)
    book = xlsxwriter.Workbook(
        str(out_path),
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    try:
        bold = book.add_format({"bold": True})
        wrap = book.add_format({"font_color": "#C00000"})
        for sheet_name in (HOUSEHOLD_SHEET, MEMBER_SHEET):
            rows = set(report.rejected_rows.get(sheet_name, ())) | set(reasons.get(sheet_name, {}))
            header, cells = read_raw_rows(Path(package_path), sheet_name, rows)
            keep = [i for i, name in enumerate(header) if name.strip() not in ADDED_COLUMNS]
            sheet = book.add_worksheet(sheet_name)
            titles = [header[i] for i in keep] + [ROW_COLUMN, REASON_COLUMN]
            for col, title in enumerate(titles):
                sheet.write_string(0, col, title, bold)
            sheet.freeze_panes(1, 0)
            for out_row, (row_number, raw) in enumerate(zip(sorted(rows), cells, strict=True), 1):
                for col, index in enumerate(keep):
                    text = raw[index] if index < len(raw) else ""
                    if text:
                        sheet.write_string(out_row, col, text[:XLSX_MAX_CELL])
                sheet.write_number(out_row, len(keep), row_number)
                why = "；".join(reasons.get(sheet_name, {}).get(row_number, [])) or SAME_HOUSEHOLD
                sheet.write_string(out_row, len(keep) + 1, why[:XLSX_MAX_CELL], wrap)
            sheet.set_column(len(keep) + 1, len(keep) + 1, 60)
        summary = book.add_worksheet(SUMMARY_SHEET)
        for col, title in enumerate(("工作表", "行号", "列", "错误代码", "错误原因", "值")):
            summary.write_string(0, col, title, bold)
        for out_row, issue in enumerate(report.errors, 1):
            summary.write_string(out_row, 0, issue.sheet)
            summary.write_number(out_row, 1, issue.row)
            summary.write_string(out_row, 2, issue.column)
            summary.write_string(out_row, 3, issue.code)
            summary.write_string(out_row, 4, issue.message("zh-hans"))
            if issue.value:
                summary.write_string(out_row, 5, issue.value[:XLSX_MAX_CELL])
        summary.set_column(4, 4, 60)
    finally:
        book.close()
    return out_path
