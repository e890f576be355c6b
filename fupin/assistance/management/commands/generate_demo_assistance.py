from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fupin.assistance.demo import (
    DemoAssistanceError,
    assistance_exists,
    generate_demo_assistance,
)

DEFAULT_SEED = 2016


class Command(BaseCommand):
    help = (
        "Generate the demo city's assistance (示范帮扶数据) from its registry: measures for most "
        "households, housing renovations with their stages, and about 300 projects with budgets, "
        "disbursements, milestones and beneficiaries. Run after generate-demo."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="delete all measures, photos and projects first (the catalogue stays)",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing (and succeed) when measures or projects exist already",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and not options["replace"] and assistance_exists():
            self.stdout.write("Assistance data exists already; it is not generated again.")
            return
        try:
            generate_demo_assistance(
                seed=options["seed"], replace=options["replace"], progress=self.stdout.write
            )
        except DemoAssistanceError as exc:
            raise CommandError(str(exc)) from None
