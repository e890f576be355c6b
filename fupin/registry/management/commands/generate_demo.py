import argparse
import unicodedata
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fupin.registry.demo import DEFAULT_HOUSEHOLDS, DEFAULT_SEED, DemoError, generate_demo
from fupin.registry.models import Household


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _pad(text: str, width: int) -> str:
    """Pad to a display width: Chinese characters take two columns in a terminal."""
    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - shown, 0)


class Command(BaseCommand):
    help = (
        "Generate the synthetic demo city (示范数据): villages under the Liaocheng townships, "
        "households with members and yearly records 2014–2020, and the demo accounts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--households",
            type=_positive,
            default=DEFAULT_HOUSEHOLDS,
            help=f"number of households (default {DEFAULT_HOUSEHOLDS:,})",
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="delete all households, members and yearly records first",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing (and succeed) when households exist already",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and not options["replace"] and Household.objects.exists():
            self.stdout.write("Households exist already; the demo city is not generated again.")
            return
        try:
            result = generate_demo(
                households=options["households"],
                seed=options["seed"],
                replace=options["replace"],
                progress=self.stdout.write,
            )
        except DemoError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write("")
        self.stdout.write(
            "Demo accounts (synthetic data only; change the password on a shared server):"
        )
        header = ("username", "role", "division", "password")
        rows = [
            (a.username, a.role, f"{a.division_code} {a.division_name}", a.password)
            for a in result.accounts
        ]
        widths = [max(len(r[i]) + (6 if i == 2 else 0) for r in [header, *rows]) for i in range(4)]
        for row in [header, *rows]:
            self.stdout.write(
                "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip()
            )
