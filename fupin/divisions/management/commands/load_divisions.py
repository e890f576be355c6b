import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fupin.divisions.services import DivisionFileError, divisions_load_csv

BUNDLED = Path(__file__).resolve().parents[2] / "data" / "liaocheng-divisions.csv"


class Command(BaseCommand):
    help = (
        "Load divisions (行政区划) from a CSV code,name,level,parent_code (upsert, history kept)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file",
            nargs="?",
            type=Path,
            default=BUNDLED,
            help="CSV file (default: the bundled Liaocheng divisions down to townships)",
        )
        parser.add_argument(
            "--valid-from",
            type=dt.date.fromisoformat,
            default=None,
            help="YYYY-MM-DD from which new divisions of this file are valid",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            result = divisions_load_csv(path, valid_from=options["valid_from"])
        except DivisionFileError as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{path.name}: {len(exc.errors)} error(s), nothing loaded") from None
        self.stdout.write(
            f"{path.name}: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged"
        )
