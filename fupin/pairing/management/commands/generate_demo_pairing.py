"""``fupin generate-demo-pairing --seed S [--officials N] [--replace]``."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fupin.pairing.demo import DEFAULT_OFFICIALS, DemoError, generate_demo_pairing


class Command(BaseCommand):
    help = (
        "Add the pairing side to the demo city: help units, officials with rank levels, pairings "
        "by the automatic proposal, a year of visits, key villages with first secretaries and "
        "work teams. Run after generate-demo."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2016, help="random seed (default 2016)")
        parser.add_argument(
            "--officials", type=int, default=DEFAULT_OFFICIALS, help="number of officials"
        )
        parser.add_argument(
            "--replace", action="store_true", help="delete the pairing demo data first"
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing (exit 0) when pairing demo data exists already",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from fupin.pairing.demo import pairing_demo_exists

        if options["if_empty"] and not options["replace"] and pairing_demo_exists():
            self.stdout.write("Pairing demo data exists already; nothing to do.")
            return
        try:
            generate_demo_pairing(
                seed=options["seed"],
                officials=options["officials"],
                replace=options["replace"],
                progress=self.stdout.write,
            )
        except DemoError as exc:
            raise CommandError(str(exc)) from None
