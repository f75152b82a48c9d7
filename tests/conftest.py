import os
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from actionitems.models import ActionItem
from incidents.models import Incident, Membership, Service, Team
from postmortems.models import Postmortem

# CI sets this so that a test needing PostgreSQL, Redis or Chromium fails instead of skipping
# when the service is missing: a skipped test there would be a test that cannot fail.
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


# Headers of a request made by HTMX: views answer with a fragment rather than a page.
HTMX = {"HTTP_HX_REQUEST": "true"}


def browser_of(user):
    """A logged-in client of its own: the `client` fixture is one session for all its users."""
    browser = Client()
    browser.force_login(user)
    return browser


def skip_or_fail(reason):
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def pytest_collection_modifyitems(items):
    """Browser tests last: they are the slowest, and they lift Django's async-safety guard."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(autouse=True)
def empty_cache():
    """Cached markup is keyed by row ids and versions, which SQLite hands out again after a
    test's rollback: each test starts with an empty cache."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def eager_celery():
    """Tasks run in the test's own process and transaction; the Redis tests start a worker."""
    from postmortems.celery import app

    app.conf.task_always_eager = True
    # As in production, a failing task does not raise at the caller (the sweep goes on).
    app.conf.task_eager_propagates = False
    # Eager tasks store no result, but Celery builds the backend: keep it off the disk.
    app.conf.result_backend = "cache+memory://"
    yield app
    app.conf.task_always_eager = False


@pytest.fixture
def make_user(db):
    def make(username, team=None, role=Membership.Role.MEMBER, **extra):
        user = get_user_model().objects.create_user(
            username=username,
            password="correct horse battery staple",
            email=f"{username}@example.com",
            first_name=extra.pop("first_name", username.capitalize()),
            **extra,
        )
        if team is not None:
            Membership.objects.create(team=team, user=user, role=role)
        return user

    return make


@pytest.fixture
def team(db):
    return Team.objects.create(name="Payments", slug="payments")


@pytest.fixture
def other_team(db):
    return Team.objects.create(name="Search", slug="search")


@pytest.fixture
def author(make_user, team):
    return make_user("jane", team, last_name="Park")


@pytest.fixture
def teammate(make_user, team):
    return make_user("mike", team, last_name="Alvarez")


@pytest.fixture
def manager(make_user, team):
    return make_user("sarah", team, role=Membership.Role.MANAGER, last_name="Okafor")


@pytest.fixture
def outsider(make_user, other_team):
    return make_user("ravi", other_team, last_name="Rao")


@pytest.fixture
def service(team):
    return Service.objects.create(team=team, name="Payment API")


@pytest.fixture
def incident(team, author):
    return Incident.objects.create(
        title="Checkout failing",
        severity=Incident.Severity.SEV1,
        status=Incident.Status.RESOLVED,
        team=team,
        commander=author,
        started_at=datetime(2026, 3, 2, 14, 0, tzinfo=UTC),
        resolved_at=datetime(2026, 3, 2, 14, 30, tzinfo=UTC),
        created_by=author,
    )


@pytest.fixture
def postmortem(incident, author):
    postmortem = Postmortem.objects.create(incident=incident, root_cause="A leak.")
    postmortem.authors.add(author)
    return postmortem


@pytest.fixture
def action_item(postmortem, author):
    return ActionItem.objects.create(postmortem=postmortem, title="Add a pool alert", owner=author)


@pytest.fixture
def author_client(client, author):
    client.force_login(author)
    return client


@pytest.fixture
def outsider_client(client, outsider):
    client.force_login(outsider)
    return client
