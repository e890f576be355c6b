import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fupin.accounts.models import User
from fupin.exchange.import_issues import PackageUnreadable
from fupin.exchange.importing import BATCH_HOUSEHOLDS, MODES, import_package
from fupin.exchange.report import issue_line, write_error_workbook

EXIT_APPLIED = 0
EXIT_REJECTED = 1
EXIT_UNREADABLE = 2
SHOWN_ERRORS = 50


class Command(BaseCommand):
    help = (
        "Import an exchange package (数据交换格式 v1): an XLSX workbook, or households.csv and "
        "members.csv in a ZIP or a folder. Prints the report; exits 0 when applied (or a clean "
        "dry run), 1 when rows or households were rejected, 2 when the package cannot be read. "
        "Without --user the command acts for the operator, with the whole registry in scope."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the .xlsx or .zip file, or the folder")
        parser.add_argument(
            "--mode",
            choices=MODES,
            default="strict",
            help="strict: any error rejects the whole package (default); partial: households "
            "with errors are rejected, the others applied",
        )
        parser.add_argument("--dry-run", action="store_true", help="check and report only")
        parser.add_argument(
            "--json", action="store_true", help="print the report as JSON, nothing else"
        )
        parser.add_argument(
            "--report",
            type=Path,
            metavar="ERRORS.xlsx",
            help="write the rows with errors and their reasons to this workbook",
        )
        parser.add_argument("--user", default="", help="import as this user, within their area")
        parser.add_argument("--language", choices=("zh-hans", "en"), default="zh-hans")
        parser.add_argument(
            "--batch-households",
            type=int,
            default=BATCH_HOUSEHOLDS,
            help=f"households per batch (per transaction in partial mode; default {BATCH_HOUSEHOLDS:,})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        language: str = options["language"]
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"], is_active=True).first()
            if actor is None:
                raise CommandError(f"用户 {options['user']} 不存在或已停用 (no such active user)")
        path: Path = options["path"]
        shown: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            step = max(total // 10, 1)
            if done and (done // step != shown.get(stage, -1) or done == total):
                shown[stage] = done // step
                sys.stderr.write(f"  {stage}: {done:,} / {max(total, done):,}\n")

        try:
            report = import_package(
                path,
                actor=actor,
                mode=options["mode"],
                dry_run=options["dry_run"],
                progress=progress if options["verbosity"] > 1 else None,
                batch_households=max(options["batch_households"], 1),
            )
        except PackageUnreadable as exc:
            sys.stderr.write(exc.message(language) + "\n")
            if options["json"]:
                self.stdout.write(
                    json.dumps(
                        {
                            "ok": False,
                            "unreadable": {"code": exc.code, "message": exc.message(language)},
                        },
                        ensure_ascii=False,
                    )
                )
            sys.exit(EXIT_UNREADABLE)
        if options["report"] and report.errors:
            write_error_workbook(report, path, options["report"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json(language), ensure_ascii=False))
        else:
            for line in report.summary_lines(language):
                self.stdout.write(line)
            for issue in report.errors[:SHOWN_ERRORS]:
                self.stdout.write("  " + issue_line(issue, language))
            more = len(report.errors) - SHOWN_ERRORS
            if more > 0:
                self.stdout.write(
                    f"  …and {more:,} more" if language == "en" else f"  …还有 {more:,} 条"
                )
            for issue in report.warnings[:SHOWN_ERRORS]:
                self.stdout.write(
                    ("  warning: " if language == "en" else "  警告：")
                    + issue_line(issue, language)
                )
            if options["report"] and report.errors:
                label = "Error workbook" if language == "en" else "错误报告"
                self.stdout.write(f"{label}: {options['report']}")
        if report.errors:
            sys.exit(EXIT_REJECTED)
