from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fupin.accounts.models import User
from fupin.accounts.services import token_create
from fupin.core.audit import ChangeSource


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {options['username']!r}")
        token = token_create(
            actor=None, source=ChangeSource.command("create-token"), user=user, name=options["name"]
        )
        self.stdout.write(token)
