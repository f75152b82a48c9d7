from __future__ import annotations

import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from incidents.models import Team
from postmortems.importing.service import (
    ImportPlan,
    ImportRefused,
    decode,
    plan_import,
    write_import,
)
from postmortems.layouts import LAYOUTS


class Command(BaseCommand):
    # call_command("import_postmortem", "-", stdin=...) reads that stream instead of sys.stdin.
    stealth_options = ("stdin",)
    help = (
        "Import a postmortem written in Markdown. Prints what goes where and, on its last "
        "line, the created incident's reference."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", help="A Markdown file (- for standard input).")
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument("--author", help="Username recorded as importing it.")
        parser.add_argument("--template", choices=sorted(LAYOUTS), help="Default: detected.")
        parser.add_argument("--zone", default="UTC", help="Zone of times written without one.")
        parser.add_argument("--dry-run", action="store_true", help="Show the plan, write nothing.")

    def handle(
        self,
        *args: Any,
        path: str,
        team: str,
        author: str | None = None,
        template: str | None = None,
        zone: str = "UTC",
        **options: Any,
    ) -> None:
        try:
            if path == "-":
                raw = read_stream(options.get("stdin") or sys.stdin)
            else:
                raw = Path(path).read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror or error}") from None
        team_obj = Team.objects.filter(slug=team).first()
        if team_obj is None:
            raise CommandError(f'No team with the slug "{team}".')
        user = None
        if author:
            user = get_user_model().objects.filter(username=author).first()
            if user is None:
                raise CommandError(f'No user "{author}".')
        try:
            plan = plan_import(decode(raw), team=team_obj, template=template or "", zone=zone)
        except ImportRefused as refused:
            raise CommandError(str(refused)) from None
        self.summary(plan)
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was written.")
            return
        try:
            incident = write_import(plan, by=user)
        except ImportRefused as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(incident.reference)

    def summary(self, plan: ImportPlan) -> None:
        document = plan.document
        write = self.stdout.write
        write(f"Title: {document.title}")
        write(f"Template: {plan.template}; team: {plan.team}")
        for title, what, _count in plan.rows():
            write(f"  {title}: {what}")
        for row in document.additional:
            write(f"  Additional section: {row.title}")
        for repair in document.repairs:
            write(f"Repaired {repair}")
        for warning in plan.warnings:
            write(f"Warning: {warning}")


def read_stream(stream: IO[Any]) -> bytes:
    """The bytes of a stream: a text stream's binary buffer (so decode() picks the encoding of
    what was piped in), or what a binary or in-memory stream reads."""
    data = getattr(stream, "buffer", stream).read()
    return data if isinstance(data, bytes) else data.encode()
