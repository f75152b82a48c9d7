"""/healthz answers if the process and its database do; /readyz if the whole app can work."""

from datetime import timedelta

import pytest
from django.utils import timezone

from postmortems.models import Heartbeat
from postmortems.tasks import heartbeat
from tests.conftest import REQUIRE_SERVICES

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(eager_celery):
    """The Celery app's broker for one test; tests run eagerly, which never connects."""
    original = eager_celery.conf.broker_url

    def point(url):
        eager_celery.conf.broker_url = url  # /readyz opens a connection of its own

    yield point
    point(original)


def redis_url():
    import os

    return os.environ.get("TEST_REDIS_URL", "")


def test_readyz_reports_each_dependency_and_is_200_when_all_are_up(client, broker):
    if not redis_url():
        if REQUIRE_SERVICES:
            pytest.fail("TEST_REDIS_URL is needed (REQUIRE_SERVICES=1)")
        pytest.skip("needs a Redis broker (TEST_REDIS_URL)")
    broker(redis_url())
    heartbeat()  # what a worker does every minute
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["ready"] is True
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["broker"]["ok"] is True
    assert body["checks"]["workers"]["ok"] is True
    assert body["checks"]["workers"]["age_seconds"] < 5


def test_readyz_is_503_when_the_broker_is_down(client, broker):
    broker("redis://127.0.0.1:1/0")  # nothing listens on port 1
    heartbeat()
    response = client.get("/readyz")
    assert response.status_code == 503
    broker_check = response.json()["checks"]["broker"]
    assert broker_check["ok"] is False and broker_check["error"]
    assert response.json()["checks"]["database"] == {"ok": True}


def test_readyz_is_503_without_a_recent_worker_heartbeat(client, broker, settings):
    broker(redis_url() or "memory://")
    assert client.get("/readyz").json()["checks"]["workers"] == {
        "ok": False, "error": "no worker has reported yet"}  # fmt: skip
    Heartbeat.objects.create(name="worker", at=timezone.now() - timedelta(minutes=10))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"]["error"].startswith("no heartbeat for 6")


def test_a_password_in_the_broker_url_is_not_shown(client, broker):
    broker("redis://user:secret@127.0.0.1:1/0")
    assert "secret" not in client.get("/readyz").content.decode()


def test_healthz_stays_cheap_and_needs_no_login(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok"


def test_beat_runs_the_heartbeat_every_minute():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["heartbeat"]
    assert entry["task"] == "postmortems.tasks.heartbeat" and entry["schedule"] <= 60
