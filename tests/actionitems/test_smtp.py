"""Email delivered through a real SMTP server (aiosmtpd) started by the test."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from icalendar import Calendar

from actionitems.tasks import run_sweeps
from postmortems.models import ReviewRequest


@pytest.mark.django_db
def test_a_review_reminder_arrives_over_smtp_with_text_html_and_invite(
    smtp_server, postmortem, manager, settings
):
    settings.DEFAULT_FROM_EMAIL = "Postmortem Studio <studio@example.com>"
    meeting = datetime(2026, 3, 13, 15, 0, tzinfo=UTC)
    postmortem.status = "in_review"
    postmortem.review_meeting_at = meeting
    postmortem.save()
    ReviewRequest.objects.create(postmortem=postmortem, reviewer=manager, role="manager")
    with time_machine.travel(meeting - timedelta(hours=30), tick=False):
        run_sweeps()

    assert sorted(to for rcpt, _ in smtp_server.messages for to in rcpt) == [
        "jane@example.com",
        "sarah@example.com",
    ]
    message = next(message for to, message in smtp_server.messages if to == ["sarah@example.com"])
    assert message["From"] == "Postmortem Studio <studio@example.com>"
    assert message["Subject"] == "Postmortem review: INC-2026-0001 Checkout failing"
    parts = {part.get_content_type(): part for part in message.walk()}
    assert "multipart/alternative" in parts
    assert "Read it before the meeting" in parts["text/plain"].get_payload(decode=True).decode()
    assert "Read the postmortem</a>" in parts["text/html"].get_payload(decode=True).decode()
    invite = Calendar.from_ical(parts["text/calendar"].get_payload(decode=True))
    assert invite.walk("VEVENT")[0].decoded("dtstart") == meeting
