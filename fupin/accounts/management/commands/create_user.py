import os
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fupin.accounts.roles import RankLevel, Role
from fupin.accounts.services import user_create
from fupin.core.audit import ChangeSource


class Command(BaseCommand):
    help = (
        "Create a user with a role over a division subtree. The password comes from "
        "FUPIN_PASSWORD or standard input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--division", required=True, help="12-digit division code")
        parser.add_argument("--name", default="", help="full name")
        parser.add_argument("--unit", default="")
        parser.add_argument("--rank-level", default=RankLevel.OTHER, choices=RankLevel.values)
        parser.add_argument("--phone", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("FUPIN_PASSWORD")
        if password is None:
            if sys.stdin.isatty():
                import getpass

                password = getpass.getpass("Password: ")
            else:
                password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise CommandError("A password is required (FUPIN_PASSWORD or standard input).")
        try:
            user = user_create(
                actor=None,
                source=ChangeSource.command("create-user"),
                username=options["username"],
                password=password,
                role=options["role"],
                division_code=options["division"],
                full_name=options["name"],
                unit=options["unit"],
                rank_level=options["rank_level"],
                phone=options["phone"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"created {user.username} ({options['role']} @ {options['division']})")
