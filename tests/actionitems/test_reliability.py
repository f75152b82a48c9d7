"""Exactly once in effect: duplicated, concurrent, failing and interrupted sweeps."""

import threading
from datetime import UTC, datetime, timedelta
from smtplib import SMTPServerDisconnected
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection, connections

from actionitems.models import ActionItem, Notification
from actionitems.tasks import run_sweeps
from tests.conftest import skip_or_fail

NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)


class FlakyBackend(EmailBackend):
    """Django's test outbox, except that mail to FAILING_FOR fails the first `failures` times."""

    failing_for = "mike@example.com"
    failures = 0

    def send_messages(self, messages):
        if any(self.failing_for in m.to for m in messages) and FlakyBackend.failures > 0:
            FlakyBackend.failures -= 1
            raise SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture
def flaky(settings):
    settings.EMAIL_BACKEND = "tests.actionitems.test_reliability.FlakyBackend"
    yield FlakyBackend
    FlakyBackend.failures = 0


@pytest.fixture
def overdue_items(postmortem, make_user, team):
    postmortem.status = "published"
    postmortem.save()
    owners = [make_user(f"owner{n}", team) for n in range(12)]
    for n, owner in enumerate(owners):
        ActionItem.objects.create(
            postmortem=postmortem,
            title=f"Item {n}",
            owner=owner,
            due_date=NOW.date() - timedelta(days=2),
        )
    return owners


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        run_sweeps()


def sent_to():
    return sorted(address for message in mail.outbox for address in message.to)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_running_at_once_send_each_reminder_once(overdue_items):
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL for concurrent transactions")
    mail.outbox = []
    start = threading.Barrier(2)
    errors = []

    def sweep():
        try:
            start.wait()
            sweep_at(NOW)
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sent_to() == sorted(f"owner{n}@example.com" for n in range(12))
    assert Notification.objects.count() == 12
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_running_the_sweep_again_sends_nothing_twice(overdue_items):
    sweep_at(NOW)
    assert len(mail.outbox) == 12
    sweep_at(NOW + timedelta(minutes=5))
    sweep_at(NOW + timedelta(hours=2))
    assert len(mail.outbox) == 12


@pytest.mark.django_db
def test_smtp_failing_for_one_reminder_does_not_stop_the_others_and_it_is_retried(
    postmortem, author, teammate, flaky
):
    postmortem.status = "published"
    postmortem.save()
    for owner in (author, teammate):
        ActionItem.objects.create(postmortem=postmortem, title=f"Item of {owner}", owner=owner,
                                  due_date=NOW.date() - timedelta(days=1))  # fmt: skip
    flaky.failures = 2  # the mail server drops Mike's message twice, then takes it
    sweep_at(NOW)
    assert sent_to() == ["jane@example.com", "mike@example.com"]
    mikes = Notification.objects.get(recipient=teammate)
    assert (mikes.status, mikes.attempts) == ("sent", 3)
    assert mikes.last_error == ""


@pytest.mark.django_db
def test_a_reminder_failing_past_its_retries_is_sent_by_a_later_sweep(
    postmortem, author, teammate, flaky, settings
):
    settings.RESEND_AFTER = timedelta(minutes=15)
    postmortem.status = "published"
    postmortem.save()
    for owner in (author, teammate):
        ActionItem.objects.create(postmortem=postmortem, title=f"Item of {owner}", owner=owner,
                                  due_date=NOW.date() - timedelta(days=1))  # fmt: skip
    flaky.failures = 1000  # the server is down for Mike's domain for a while
    sweep_at(NOW)
    assert sent_to() == ["jane@example.com"]
    mikes = Notification.objects.get(recipient=teammate)
    assert mikes.status == "pending"
    assert mikes.attempts == 9  # the first try and eight retries with backoff
    assert "Connection unexpectedly closed" in mikes.last_error

    flaky.failures = 0  # the server is back
    sweep_at(NOW + timedelta(minutes=5))  # too soon to queue it again
    assert sent_to() == ["jane@example.com"]
    sweep_at(NOW + timedelta(minutes=20))
    assert sent_to() == ["jane@example.com", "mike@example.com"]
    sweep_at(NOW + timedelta(minutes=40))
    assert sent_to() == ["jane@example.com", "mike@example.com"]


@pytest.mark.django_db
def test_a_worker_dying_between_recording_and_sending_loses_nothing(overdue_items, settings):
    settings.RESEND_AFTER = timedelta(minutes=15)
    # The sweep records the reminders, then dies before any send task reaches a worker.
    with (
        mock.patch("actionitems.tasks.send_notification.delay", side_effect=SystemExit),
        pytest.raises(SystemExit),
    ):
        sweep_at(NOW)
    assert Notification.objects.filter(status="pending").count() == 12
    assert mail.outbox == []
    sweep_at(NOW + timedelta(minutes=20))  # the next sweep finds them pending and sends them
    assert len(mail.outbox) == 12
    sweep_at(NOW + timedelta(minutes=40))
    assert len(mail.outbox) == 12


@pytest.mark.django_db
def test_a_notification_sent_by_another_worker_is_not_sent_again(overdue_items):
    from actionitems.tasks import send_notification

    sweep_at(NOW)
    first = Notification.objects.first()
    assert send_notification(first.pk) == "not pending"  # a duplicate task delivery
    assert len(mail.outbox) == 12
