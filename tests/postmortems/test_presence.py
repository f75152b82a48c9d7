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


def poll_get(client, postmortem, etag=None, seen=(), editing=()):
    headers = {"HTTP_IF_NONE_MATCH": etag} if etag else {}
    return client.get(
        reverse("postmortems:presence", args=[postmortem.incident.reference]),
        {"seen": list(seen), "editing": list(editing)},
        **HTMX,
        **headers,
    )


@pytest.mark.django_db
def test_an_unchanged_poll_is_answered_304_without_rendering(
    author, teammate, postmortem, django_assert_max_num_queries
):
    jane, mike = browser_of(author), browser_of(teammate)
    poll_get(mike, postmortem, seen=["summary:0"], editing=["root_cause"])
    first = poll_get(jane, postmortem, seen=["summary:0", "root_cause:0"])
    assert first.status_code == 200
    etag = first["ETag"]
    # The poll element sends it back itself (the browser's cache stays out of it).
    assert first["Cache-Control"] == "no-store"
    assert f"If-None-Match&quot;: &quot;\\&quot;{etag.strip(chr(34))}\\&quot;" in (
        first.content.decode()
    )
    # Steady state: session, user, the incident with every version, the presence records.
    with django_assert_max_num_queries(4):
        again = poll_get(jane, postmortem, etag, seen=["summary:0", "root_cause:0"])
    assert again.status_code == 304
    assert again.content == b""
    assert not again.templates  # nothing rendered

    # Mike stops editing: the answer changes, so does the ETag.
    poll_get(mike, postmortem, seen=["summary:0"])
    changed = poll_get(jane, postmortem, etag, seen=["summary:0", "root_cause:0"])
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert "editing Root Cause" not in changed.content.decode()

    # A section saved meanwhile comes back with the poll (not a 304).
    etag = changed["ETag"]
    mike.post(
        reverse("postmortems:section", args=[postmortem.incident.reference, "summary"]),
        {"version": 0, "executive_summary": "Saved by Mike"},
        **HTMX,
    )
    refreshed = poll_get(jane, postmortem, etag, seen=["summary:0", "root_cause:0"])
    assert refreshed.status_code == 200
    assert "Saved by Mike" in refreshed.content.decode()


@pytest.mark.django_db
def test_the_heartbeat_is_written_when_due_not_on_every_poll(author, postmortem, settings):
    settings.PRESENCE_TTL_SECONDS = 30
    jane = browser_of(author)
    poll_get(jane, postmortem)
    seen_at = Presence.objects.get().last_seen
    poll_get(jane, postmortem)
    assert Presence.objects.get().last_seen == seen_at  # fresh enough: no write
    Presence.objects.update(last_seen=seen_at - timedelta(seconds=11))
    poll_get(jane, postmortem)
    assert Presence.objects.get().last_seen > seen_at  # a third of the TTL old: written
    poll_get(jane, postmortem, editing=["summary"])
    assert Presence.objects.get().editing == "summary"  # a change is written at once
