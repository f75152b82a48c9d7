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


def start_worker(smtp_port, log):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": REDIS_URL,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SWEEP_ON_WORKER_START": "1",  # a starting worker catches up: that is the point
        "REMINDER_HOURS": "0-24",  # the real clock, whatever the hour
        "DEBUG": "1",
    }
    celery = Path(sys.executable).with_name("celery")
    command = [str(celery), "-A", "postmortems", "worker", "--pool=solo", "--loglevel=INFO",
               "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip


def test_a_killed_workers_email_is_sent_again_by_the_next_worker_with_the_same_id(
    postmortem, author, tmp_path
):
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL shared with a worker process")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        skip_or_fail(f"Redis is not reachable at {REDIS_URL}")
    redis.Redis.from_url(REDIS_URL).flushdb()
    postmortem.status = "published"
    postmortem.save()
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
