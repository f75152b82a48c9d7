"""Cached markup (section bodies, rows) is keyed by everything it shows: another document,
another reader's rights or a newer version never gets someone else's markup."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from incidents.models import Incident, TimelineEvent
from postmortems.models import Postmortem, ReviewRequest
from tests.conftest import HTMX, browser_of


def fragment(client, incident, key):
    url = reverse("postmortems:section", args=[incident.reference, key])
    return client.get(url, **HTMX).content.decode()


@pytest.mark.django_db
def test_two_documents_at_the_same_versions_each_show_their_own_text(
    author_client, team, author, postmortem
):
    other = Incident.objects.create(
        title="Search down", team=team, started_at=datetime(2026, 3, 2, tzinfo=UTC)
    )
    Postmortem.objects.create(incident=other, root_cause="A full disk.")
    assert "A leak." in fragment(author_client, postmortem.incident, "root_cause")
    body = fragment(author_client, other, "root_cause")
    assert "A full disk." in body and "A leak." not in body
    page = author_client.get(other.get_absolute_url()).content.decode()
    assert "A full disk." in page and "A leak." not in page


@pytest.mark.django_db
def test_a_reader_never_gets_the_editors_markup(author_client, postmortem, outsider):
    TimelineEvent.objects.create(
        incident=postmortem.incident,
        occurred_at=datetime(2026, 3, 2, 14, 5, tzinfo=UTC),
        description="Alert fired",
    )
    page = author_client.get(postmortem.incident.get_absolute_url()).content.decode()
    assert "Edit<span" in page  # the cache now holds the editor's markup
    ReviewRequest.objects.create(postmortem=postmortem, reviewer=outsider, role="engineering_lead")
    reviewer = browser_of(outsider)
    page = reviewer.get(postmortem.incident.get_absolute_url()).content.decode()
    assert "Alert fired" in page and "Edit<span" not in page
    assert "Edit<span" not in fragment(reviewer, postmortem.incident, "timeline")


@pytest.mark.django_db
def test_a_saved_section_shows_its_new_text_everywhere(author_client, teammate, postmortem):
    mike = browser_of(teammate)
    assert "A leak." in fragment(mike, postmortem.incident, "root_cause")  # cached
    author_client.post(
        reverse("postmortems:section", args=[postmortem.incident.reference, "root_cause"]),
        {"version": 0, "root_cause": "A leak in checkout.", "trigger": ""},
        **HTMX,
    )
    assert "A leak in checkout." in fragment(mike, postmortem.incident, "root_cause")
    page = mike.get(postmortem.incident.get_absolute_url()).content.decode()
    assert "A leak in checkout." in page


@pytest.mark.redis
@pytest.mark.django_db
def test_the_shared_redis_cache_serves_pages_and_sessions(settings, client, author, postmortem):
    """As deployed with REDIS_URL: one Redis client per pool, markup and sessions in Redis."""
    import os
    import uuid

    import redis
    from django.core.cache import cache

    from tests.conftest import skip_or_fail

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        skip_or_fail(f"Redis is not reachable at {url}")
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "postmortems.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    try:
        backend = cache._cache
        assert backend.get_client() is backend.get_client()  # one client, not one per call
        client.force_login(author)
        first = client.get(postmortem.incident.get_absolute_url()).content.decode()
        stored = redis.Redis.from_url(url).keys(f"{prefix}:*")
        assert any(b"pm:body:" in key for key in stored)  # section bodies went to Redis
        assert any(b"django.contrib.sessions" in key for key in stored)
        second = client.get(postmortem.incident.get_absolute_url()).content.decode()
        assert "A leak." in first and "A leak." in second
        assert first.count('class="section-body"') == second.count('class="section-body"')
    finally:
        connection = redis.Redis.from_url(url)
        for key in connection.keys(f"{prefix}:*"):
            connection.delete(key)
