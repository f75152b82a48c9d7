"""Schemathesis fuzzes every operation of the OpenAPI schema with a real token against real
data: valid requests and invalid ones, the API never answers with a server error."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from actionitems.models import ActionItem
from api.models import ApiToken
from incidents.models import TimelineEvent
from postmortems.models import Comment, FiveWhy

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

EXAMPLES_PER_OPERATION = 25


@pytest.fixture
def api_schema(db):
    """The schema as the app serves it, requests made straight to its WSGI handler. As in
    Django's test client, a finished request must not close the test's database connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token(author, postmortem, action_item, service):
    """Things for the fuzzer to find at INC-2026-0001 and small ids, and a token to see them."""
    incident = postmortem.incident
    TimelineEvent.objects.create(incident=incident, occurred_at=incident.started_at,
                                 description="Alert fired", kind="alert")  # fmt: skip
    FiveWhy.objects.create(postmortem=postmortem, question="Why?", answer="Because.")
    Comment.objects.create(postmortem=postmortem, section="summary", author=author, body="Hi")
    ActionItem.objects.create(postmortem=postmortem, title="Named", owner_name="QA Team")
    _token, raw = ApiToken.issue(author, "fuzzer")
    return raw


def test_no_request_makes_the_api_fail(api_schema, token, capsys):
    headers = {"Authorization": f"Bearer {token}"}
    server_errors, requests, operations = [], 0, 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def fuzz(case):
                nonlocal requests
                # Each request in a savepoint rolled back after it: examples stay independent,
                # and a database error in one cannot hide behind another.
                with transaction.atomic():
                    response = case.call(headers=headers)
                    transaction.set_rollback(True)
                requests += 1
                if response.status_code >= 500:
                    server_errors.append(
                        f"{case.method} {case.formatted_path} {case.query} {case.body!r}: "
                        f"{response.status_code} {response.text[:300]}"
                    )

            fuzz()
    with capsys.disabled():
        print(f"\nschemathesis: {requests} requests over {operations} operations, "
              f"{len(server_errors)} server errors")  # fmt: skip
    assert operations >= 20
    assert server_errors == []
