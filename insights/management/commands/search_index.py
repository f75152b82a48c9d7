"""Build the search index: `manage.py search_index` (everything) or `--changed-since PT2H`."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_duration

from incidents.models import Incident
from insights import indexing


class Command(BaseCommand):
    help = "Rewrite the search index of every document, or of those changed lately."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--changed-since",
            metavar="DURATION",
            help="Only documents written to within this ISO 8601 duration (e.g. PT2H, P1D), "
            "and those never indexed.",
        )

    def handle(self, *args: Any, changed_since: str | None = None, **options: Any) -> None:
        began = time.perf_counter()
        if changed_since:
            window = parse_duration(changed_since)
            if window is None:
                raise CommandError(f"{changed_since!r} is not a duration (e.g. PT2H or P1D).")
            incident_ids = indexing.changed_since(timezone.now() - window)
        else:
            incident_ids = list(Incident.objects.order_by("pk").values_list("pk", flat=True))
        written = indexing.reindex_incidents(incident_ids)
        seconds = time.perf_counter() - began
        self.stdout.write(
            f"Indexed {len(incident_ids)} documents ({written} entries) in {seconds:.1f} s."
        )
