"""A worker that dies while sending: the email it may have sent carries the notification's
Message-ID (the copy a resend makes is dropped by receivers), and its row is queued again by
the next sweep instead of waiting out RESEND_AFTER, while a row another worker is sending is
left alone."""

import threading
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection, connections, transaction

from actionitems import reminders
from actionitems.models import ActionItem, Notification
from actionitems.tasks import run_sweeps, send_notification
from tests.conftest import skip_or_fail

NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)


class DiesAfterDelivering(EmailBackend):
    """The mail server takes the message, then the worker is killed before it commits."""

    def send_messages(self, messages):
        super().send_messages(messages)
        raise SystemExit("killed")


@pytest.fixture
def overdue(postmortem, author):
    postmortem.status = "published"
    postmortem.save()
    return ActionItem.objects.create(
        postmortem=postmortem, title="Add a pool alert", owner=author, due_date=date(2026, 3, 11)
    )


def record_only(at):
    """A sweep whose send tasks never reach a worker."""
    with (
        time_machine.travel(at, tick=False),
        mock.patch("actionitems.tasks.send_notification.delay"),
    ):
        run_sweeps()


@pytest.mark.django_db
def test_a_worker_killed_after_the_mail_server_took_the_email(overdue, settings):
    settings.RESEND_AFTER = timedelta(minutes=15)
    record_only(NOW)
    notification = Notification.objects.get()
    settings.EMAIL_BACKEND = "tests.actionitems.test_send_reliability.DiesAfterDelivering"
    with time_machine.travel(NOW, tick=False), pytest.raises(SystemExit):
        send_notification(notification.pk)
    notification.refresh_from_db()
    assert notification.status == "pending" and notification.sending_since is not None
    assert len(mail.outbox) == 1  # delivered, but not recorded as sent

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        run_sweeps()  # one minute later, not RESEND_AFTER: nobody holds the claim any more
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("sent", 2)
    assert notification.sending_since is None
    first, second = mail.outbox
    # The unavoidable second copy is the same message to receivers: same Message-ID.
    assert first.extra_headers["Message-ID"] == second.extra_headers["Message-ID"]
    assert first.extra_headers["Message-ID"] == notification.message_id
    with time_machine.travel(NOW + timedelta(minutes=30), tick=False):
        run_sweeps()
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_failed_attempt_waiting_for_its_retry_is_not_mistaken_for_a_dead_worker(overdue):
    record_only(NOW)
    notification = Notification.objects.get()
    with (
        time_machine.travel(NOW, tick=False),
        mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages",
                   side_effect=ConnectionRefusedError("mail server down")),
        pytest.raises(ConnectionRefusedError),
    ):  # fmt: skip
        send_notification.run(notification.pk)  # one attempt, no Celery retry
    notification.refresh_from_db()
    assert notification.sending_since is None and "mail server down" in notification.last_error
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        assert notification.pk not in reminders.due_for_sending(NOW + timedelta(minutes=1))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_row_being_sent_right_now_is_not_queued_again(overdue):
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL row locks")
    record_only(NOW)
    notification = Notification.objects.get()
    Notification.objects.filter(pk=notification.pk).update(
        sending_since=NOW, last_attempt_at=NOW, attempts=1
    )

    def queued():
        moment = NOW + timedelta(minutes=1)  # well inside RESEND_AFTER
        with time_machine.travel(moment, tick=False):
            return reminders.due_for_sending(moment)

    locked, release = threading.Event(), threading.Event()

    def sender_holding_the_lock():
        try:
            with transaction.atomic():
                Notification.objects.select_for_update().get(pk=notification.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    sender = threading.Thread(target=sender_holding_the_lock)
    sender.start()
    try:
        assert locked.wait(timeout=10)
        assert notification.pk not in queued()  # a live sender has it
    finally:
        release.set()
        sender.join(timeout=30)
    assert notification.pk in queued()  # its sender is gone
