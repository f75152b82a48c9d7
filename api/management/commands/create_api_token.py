"""python manage.py create_api_token USERNAME [--name NAME]: the token is the last line."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.models import ApiToken


class Command(BaseCommand):
    help = "Make a personal API token for a user and print it (on the last line)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What will use the token.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user {options['username']!r}.")
        if not user.is_active:
            raise CommandError(f"{user.get_username()} is not active.")
        _token, raw = ApiToken.issue(user, options["name"][:100])
        self.stdout.write(
            f"Token {options['name'][:100]!r} for {user.get_username()}; it is not shown again:"
        )
        self.stdout.write(raw)
