"""Who may switch the template, and My work's draft deadline from the settings."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident
from postmortems.models import Postmortem, ReviewEvent
from tests.conftest import browser_of


def switch(client, postmortem, template):
    url = reverse("postmortems:template_switch", args=[postmortem.incident.reference])
    return client.post(url, {"template": template})


@pytest.mark.django_db
def test_only_authors_and_managers_switch_the_template(postmortem, teammate, manager, author):
    mike = browser_of(teammate)  # on the team, but neither an author nor a manager
    page = mike.get(postmortem.incident.get_absolute_url()).content.decode()
    assert 'id="template-switch"' not in page
    assert switch(mike, postmortem, "incident_report").status_code == 403
    assert Postmortem.objects.get().template == "full"
    assert not ReviewEvent.objects.exists()

    sarah = browser_of(manager)
    assert (
        'id="template-switch"' in sarah.get(postmortem.incident.get_absolute_url()).content.decode()
    )
    assert switch(sarah, postmortem, "incident_report").status_code == 302
    assert Postmortem.objects.get().template == "incident_report"
    event = ReviewEvent.objects.get()
    assert (event.kind, event.actor) == ("template", manager)

    assert switch(browser_of(author), postmortem, "full").status_code == 302
    assert Postmortem.objects.get().template == "full"


@pytest.mark.django_db
def test_my_work_flags_drafts_after_the_configured_time(client, author, team, settings):
    resolved = timezone.now() - timedelta(hours=50)
    incident = Incident.objects.create(
        title="Slow search", team=team, started_at=resolved - timedelta(hours=1),
        resolved_at=resolved, status="resolved",
    )  # fmt: skip
    Postmortem.objects.create(incident=incident).authors.add(author)
    client.force_login(author)
    settings.DRAFT_NUDGE_AFTER = timedelta(hours=48)
    assert "past the 48 hours after resolution" in client.get(reverse("my_work")).content.decode()
    settings.DRAFT_NUDGE_AFTER = timedelta(hours=72)
    assert "past the" not in client.get(reverse("my_work")).content.decode()
