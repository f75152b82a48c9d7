"""Killing the Celery worker while webhooks are pending loses none and sends none twice.

Real processes: Celery workers started as `celery -A postmortems worker` on Redis, sharing the
test's PostgreSQL database; a receiver (pytest-httpserver) that verifies every signature. The
first worker is killed with SIGKILL while it waits for the receiver's answer to the 5th
webhook, the worst moment there is: that request reached the receiver, but its answer never
reached the database. A second worker starts, sweeps, and sends the rest.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.db import connection, transaction
from werkzeug.wrappers import Response

from incidents.models import Incident
from integrations.models import Delivery, EventKind
from integrations.services import add_endpoint
from tests.conftest import skip_or_fail

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parents[2]
WEBHOOKS = 12
KILLED_DURING = 5  # the request the first worker is waiting on when it is killed

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def redis_app(eager_celery):
    """Tasks queued by this process go to Redis, for the worker processes to take."""
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL: worker processes share the test database")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        skip_or_fail(f"Redis is not reachable at {REDIS_URL}")
    redis.Redis.from_url(REDIS_URL).flushdb()
    app = Celery("postmortems-on-redis", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=REDIS_URL, result_backend=REDIS_URL, task_always_eager=False)
    app.set_current()
    app.set_default()
    yield app
    eager_celery.set_current()
    eager_celery.set_default()
    redis.Redis.from_url(REDIS_URL).flushdb()


@pytest.fixture
def workers(tmp_path):
    """start(sweep_on_start) -> a `celery worker` process on Redis and the test database."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
        "SWEEP_ON_WORKER_START": "0",
        "INTEGRATIONS_ALLOW_PRIVATE_URLS": "1",
        "VAR_DIR": str(tmp_path),
    }
    started = []

    def start(sweep_on_start):
        log = open(tmp_path / f"worker{len(started) + 1}.log", "w")  # noqa: SIM115
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("celery")), "-A", "postmortems", "worker",
             "--pool=solo", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
            cwd=ROOT,
            env={**env, "INTEGRATIONS_SWEEP_ON_WORKER_START": "1" if sweep_on_start else "0"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        started.append((process, log))
        return process

    yield start
    for process, log in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


class SlowReceiver:
    """Verifies signatures (as in conftest.Receiver) and holds its answer to the n-th request
    until told to answer."""

    def __init__(self, hold_request):
        from standardwebhooks import Webhook

        self.verifier_class = Webhook
        self.secret = None
        self.hold_request = hold_request
        self.holding = threading.Event()
        self.release = threading.Event()
        self.requests = []
        self.refused = []
        self.lock = threading.Lock()

    def handle(self, request):
        body = request.get_data()
        try:
            self.verifier_class(self.secret).verify(body, dict(request.headers))
        except Exception as error:
            self.refused.append(str(error))
            return Response("bad signature", status=401)
        with self.lock:
            self.requests.append(request.headers["webhook-id"])
            number = len(self.requests)
        if number == self.hold_request:
            self.holding.set()
            self.release.wait(timeout=60)
        return Response("ok", status=200)


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def row_unlocked(pk):
    """True once no transaction holds the delivery's row (the database noticed the dead
    worker's connection and rolled its transaction back)."""
    try:
        with transaction.atomic():
            Delivery.objects.select_for_update(nowait=True).get(pk=pk)
        return True
    except Exception:
        return False


def test_killing_the_worker_mid_delivery_loses_no_webhook_and_sends_none_twice(
    redis_app, workers, httpserver, team, manager, author, tmp_path
):
    receiver = SlowReceiver(hold_request=KILLED_DURING)
    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver.handle)
    _endpoint, receiver.secret = add_endpoint(
        team, httpserver.url_for("/hook"), [EventKind.INCIDENT_CREATED], "", manager
    )
    for n in range(WEBHOOKS):  # each commit queues its delivery on Redis; no worker runs yet
        Incident.objects.create(title=f"Incident {n}", team=team, created_by=author,
                                started_at=datetime(2026, 3, 2, 14, tzinfo=UTC))  # fmt: skip
    event_ids = {str(pk) for pk in Delivery.objects.values_list("event_id", flat=True)}
    assert len(event_ids) == WEBHOOKS
    assert Delivery.objects.filter(status="pending").count() == WEBHOOKS

    first = workers(sweep_on_start=False)
    try:
        wait_for(receiver.holding.is_set, 60, "the first worker to send 5 webhooks")
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # mid-request: no time to record anything
        first.wait(timeout=10)
        receiver.release.set()
    in_flight = receiver.requests[KILLED_DURING - 1]
    delivered_before = set(
        Delivery.objects.filter(status="delivered").values_list("event_id", flat=True)
    )
    assert {str(pk) for pk in delivered_before} == set(receiver.requests[: KILLED_DURING - 1])
    in_flight_delivery = Delivery.objects.get(event_id=in_flight)
    assert in_flight_delivery.status == "pending"
    wait_for(lambda: row_unlocked(in_flight_delivery.pk), 20, "the killed worker's lock to go")

    # A new worker sweeps at start: it queues every pending delivery again, so most are now
    # queued twice (their first message is still on Redis). Each is sent once all the same.
    workers(sweep_on_start=True)
    try:
        wait_for(
            lambda: Delivery.objects.filter(status="delivered").count() == WEBHOOKS,
            60,
            "the second worker to deliver the rest",
        )
    except AssertionError:
        logs = [path.read_text() for path in sorted(tmp_path.glob("worker*.log"))]
        raise AssertionError("\n".join(logs)) from None
    time.sleep(1)  # duplicates still queued would be sent now if they could be

    assert receiver.refused == []  # every request was signed with the endpoint's secret
    assert set(receiver.requests) == event_ids  # none lost
    repeated = {event_id: n for event_id, n in Counter(receiver.requests).items() if n > 1}
    # None twice: the one request repeated is the one whose answer died with the worker, and
    # it carries the same webhook-id, so the receiver recognises it; a delivery recorded as
    # delivered was never sent again, whatever duplicates the queue held.
    assert repeated == {in_flight: 2}
    assert len(receiver.requests) == WEBHOOKS + 1
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
