import secrets
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from postmortems.demo import DEMO_PEOPLE, seed_demo


class Command(BaseCommand):
    help = "Create a demo team, its people and incidents, importing the demo postmortems."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--password",
            help="Password for every demo user (default: a new random one, printed).",
        )

    def handle(self, *args: Any, password: str | None = None, **options: Any) -> None:
        password = password or secrets.token_urlsafe(9)
        _team, _people, created = seed_demo(password)
        if created:
            self.stdout.write(f"Created {len(created)} incidents with postmortems.")
        else:
            self.stdout.write("Demo incidents already exist; only the passwords were reset.")
        users = ", ".join([*DEMO_PEOPLE, "ravi"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo users: {users} (sarah manages Payments Platform and is staff: she can "
                "open /admin/; ravi is on another team)\n"
                f"Password for all of them: {password}"
            )
        )
