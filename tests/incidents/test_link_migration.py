"""The data migration that turns the postmortem's one-way related incidents into links."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("postmortems", "0008_fill_section_versions"),
    ("incidents", "0006_tags_links_approval_target"),
]
AFTER = [("postmortems", "0009_related_incidents_become_links")]


def migrate(targets=None):
    """Migrate to `targets` (None: the latest) and return the models as they are there."""
    executor = MigrationExecutor(connection)
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_related_incidents_become_one_link_per_pair_and_back():
    try:
        apps = migrate(BEFORE)
        Team = apps.get_model("incidents", "Team")
        Incident = apps.get_model("incidents", "Incident")
        Postmortem = apps.get_model("postmortems", "Postmortem")
        team = Team.objects.create(name="T", slug="t")
        start = datetime(2026, 1, 1, tzinfo=UTC)
        a, b, c = (
            Incident.objects.create(title=t, team=team, started_at=start, year=2026, number=n)
            for n, t in enumerate("abc", start=1)
        )
        pm_a = Postmortem.objects.create(incident=a)
        pm_b = Postmortem.objects.create(incident=b)
        pm_a.related_incidents.add(b, c)
        pm_b.related_incidents.add(a)  # both sides listed each other: one link

        apps = migrate(AFTER)
        IncidentLink = apps.get_model("incidents", "IncidentLink")
        pairs = sorted(IncidentLink.objects.values_list("incident_id", "related_id"))
        assert pairs == [(a.pk, b.pk), (a.pk, c.pk)]

        apps = migrate(BEFORE)
        Postmortem = apps.get_model("postmortems", "Postmortem")
        related = Postmortem.objects.get(incident_id=a.pk).related_incidents
        assert sorted(related.values_list("pk", flat=True)) == [b.pk, c.pk]
    finally:
        migrate()
