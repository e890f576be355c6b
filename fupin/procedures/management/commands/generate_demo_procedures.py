import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from fupin.procedures.demo import generate_demo_procedures
from fupin.procedures.models import Case


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


class Command(BaseCommand):
    help = (
        "Generate demo procedure cases (identification, exit, monitoring) spread over their "
        "steps, some paused by an objection, for the households of the demo city."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cases", type=_positive, default=400, help="number of cases (400)")
        parser.add_argument("--seed", type=int, default=2016, help="random seed (2016)")
        parser.add_argument("--replace", action="store_true", help="delete every case first")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when cases exist already"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and not options["replace"] and Case.objects.exists():
            self.stdout.write("Cases exist already; nothing generated.")
            return
        result = generate_demo_procedures(
            cases=options["cases"], seed=options["seed"], replace=options["replace"]
        )
        counts = ", ".join(f"{k} {v}" for k, v in sorted(result.by_procedure.items()))
        self.stdout.write(
            f"{result.cases} cases ({counts}); {result.paused} paused by an objection"
        )
