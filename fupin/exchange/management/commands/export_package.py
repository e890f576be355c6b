import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fupin.core.errors import PermissionDenied
from fupin.exchange.exporting import ExportError, export_registry


def _since(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        msg = f"无法识别的时间 {text!r}，请用 ISO 格式，如 2020-06-30 或 2020-06-30T08:00+08:00"
        raise argparse.ArgumentTypeError(msg) from None


def _year(text: str) -> int:
    try:
        year = int(text)
    except ValueError:
        year = 0
    if not 2000 <= year <= 2100:
        msg = f"年度应为四位数的年份，而不是 {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return year


def _default_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return "xlsx"
    if suffix == ".zip" or path.is_dir() or not suffix:
        return "csv"
    return "xlsx"


class Command(BaseCommand):
    help = (
        "Export the registry in exchange format v1 (数据交换格式 §8): one XLSX workbook, or "
        "households.csv and members.csv in a ZIP (PATH ending in .zip) or a folder. The whole "
        "registry unless --division narrows it; id numbers and phones unmasked unless --masked. "
        "The export is audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="file (.xlsx, .zip) or folder to write")
        parser.add_argument(
            "--format",
            choices=("xlsx", "csv"),
            help="xlsx or csv (default: csv for .zip or a folder, else xlsx)",
        )
        parser.add_argument("--division", default="", help="12-digit code: only its subtree")
        parser.add_argument(
            "--since",
            type=_since,
            help="only households changed since this time (ISO 8601; local time if no offset)",
        )
        parser.add_argument(
            "--year", type=_year, help="only this survey year's records (default: the latest)"
        )
        parser.add_argument(
            "--masked", action="store_true", help="mask id numbers and phones (3715**********123X)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        fmt = options["format"] or _default_format(path)
        started = dt.datetime.now(dt.UTC)
        shown: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            # A line per tenth, on stderr, so stdout keeps only the result.
            step = max(total // 10, 1)
            if done and (done // step != shown.get(stage, -1) or done == total):
                shown[stage] = done // step
                sys.stderr.write(f"  {stage}: {done:,} / {max(total, done):,}\n")

        try:
            result = export_registry(
                path,
                actor=None,
                fmt=fmt,
                division_code=options["division"],
                since=options["since"],
                year=options["year"],
                masked=True if options["masked"] else None,
                progress=progress if options["verbosity"] > 1 else None,
            )
        except (ExportError, PermissionDenied) as exc:
            raise CommandError(str(exc)) from None
        seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
        masked = "已屏蔽证件号码和电话" if options["masked"] else "未屏蔽"
        self.stdout.write(
            f"已导出 {result.households:,} 户、{result.members:,} 人（{fmt}，{masked}），"
            f"用时 {seconds:.1f} 秒："
        )
        for file in result.files:
            self.stdout.write(f"  {file}")
