"""Email settings a developer meets first: a readable console in DEBUG, a file folder that is
where EMAIL_URL says, and settings checked when Django starts."""

import io
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine
from django.core.mail import EmailMultiAlternatives

from actionitems.mail import ReadableConsoleBackend, summary
from actionitems.models import ActionItem
from actionitems.tasks import run_sweeps

ROOT = Path(__file__).resolve().parent.parent.parent


def settings_in_a_process(**env):
    """Settings as a fresh process reads them from this environment."""
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.EMAIL_BACKEND); print(settings.EMAIL_FILE_PATH); "
        "print(settings.REMINDER_HOURS)"
    )
    environment = {**os.environ, "DATABASE_URL": "sqlite:////tmp/unused.sqlite3", **env}
    environment.setdefault("DJANGO_SETTINGS_MODULE", "postmortems.settings")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd="/", env=environment, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()  # backend, file path, reminder hours


def test_filemail_with_three_slashes_is_an_absolute_folder():
    backend, path, _ = settings_in_a_process(EMAIL_URL="filemail:///tmp/x", PYTHONPATH=str(ROOT))
    assert backend == "django.core.mail.backends.filebased.EmailBackend"
    assert path == "/tmp/x"  # django-environ alone gives "tmp/x", relative to the process


def test_filemail_without_a_leading_slash_is_inside_the_project():
    _, path, _ = settings_in_a_process(EMAIL_URL="filemail://var/mail", PYTHONPATH=str(ROOT))
    assert path == str(ROOT / "var" / "mail")


def test_console_email_is_readable_in_debug_and_raw_otherwise():
    readable, _, local_hours = settings_in_a_process(
        EMAIL_URL="consolemail://", DEBUG="1", PYTHONPATH=str(ROOT)
    )
    assert readable == "actionitems.mail.ReadableConsoleBackend"
    assert local_hours == "(0, 24)"
    raw, _, production_hours = settings_in_a_process(
        EMAIL_URL="consolemail://", DEBUG="0", SECRET_KEY="x" * 50, PYTHONPATH=str(ROOT)
    )
    assert raw == "django.core.mail.backends.console.EmailBackend"
    # Production waits for working hours; a laptop's demo worker prints reminders at any hour.
    assert production_hours == "(8, 18)"


def test_the_summary_shows_who_what_the_text_and_its_links():
    message = EmailMultiAlternatives(
        subject="Überprüfung: Action item ✅ “Rotate keys” (INC-2026-0001 Checkout failing)",
        body="Hello Jane,\n\nThe item is 3 days overdue.\n\n"
        "  Mark done: http://localhost:8000/action-items/email/act/abc/\n"
        "  Snooze 1 week: http://localhost:8000/action-items/email/act/def/\n"
        "http://localhost:8000/action-items/7/\n" + "more\n" * 20,
        from_email="Postmortem Studio <studio@localhost>",
        to=["jane@example.com"],
        headers={"Message-ID": "<overdue.7.20260312090000@localhost>"},
    )
    message.attach_alternative("<p>Hello</p>", "text/html")
    message.attach("invite.ics", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")
    text = summary(message)
    assert "Subject:          Überprüfung: Action item ✅ “Rotate keys” (INC-2026-0001" in text
    assert "=?utf-8?" not in text and "Content-Transfer-Encoding" not in text
    assert "From:             Postmortem Studio <studio@localhost>" in text
    assert "To:               jane@example.com" in text
    assert "Message-ID:       <overdue.7.20260312090000@localhost>" in text
    assert "Attached:         invite.ics (text/calendar)" in text
    assert "  The item is 3 days overdue." in text
    assert "[... 13 more lines]" in text
    assert "  Mark done      http://localhost:8000/action-items/email/act/abc/" in text
    assert "  Snooze 1 week  http://localhost:8000/action-items/email/act/def/" in text
    assert "                 http://localhost:8000/action-items/7/" in text


@pytest.mark.django_db
def test_a_reminder_printed_by_the_readable_console(settings, postmortem, author):
    settings.EMAIL_BACKEND = "actionitems.mail.ReadableConsoleBackend"
    ActionItem.objects.create(
        postmortem=postmortem, title="Add a pool alert", owner=author, due_date=date(2026, 3, 11)
    )
    stream = io.StringIO()
    original = ReadableConsoleBackend.__init__

    def to_stream(self, *args, **kwargs):
        original(self, *args, stream=stream, **kwargs)

    ReadableConsoleBackend.__init__ = to_stream
    try:
        with time_machine.travel(datetime(2026, 3, 12, 9, 0, tzinfo=UTC), tick=False):
            run_sweeps()
    finally:
        ReadableConsoleBackend.__init__ = original
    printed = stream.getvalue()
    assert (
        "Subject:          Action item: Add a pool alert (INC-2026-0001 Checkout failing)"
        in printed
    )
    assert "An action item you own is 1 day overdue." in printed
    assert "  Mark done " in printed and "/action-items/email/act/" in printed


def test_a_digest_day_that_is_no_day_fails_the_system_check(settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.DIGEST_DAY_OF_WEEK = "someday"
    with pytest.raises(SystemCheckError, match=r"actionitems\.E001"):
        call_command("check")
    settings.DIGEST_DAY_OF_WEEK = "fri"
    call_command("check")
