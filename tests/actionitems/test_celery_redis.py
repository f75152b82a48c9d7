"""The follow-up engine end to end: a real Celery worker on a real Redis broker."""

import os
import time
from datetime import timedelta

import pytest
import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.utils import timezone

from actionitems.models import ActionItem, Notification
from actionitems.tasks import run_sweeps
from tests.conftest import skip_or_fail

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_worker(eager_celery, settings):
    """A Celery app like the project's but on Redis, with a worker thread in this process (so
    that it shares the test database and Django's mail outbox). start_worker makes it the
    current and default app, so the tasks' .delay() go through Redis; afterwards the
    project's app is put back."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        skip_or_fail(f"Redis is not reachable at {REDIS_URL}")
    redis.Redis.from_url(REDIS_URL).flushdb()
    settings.SWEEP_ON_WORKER_START = False  # the test sends the sweep itself
    # The sweep runs on the real clock: let reminders out at any hour of the day.
    settings.REMINDER_HOURS = (0, 24)
    app = Celery("postmortems-on-redis", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=REDIS_URL, result_backend=REDIS_URL, task_always_eager=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield app
    finally:
        eager_celery.set_current()
        eager_celery.set_default()


def test_beat_s_sweep_through_redis_sends_the_reminder(redis_worker, postmortem, author):
    postmortem.status = "published"
    postmortem.save()
    item = ActionItem.objects.create(
        postmortem=postmortem, title="Add a pool alert", owner=author,
        due_date=timezone.localdate() - timedelta(days=3),
    )  # fmt: skip
    mail.outbox = []
    result = run_sweeps.delay()  # what beat does every SWEEP_INTERVAL
    assert result.get(timeout=20) == {"owed": 1, "queued": 1}
    deadline = time.monotonic() + 20
    while not mail.outbox and time.monotonic() < deadline:
        time.sleep(0.1)
    (message,) = mail.outbox
    assert message.to == ["jane@example.com"]
    assert message.subject == "Action item: Add a pool alert (INC-2026-0001 Checkout failing)"
    notification = Notification.objects.get()
    assert (notification.status, notification.object_id) == ("sent", item.pk)
