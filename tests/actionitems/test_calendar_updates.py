"""Calendar invites stay true: a review meeting that moves or is cancelled after attendees got
its invite sends them an update (same UID, higher SEQUENCE) or a cancellation."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from icalendar import Calendar

from actionitems.models import MeetingInvite, Notification
from actionitems.tasks import run_sweeps
from postmortems.models import Postmortem, ReviewRequest
from tests.actionitems.conftest import text_of

NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
MEETING = datetime(2026, 3, 13, 15, 0, tzinfo=UTC)


@pytest.fixture
def in_review(postmortem, manager):
    postmortem.status = Postmortem.Status.IN_REVIEW
    postmortem.review_meeting_at = MEETING
    postmortem.save()
    ReviewRequest.objects.create(postmortem=postmortem, reviewer=manager, role="manager")
    return postmortem


def invite_of(message):
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    calendar = Calendar.from_ical(part.get_payload(decode=True))
    (event,) = calendar.walk("VEVENT")
    return str(calendar["method"]), event


def sweep(smtp_server, at):
    smtp_server.clear()
    with time_machine.travel(at, tick=False):
        run_sweeps()
    return {rcpt[0]: message for rcpt, message in smtp_server.messages}


def reschedule(client, postmortem, meeting, version, capture, at=NOW + timedelta(hours=1)):
    """Save the review meeting as an author does, in the document's review schedule section."""
    url = f"/incidents/{postmortem.incident.reference}/sections/review_schedule/"
    data = {"review_meeting_at": meeting, "next_review_on": "", "version": version}
    with time_machine.travel(at, tick=False), capture(execute=True):
        response = client.post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200, response.content.decode()


@pytest.mark.django_db
def test_moving_then_cancelling_the_meeting_updates_every_attendees_calendar(
    in_review, author_client, smtp_server, django_capture_on_commit_callbacks
):
    invites = sweep(smtp_server, NOW)  # the day before: both get the invite
    assert sorted(invites) == ["jane@example.com", "sarah@example.com"]
    method, first = invite_of(invites["sarah@example.com"])
    uid = str(first["uid"])
    assert (method, first.decoded("sequence"), first.decoded("dtstart")) == ("REQUEST", 0, MEETING)
    assert "mailto:sarah@example.com" in str(first["attendee"])

    smtp_server.clear()
    reschedule(author_client, in_review, "2026-03-13 10:00", 0, django_capture_on_commit_callbacks)
    updates = {rcpt[0]: message for rcpt, message in smtp_server.messages}
    assert sorted(updates) == ["jane@example.com", "sarah@example.com"]
    update = updates["sarah@example.com"]
    method, event = invite_of(update)
    assert (method, str(event["uid"]), event.decoded("sequence")) == ("REQUEST", uid, 1)
    assert event.decoded("dtstart") == datetime(2026, 3, 13, 10, 0, tzinfo=UTC)
    assert update["Subject"] == invites["sarah@example.com"]["Subject"]
    assert update["In-Reply-To"] == invites["sarah@example.com"]["Message-ID"]
    assert "moved to Friday 2026-03-13 10:00 UTC (it was Friday 2026-03-13 15:00 UTC)" in text_of(
        update
    )

    smtp_server.clear()
    reschedule(author_client, in_review, "", 1, django_capture_on_commit_callbacks)
    cancels = {rcpt[0]: message for rcpt, message in smtp_server.messages}
    assert sorted(cancels) == ["jane@example.com", "sarah@example.com"]
    method, event = invite_of(cancels["jane@example.com"])
    assert (method, str(event["uid"]), event.decoded("sequence")) == ("CANCEL", uid, 2)
    assert str(event["status"]) == "CANCELLED"
    assert "was cancelled" in text_of(cancels["jane@example.com"])

    smtp_server.clear()
    reschedule(author_client, in_review, "2026-03-16 14:00", 2, django_capture_on_commit_callbacks)
    method, event = invite_of(smtp_server.to("jane@example.com")[0])
    assert (method, event.decoded("sequence")) == ("REQUEST", 3)  # back on, after the cancel


@pytest.mark.django_db
def test_nothing_to_update_before_any_invite_went_out(
    in_review, author_client, smtp_server, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW - timedelta(days=3), tick=False):
        run_sweeps()  # too early for reminders
    assert smtp_server.messages == []
    reschedule(author_client, in_review, "2026-03-13 10:00", 0, django_capture_on_commit_callbacks,
               at=NOW - timedelta(days=2))  # fmt: skip
    assert smtp_server.messages == []
    assert not Notification.objects.filter(kind="meeting_update").exists()
    invites = sweep(smtp_server, NOW)
    _, event = invite_of(invites["jane@example.com"])
    assert event.decoded("dtstart") == datetime(2026, 3, 13, 10, 0, tzinfo=UTC)
    assert event.decoded("sequence") == 0


@pytest.mark.django_db
def test_saving_the_schedule_without_moving_the_meeting_sends_nothing(
    in_review, author_client, smtp_server, django_capture_on_commit_callbacks
):
    sweep(smtp_server, NOW)
    smtp_server.clear()
    url = f"/incidents/{in_review.incident.reference}/sections/review_schedule/"
    data = {"review_meeting_at": "2026-03-13 15:00", "next_review_on": "2026-04-13", "version": 0}
    with (
        time_machine.travel(NOW + timedelta(hours=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert author_client.post(url, data, HTTP_HX_REQUEST="true").status_code == 200
    assert smtp_server.messages == []
    assert MeetingInvite.objects.get().sequence == 0


@pytest.mark.django_db
def test_reminders_after_a_change_carry_its_sequence_even_when_no_revision_told_us(
    in_review, author_client, smtp_server, django_capture_on_commit_callbacks
):
    sweep(smtp_server, NOW)
    reschedule(author_client, in_review, "2026-03-13 16:00", 0, django_capture_on_commit_callbacks)
    on_the_day = sweep(smtp_server, NOW + timedelta(days=1))
    _, event = invite_of(on_the_day["jane@example.com"])
    assert event.decoded("sequence") == 1  # never lower than the update calendars hold

    # Moved where no revision is recorded (the admin): the next invite still outranks.
    in_review.review_meeting_at = datetime(2026, 3, 13, 17, 0, tzinfo=UTC)
    in_review.save()
    again = sweep(smtp_server, NOW + timedelta(days=1, hours=1))
    _, event = invite_of(again["jane@example.com"])
    assert (event.decoded("sequence"), event.decoded("dtstart")) == (
        2,
        datetime(2026, 3, 13, 17, 0, tzinfo=UTC),
    )
