"""A real Celery worker on Redis, killed (SIGKILL) after the mail server took its email and
before it marked the notification sent. The next worker to start sends it again at once,
with the same Message-ID, instead of after RESEND_AFTER."""

import asyncio
import email
import email.policy
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from django.db import connection
from django.utils import timezone

from actionitems.models import ActionItem, Notification
from tests.actionitems.conftest import free_port
from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class SlowInbox:
    """Takes every message, but holds its "250 OK" for the first one until released."""

    def __init__(self):
        self.messages = []
        self.released = False

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        while len(self.messages) == 1 and not self.released:
            await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def start_worker(smtp_port, log, **settings):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": REDIS_URL,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SWEEP_ON_WORKER_START": "1",  # a starting worker catches up: that is the point
        "REMINDER_HOURS": "0-24",  # the real clock, whatever the hour
        "DEBUG": "1",
        **settings,
    }
    celery = Path(sys.executable).with_name("celery")
    command = [str(celery), "-A", "postmortems", "worker", "--pool=solo", "--loglevel=INFO",
               "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip


def published_with_an_empty_queue(postmortem):
    """PostgreSQL shared with worker processes, an empty Redis queue, and a published
    postmortem (no review-meeting or draft emails beside the reminders)."""
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL shared with a worker process")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        skip_or_fail(f"Redis is not reachable at {REDIS_URL}")
    redis.Redis.from_url(REDIS_URL).flushdb()
    postmortem.status = "published"
    postmortem.save()


def test_a_killed_workers_email_is_sent_again_by_the_next_worker_with_the_same_id(
    postmortem, author, tmp_path
):
    published_with_an_empty_queue(postmortem)
    ActionItem.objects.create(postmortem=postmortem, title="Add a pool alert", owner=author,
                              due_date=timezone.localdate() - timedelta(days=2))  # fmt: skip
    inbox = SlowInbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    log = (tmp_path / "workers.log").open("w")
    first = second = None
    try:
        first = start_worker(smtp.port, log)
        wait_for(lambda: inbox.messages, 60, "the first worker's email")
        os.killpg(first.pid, signal.SIGKILL)  # the mail server has it; the row is not sent
        first.wait(timeout=10)
        inbox.released = True
        notification = Notification.objects.get()
        assert notification.status == "pending" and notification.sending_since is not None

        restarted = time.monotonic()
        second = start_worker(smtp.port, log)
        wait_for(lambda: len(inbox.messages) == 2, 60, "the second worker's resend")
        resent_after = time.monotonic() - restarted
        wait_for(
            lambda: Notification.objects.filter(status="sent").exists(), 20, "the row marked sent"
        )
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=20)
        smtp.stop()
        log.close()
    first_copy, second_copy = inbox.messages
    assert first_copy["Message-ID"] == second_copy["Message-ID"] == notification.message_id
    assert Notification.objects.get().attempts == 2
    # The restarted worker's catch-up sweep found the claim nobody held: seconds, where the
    # probe saw RESEND_AFTER (15 minutes).
    print(f"\nresent {resent_after:.1f} s after the new worker started")
    assert resent_after < 60


class CountingInbox:
    """Every message the SMTP server accepted, by Message-ID."""

    def __init__(self):
        self.message_ids = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.message_ids.append(message["Message-ID"])
        return "250 Message accepted for delivery"


OWED = 1500  # overdue action items, one reminder each


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_sweep_over_thousands_of_items_killed_midway_sends_each_reminder_once(
    postmortem, make_user, team, tmp_path
):
    """A worker killed (SIGKILL) a third of the way through 1,500 reminders and started again:
    every reminder reaches the SMTP server, none twice except, at most, the one the killed
    worker had handed over without marking it sent, which goes again with the same Message-ID
    (receivers drop the copy)."""
    published_with_an_empty_queue(postmortem)
    owners = [make_user(f"owner{n:02d}", team) for n in range(30)]
    overdue = timezone.localdate() - timedelta(days=2)
    ActionItem.objects.bulk_create(
        ActionItem(
            postmortem=postmortem,
            title=f"Item {n}",
            owner=owners[n % len(owners)],
            due_date=overdue,
            position=n,
        )
        for n in range(OWED)
    )
    inbox = CountingInbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    log = (tmp_path / "workers.log").open("w")
    first = second = None
    started = time.monotonic()
    try:
        first = start_worker(smtp.port, log)
        wait_for(lambda: len(inbox.message_ids) >= OWED // 3, 240, "a third of the reminders")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        at_kill = len(inbox.message_ids)
        killed_after = time.monotonic() - started
        # The killed worker had also taken the next message from Redis (acknowledged late, so
        # Redis gives it back only after its visibility timeout): a row nobody claimed, which
        # looks like one queued behind the others and waits RESEND_AFTER (15 minutes, see
        # docs/design/follow-up-emails.md). Shortened here so that the restarted worker's
        # catch-up sweep queues it, with every other unsent row, a second time: harmless, as
        # the send re-checks the row under its lock, and this test counts that it is.
        time.sleep(1)
        second = start_worker(smtp.port, log, RESEND_AFTER="PT1S")

        def all_sent():
            sent = Notification.objects.filter(status="sent").count()
            return sent >= OWED and sent == Notification.objects.count()

        wait_for(all_sent, 600, "every reminder marked sent")
        time.sleep(1)  # anything still in flight reaches the inbox
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=20)
        smtp.stop()
        log.close()
    notifications = Notification.objects.all()
    expected = {notification.message_id for notification in notifications}
    assert notifications.filter(kind="overdue").count() == OWED
    received = inbox.message_ids
    twice = [mid for mid, count in Counter(received).items() if count > 1]
    print(
        f"\n{OWED} overdue items, {len(expected)} notifications; {len(received)} emails at the "
        f"SMTP server ({at_kill} before the kill), {len(set(received))} distinct Message-IDs, "
        f"{len(twice)} sent twice; killed after {killed_after:.0f} s, done after "
        f"{time.monotonic() - started:.0f} s"
    )
    assert set(received) == expected  # every reminder arrived, nothing else did
    assert len(twice) <= 1, twice  # at most the one the killed worker had in flight
    assert len(received) - len(expected) == len(twice)
