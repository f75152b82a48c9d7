from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from incidents.models import Incident
from postmortems.export import export_markdown
from postmortems.layouts import LAYOUTS
from postmortems.models import Postmortem


class Command(BaseCommand):
    help = "Print a postmortem as Markdown, in its template's shape or another layout's."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("reference", help="The incident's reference, e.g. INC-2026-0001.")
        parser.add_argument("--layout", choices=sorted(LAYOUTS), help="Default: its template.")

    def handle(self, *args: Any, reference: str, layout: str | None = None, **options: Any) -> None:
        incident = Incident.objects.with_reference(reference).first()
        if incident is None:
            raise CommandError(f"No incident {reference}.")
        try:
            postmortem = incident.postmortem
        except Postmortem.DoesNotExist:
            raise CommandError(f"{reference} has no postmortem.") from None
        self.stdout.write(
            export_markdown(postmortem, LAYOUTS[layout] if layout else None), ending=""
        )
