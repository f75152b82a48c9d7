"""Email delivered through a real SMTP server (aiosmtpd) started by the test."""

import email
import email.policy
import socket
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from aiosmtpd.controller import Controller
from icalendar import Calendar

from actionitems.tasks import run_sweeps
from postmortems.models import ReviewRequest


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = controller.hostname, controller.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield inbox
    controller.stop()


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
    assert (
        message["Subject"]
        == "Postmortem review tomorrow at 15:00 UTC: INC-2026-0001 Checkout failing"
    )
    parts = {part.get_content_type(): part for part in message.walk()}
    assert "multipart/alternative" in parts
    assert "Read it before the meeting" in parts["text/plain"].get_payload(decode=True).decode()
    assert "Read the postmortem</a>" in parts["text/html"].get_payload(decode=True).decode()
    invite = Calendar.from_ical(parts["text/calendar"].get_payload(decode=True))
    assert invite.walk("VEVENT")[0].decoded("dtstart") == meeting
