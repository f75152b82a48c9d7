"""Cached markup (section bodies, rows) is keyed by everything it shows: another document,
another reader's rights or a newer version never gets someone else's markup."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from incidents.models import Incident, TimelineEvent
from postmortems.models import Postmortem, ReviewRequest
from tests.conftest import HTMX, browser_of


def fragment(client, incident, key):
    url = reverse("postmortems:section", args=[incident.reference, key])
    return client.get(url, **HTMX).content.decode()


@pytest.mark.django_db
def test_two_documents_at_the_same_versions_each_show_their_own_text(
    author_client, team, author, postmortem
):
    other = Incident.objects.create(
        title="Search down", team=team, started_at=datetime(2026, 3, 2, tzinfo=UTC)
    )
    Postmortem.objects.create(incident=other, root_cause="A full disk.")
    assert "A leak." in fragment(author_client, postmortem.incident, "root_cause")
    body = fragment(author_client, other, "root_cause")
    assert "A full disk." in body and "A leak." not in body
    page = author_client.get(other.get_absolute_url()).content.decode()
    assert "A full disk." in page and "A leak." not in page


@pytest.mark.django_db
def test_a_reader_never_gets_the_editors_markup(author_client, postmortem, outsider):
    TimelineEvent.objects.create(
        incident=postmortem.incident,
        occurred_at=datetime(2026, 3, 2, 14, 5, tzinfo=UTC),
        description="Alert fired",
    )
    page = author_client.get(postmortem.incident.get_absolute_url()).content.decode()
    assert "Edit<span" in page  # the cache now holds the editor's markup
    ReviewRequest.objects.create(postmortem=postmortem, reviewer=outsider, role="engineering_lead")
    reviewer = browser_of(outsider)
    page = reviewer.get(postmortem.incident.get_absolute_url()).content.decode()
    assert "Alert fired" in page and "Edit<span" not in page
    assert "Edit<span" not in fragment(reviewer, postmortem.incident, "timeline")


@pytest.mark.django_db
def test_a_saved_section_shows_its_new_text_everywhere(author_client, teammate, postmortem):
    mike = browser_of(teammate)
    assert "A leak." in fragment(mike, postmortem.incident, "root_cause")  # cached
    author_client.post(
        reverse("postmortems:section", args=[postmortem.incident.reference, "root_cause"]),
        {"version": 0, "root_cause": "A leak in checkout.", "trigger": ""},
        **HTMX,
    )
    assert "A leak in checkout." in fragment(mike, postmortem.incident, "root_cause")
    page = mike.get(postmortem.incident.get_absolute_url()).content.decode()
    assert "A leak in checkout." in page
