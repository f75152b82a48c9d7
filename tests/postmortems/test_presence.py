"""Who else has the document open, what they edit, and sections others changed."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from postmortems.models import Presence
from postmortems.services import heartbeat, others_present
from tests.conftest import HTMX, browser_of


def poll(client, postmortem, seen=(), editing=()):
    return client.post(
        reverse("postmortems:presence", args=[postmortem.incident.reference]),
        {"seen": list(seen), "editing": list(editing)},
        **HTMX,
    )


@pytest.mark.django_db
def test_the_page_polls_for_presence(author_client, postmortem):
    body = author_client.get(postmortem.incident.get_absolute_url()).content.decode()
    assert 'id="presence"' in body
    assert 'hx-trigger="load, every 3s"' in body
    assert 'hx-include="[data-presence]"' in body


@pytest.mark.django_db
def test_others_see_who_is_here_and_which_section_they_edit(author, teammate, postmortem):
    jane, mike = browser_of(author), browser_of(teammate)
    assert "Only you are here." in poll(jane, postmortem).content.decode()
    poll(mike, postmortem, seen=["summary:0"], editing=["root_cause"])
    body = poll(jane, postmortem, seen=["root_cause:0", "summary:0"]).content.decode()
    assert "Also here:" in body
    assert "Mike Alvarez" in body and "editing Root Cause" in body
    assert (
        '<span class="editors" id="editors-root_cause" hx-swap-oob="true">✎ Mike Alvarez editing</span>'
        in body
    )
    assert '<span class="editors" id="editors-summary" hx-swap-oob="true"></span>' in body
    # Mike does not see himself.
    assert "Only you are here." not in poll(mike, postmortem).content.decode()
    assert "Jane Park" in poll(mike, postmortem).content.decode()


@pytest.mark.django_db
def test_presence_expires_after_the_ttl(author, teammate, postmortem, settings):
    settings.PRESENCE_TTL_SECONDS = 30
    incident = postmortem.incident
    now = timezone.now()
    heartbeat(incident, teammate, editing="summary", now=now - timedelta(seconds=31))
    heartbeat(incident, author, now=now)
    assert list(others_present(incident, author, now=now)) == []
    # The expired record is gone from the table, not only hidden.
    assert not Presence.objects.filter(user=teammate).exists()
    heartbeat(incident, teammate, now=now - timedelta(seconds=29))
    assert [p.user for p in others_present(incident, author, now=now)] == [teammate]


@pytest.mark.django_db
def test_leaving_removes_the_presence_at_once(author, teammate, postmortem):
    mike = browser_of(teammate)
    poll(mike, postmortem)
    response = mike.post(
        reverse("postmortems:presence_leave", args=[postmortem.incident.reference])
    )
    assert response.status_code == 204
    assert "Only you are here." in poll(browser_of(author), postmortem).content.decode()


@pytest.mark.django_db
def test_a_section_changed_by_someone_else_comes_back_with_the_poll(author, teammate, postmortem):
    jane, mike = browser_of(author), browser_of(teammate)
    mike.post(
        reverse("postmortems:section", args=[postmortem.incident.reference, "went_well"]),
        {"version": 0, "went_well": "Paging worked"},
        **HTMX,
    )
    body = poll(jane, postmortem, seen=["went_well:0", "summary:0"]).content.decode()
    assert 'id="body-went_well" data-section="went_well" hx-swap-oob="true"' in body
    assert "Paging worked" in body
    assert 'id="body-summary"' not in body  # unchanged sections are not resent
    # Once Jane's page holds version 1 nothing is resent.
    assert (
        'id="body-went_well"' not in poll(jane, postmortem, seen=["went_well:1"]).content.decode()
    )


@pytest.mark.django_db
def test_a_section_being_edited_is_never_refreshed_under_the_editor(author, teammate, postmortem):
    jane, mike = browser_of(author), browser_of(teammate)
    mike.post(
        reverse("postmortems:section", args=[postmortem.incident.reference, "went_well"]),
        {"version": 0, "went_well": "Paging worked"},
        **HTMX,
    )
    body = poll(jane, postmortem, seen=["summary:0"], editing=["went_well"]).content.decode()
    assert 'id="body-went_well"' not in body


@pytest.mark.django_db
def test_another_team_cannot_poll(outsider, postmortem):
    assert poll(browser_of(outsider), postmortem).status_code == 404
    assert not Presence.objects.exists()


@pytest.mark.django_db
def test_garbage_in_the_poll_is_ignored(author, postmortem):
    response = poll(
        browser_of(author), postmortem, seen=["nonsense:1", "summary:x", "summary"], editing=["<b>"]
    )
    assert response.status_code == 200
    assert Presence.objects.get().editing == ""
