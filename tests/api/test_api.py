"""The REST API as scripts use it: a personal token, the team's scoping, versions and 409s."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from actionitems.models import ActionItem
from api.models import ApiToken
from incidents.models import Incident, TimelineEvent
from postmortems.models import Comment, FiveWhy, Postmortem, ReviewRequest, Revision
from tests.api.conftest import bearer_client

pytestmark = pytest.mark.django_db

REF = "INC-2026-0001"


def send(client, method, path, data=None):
    return getattr(client, method)(path, json.dumps(data), content_type="application/json")


@pytest.fixture
def other_incident(other_team, outsider):
    incident = Incident.objects.create(
        title="Search down",
        team=other_team,
        started_at=datetime(2026, 4, 1, 9, 0, tzinfo=UTC),
        created_by=outsider,
    )
    Postmortem.objects.create(incident=incident)
    return incident


# Tokens.


def test_the_readme_curl_lists_my_teams_incidents(api, incident, other_incident):
    response = api.get("/api/v1/incidents/")
    assert response.status_code == 200
    body = response.json()
    assert [i["reference"] for i in body["results"]] == [REF]
    assert body["count"] == 1
    first = body["results"][0]
    assert first["team"] == "payments" and first["commander"] == "jane"
    assert first["started_at"] == "2026-03-02T14:00:00Z"


def test_no_token_or_a_revoked_one_is_401_with_a_bearer_challenge(author, incident):
    anonymous = Client()
    response = anonymous.get("/api/v1/incidents/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"

    token, raw = ApiToken.issue(author, "bot")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/incidents/").status_code == 200
    token.revoke()
    assert client.get("/api/v1/incidents/").status_code == 401
    wrong = Client(HTTP_AUTHORIZATION="Bearer pms_not-a-token")
    assert wrong.get("/api/v1/incidents/").status_code == 401


def test_tokens_are_stored_hashed_and_remember_when_they_were_used(author, incident):
    token, raw = ApiToken.issue(author, "pager bot")
    assert raw.startswith("pms_") and len(raw) > 40
    stored = ApiToken.objects.get(pk=token.pk)
    assert raw not in (stored.digest, stored.prefix) and stored.prefix == raw[:8]
    assert stored.last_used_at is None
    Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/incidents/")
    stored.refresh_from_db()
    assert timezone.now() - stored.last_used_at < timedelta(seconds=10)


def test_create_api_token_prints_a_working_token_on_its_last_line(author, incident, capsys):
    call_command("create_api_token", "jane", "--name", "deploy bot")
    lines = capsys.readouterr().out.strip().splitlines()
    token = lines[-1]
    assert ApiToken.objects.get().name == "deploy bot"
    response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/incidents/")
    assert response.status_code == 200


def test_create_api_token_refuses_an_unknown_user(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user"):
        call_command("create_api_token", "nobody")


def test_the_tokens_page_shows_a_new_token_once_then_only_its_prefix(author_client):
    response = author_client.post("/api/tokens/", {"name": "CI"})
    assert response.status_code == 200
    raw = response.context["new_token"]
    assert raw in response.content.decode()
    page = author_client.get("/api/tokens/").content.decode()
    assert raw not in page and f"{raw[:8]}…" in page and "never" in page

    token = ApiToken.objects.get()
    author_client.post(f"/api/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/incidents/").status_code == 401


def test_the_tokens_page_keeps_the_name_typed_when_invalid(author_client):
    response = author_client.post("/api/tokens/", {"name": "x" * 150})
    assert response.status_code == 422
    assert "x" * 150 in response.content.decode()
    assert not ApiToken.objects.exists()


def test_nobody_revokes_someone_else_s_token(author, teammate):
    token, _raw = ApiToken.issue(author, "mine")
    client = Client()
    client.force_login(teammate)
    assert client.post(f"/api/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


# Scoping: another team's things do not exist; a reviewer from elsewhere reads only.


def test_another_team_s_objects_are_404(api, incident, other_incident, outsider):
    item = ActionItem.objects.create(postmortem=other_incident.postmortem, title="Theirs")
    ref = other_incident.reference
    for path in [
        f"/api/v1/incidents/{ref}/",
        f"/api/v1/incidents/{ref}/timeline/",
        f"/api/v1/incidents/{ref}/sections/",
        f"/api/v1/incidents/{ref}/sections/root_cause/",
        f"/api/v1/incidents/{ref}/postmortem/",
        f"/api/v1/incidents/{ref}/comments/",
        f"/api/v1/action-items/{item.pk}/",
    ]:
        assert api.get(path).status_code == 404, path
    writes = [
        ("post", f"/api/v1/incidents/{ref}/timeline/", {"description": "x"}),
        ("patch", f"/api/v1/incidents/{ref}/sections/root_cause/", {"version": 0, "values": {}}),
        ("post", f"/api/v1/incidents/{ref}/comments/", {"section": "summary", "body": "hi"}),
        ("patch", f"/api/v1/action-items/{item.pk}/", {"version": 1, "title": "Mine now"}),
        ("post", f"/api/v1/action-items/{item.pk}/status/", {"status": "done"}),
        ("post", "/api/v1/action-items/", {"incident": ref, "title": "Sneaky"}),
    ]
    for method, path, data in writes:
        assert send(api, method, path, data).status_code == 404, path
    item.refresh_from_db()
    assert (item.title, item.status) == ("Theirs", "open")
    assert api.get("/api/v1/action-items/").json()["count"] == 0


def test_a_reviewer_from_another_team_reads_and_comments_but_cannot_change(
    postmortem, outsider, author
):
    ReviewRequest.objects.create(
        postmortem=postmortem, reviewer=outsider, role="engineering_lead", requested_by=author
    )
    reviewer = bearer_client(outsider)
    assert reviewer.get(f"/api/v1/incidents/{REF}/sections/root_cause/").status_code == 200
    response = send(
        reviewer,
        "patch",
        f"/api/v1/incidents/{REF}/sections/root_cause/",
        {"version": 0, "values": {"root_cause": "Blame"}},
    )
    assert response.status_code == 403
    comment = send(
        reviewer, "post", f"/api/v1/incidents/{REF}/comments/", {"section": "root_cause",
                                                                 "body": "Why?"}
    )  # fmt: skip
    assert comment.status_code == 201
    postmortem.refresh_from_db()
    assert postmortem.root_cause == "A leak."


# Sections: the editor's versions.


def test_a_stale_section_write_is_409_and_keeps_the_first_save(api, postmortem, teammate):
    path = f"/api/v1/incidents/{REF}/sections/root_cause/"
    read = api.get(path).json()
    assert read["version"] == 0 and read["values"]["root_cause"] == "A leak."

    other = bearer_client(teammate)
    first = send(other, "patch", path, {"version": 0, "values": {"root_cause": "Pool leak."}})
    assert first.status_code == 200 and first.json()["version"] == 1

    stale = send(api, "patch", path, {"version": 0, "values": {"root_cause": "Mine."}})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 1
    assert "mike" in stale.json()["detail"] and "Pool leak." in stale.json()["current"]
    postmortem.refresh_from_db()
    assert postmortem.root_cause == "Pool leak."

    again = send(api, "patch", path, {"version": 1, "values": {"trigger": "A deploy."}})
    assert again.status_code == 200
    postmortem.refresh_from_db()
    assert (postmortem.root_cause, postmortem.trigger) == ("Pool leak.", "A deploy.")
    revision = Revision.objects.get(incident=postmortem.incident, section="root_cause", version=2)
    assert revision.author.username == "jane"


def test_a_section_write_is_validated_by_the_section_s_form(api, postmortem):
    path = f"/api/v1/incidents/{REF}/sections/impact/"
    response = send(api, "patch", path, {"version": 0, "values": {"slo_target": "250"}})
    assert response.status_code == 400
    assert "slo_target" in response.json()
    missing = send(api, "patch", path, {"values": {"users_affected": 10}})
    assert missing.status_code == 400 and "version" in missing.json()
    unknown = send(api, "patch", path, {"version": 0, "values": {"root_cause": "x"}})
    assert unknown.status_code == 400 and "root_cause" in unknown.json()
    assert Revision.objects.count() == 0


def test_incident_fields_change_through_their_sections_by_name(api, postmortem, teammate):
    path = f"/api/v1/incidents/{REF}/sections/incident_details/"
    response = send(api, "patch", path, {"version": 0, "values": {"commander": "mike"}})
    assert response.status_code == 200
    assert response.json()["values"] == {
        "title": "Checkout failing", "severity": "SEV1", "status": "resolved",
        "commander": "mike", "external_id": "",
    }  # fmt: skip
    nobody = send(api, "patch", path, {"version": 1, "values": {"commander": "ravi"}})
    assert nobody.status_code == 400 and "commander" in nobody.json()


def test_the_sections_list_has_every_section_with_its_version(
    api, postmortem, author, service, django_assert_max_num_queries
):
    from incidents.models import IncidentService

    IncidentService.objects.create(incident=postmortem.incident, service=service)
    for n in range(30):  # rows naming people: their queries must not grow with them
        ActionItem.objects.create(postmortem=postmortem, title=f"Item {n}", owner=author)
    with django_assert_max_num_queries(40):
        response = api.get(f"/api/v1/incidents/{REF}/sections/")
    keys = {s["key"]: s for s in response.json()}
    assert {"summary", "root_cause", "timeline", "action_items", "incident_times"} <= set(keys)
    assert keys["timeline"]["kind"] == "rows" and keys["summary"]["kind"] == "fields"


def test_rows_of_a_list_section_are_added_changed_and_deleted_with_versions(api, postmortem):
    rows = f"/api/v1/incidents/{REF}/sections/five_whys/rows/"
    created = send(api, "post", rows, {"question": "Why did it fail?", "answer": "Pool."})
    assert created.status_code == 201
    row = created.json()
    assert row["version"] == 1
    path = f"{rows}{row['id']}/"
    changed = send(api, "patch", path, {"version": 1, "answer": "The pool ran dry."})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert send(api, "patch", path, {"version": 1, "answer": "Old"}).status_code == 409
    assert api.delete(f"{path}?version=1").status_code == 409
    assert api.delete(path).status_code == 400
    assert api.delete(f"{path}?version=2").status_code == 204
    assert not FiveWhy.objects.exists()
    assert send(api, "post", rows, {"answer": "no question"}).status_code == 400


# The timeline, for bots that stream a channel.


def test_timeline_events_are_added_changed_and_deleted(api, incident):
    path = f"/api/v1/incidents/{REF}/timeline/"
    created = send(api, "post", path, {
        "occurred_at": "2026-03-02T14:05:00Z", "kind": "alert",
        "description": "Error rate above 5%", "actor": "Datadog",
    })  # fmt: skip
    assert created.status_code == 201
    event = created.json()
    assert (event["occurred_at"], event["kind"], event["version"]) == (
        "2026-03-02T14:05:00Z", "alert", 1,
    )  # fmt: skip
    one = f"{path}{event['id']}/"
    assert send(api, "patch", one, {"version": 1, "is_key_decision": True}).status_code == 200
    stale = send(api, "patch", one, {"version": 1, "description": "Again"})
    assert stale.status_code == 409
    assert api.get(path).json()["results"][0]["is_key_decision"] is True
    assert api.delete(f"{one}?version=2").status_code == 204
    assert not TimelineEvent.objects.exists()


def test_bulk_create_adds_every_event_as_one_revision_or_none(api, incident):
    path = f"/api/v1/incidents/{REF}/timeline/bulk/"
    events = [
        {"occurred_at": f"2026-03-02T14:0{n}:00Z", "description": f"Message {n}", "actor": "jane"}
        for n in range(5)
    ]
    bad = send(api, "post", path, {"events": [*events, {"occurred_at": "yesterday-ish"}]})
    assert bad.status_code == 400
    errors = bad.json()["events"]
    assert errors[:5] == [{}] * 5 and "occurred_at" in errors[5]
    assert not TimelineEvent.objects.exists()

    response = send(api, "post", path, {"events": events})
    assert response.status_code == 201
    assert [e["description"] for e in response.json()["created"]] == [
        f"Message {n}" for n in range(5)
    ]
    assert Revision.objects.filter(section="timeline").count() == 1
    too_many = send(api, "post", path, {"events": [events[0]] * 501})
    assert too_many.status_code == 400


# Action items.


def test_action_items_are_created_with_a_user_or_a_named_owner(api, postmortem, teammate):
    made = send(api, "post", "/api/v1/action-items/", {
        "incident": REF, "title": "Alert on pool use", "owner": "mike",
        "due_date": "2026-03-20", "priority": "P1",
    })  # fmt: skip
    assert made.status_code == 201
    item = made.json()
    assert (item["owner"], item["owner_display"], item["version"]) == ("mike", "Mike Alvarez", 1)

    named = send(api, "post", "/api/v1/action-items/", {
        "incident": REF, "title": "Load test", "owner_name": "QA Team",
    })  # fmt: skip
    assert named.status_code == 201
    assert (named.json()["owner"], named.json()["owner_display"]) == (None, "QA Team")

    both = send(api, "post", "/api/v1/action-items/", {
        "incident": REF, "title": "Both", "owner": "mike", "owner_name": "QA Team",
    })  # fmt: skip
    assert both.status_code == 400 and "owner_name" in both.json()
    outsider = send(api, "post", "/api/v1/action-items/", {
        "incident": REF, "title": "Theirs", "owner": "ravi",
    })  # fmt: skip
    assert outsider.status_code == 400 and "owner" in outsider.json()
    assert ActionItem.objects.count() == 2

    # Naming an owner clears the named one, and the other way round.
    path = f"/api/v1/action-items/{named.json()['id']}/"
    taken = send(api, "patch", path, {"version": 1, "owner": "jane"})
    assert (taken.json()["owner"], taken.json()["owner_name"]) == ("jane", "")
    handed = send(api, "patch", path, {"version": 2, "owner_name": "SRE"})
    assert (handed.json()["owner"], handed.json()["owner_name"]) == (None, "SRE")


def test_an_action_item_change_on_an_old_version_is_409(api, action_item):
    path = f"/api/v1/action-items/{action_item.pk}/"
    assert send(api, "patch", path, {"version": 1, "priority": "P0"}).status_code == 200
    stale = send(api, "patch", path, {"version": 1, "title": "Renamed"})
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    action_item.refresh_from_db()
    assert (action_item.title, action_item.priority) == ("Add a pool alert", "P0")


def test_the_status_endpoint_closes_an_item_whatever_its_version(api, action_item):
    response = send(api, "post", f"/api/v1/action-items/{action_item.pk}/status/",
                    {"status": "done"})  # fmt: skip
    assert response.status_code == 200
    assert response.json()["status"] == "done" and response.json()["completed_at"]
    wrong = send(api, "post", f"/api/v1/action-items/{action_item.pk}/status/", {"status": "x"})
    assert wrong.status_code == 400


def test_action_items_filter_and_paginate(api, postmortem, author, teammate,
                                          django_assert_max_num_queries):  # fmt: skip
    today = timezone.localdate()
    for n in range(30):
        ActionItem.objects.create(
            postmortem=postmortem, title=f"Item {n}", owner=author if n % 2 else teammate,
            due_date=today - timedelta(days=1) if n < 3 else today + timedelta(days=n),
        )  # fmt: skip
    with django_assert_max_num_queries(8):
        page = api.get("/api/v1/action-items/", {"page_size": 10}).json()
    assert page["count"] == 30 and len(page["results"]) == 10 and page["next"]
    overdue = api.get("/api/v1/action-items/", {"overdue": "true"}).json()
    assert overdue["count"] == 3
    mikes = api.get("/api/v1/action-items/", {"owner": "mike"}).json()
    assert mikes["count"] == 15
    assert api.get("/api/v1/action-items/", {"incident": REF}).json()["count"] == 30
    assert api.get("/api/v1/action-items/", {"incident": "INC-1999-0001"}).json()["count"] == 0


def test_incidents_filter_by_status_team_and_time(api, incident, team):
    Incident.objects.create(title="Older", team=team, status="investigating",
                            started_at=datetime(2025, 1, 1, tzinfo=UTC), external_id="PD-9")  # fmt: skip
    assert api.get("/api/v1/incidents/", {"status": "resolved"}).json()["count"] == 1
    assert api.get("/api/v1/incidents/", {"external_id": "PD-9"}).json()["count"] == 1
    after = api.get("/api/v1/incidents/", {"started_after": "2026-01-01T00:00:00Z"}).json()
    assert [i["title"] for i in after["results"]] == ["Checkout failing"]
    assert api.get("/api/v1/incidents/", {"team": "search"}).json()["count"] == 0
    assert api.get("/api/v1/incidents/", {"severity": "SEV9"}).status_code == 400


def test_incident_list_queries_do_not_grow_with_incidents(api, team, author,
                                                          django_assert_max_num_queries):  # fmt: skip
    for n in range(20):
        Incident.objects.create(title=f"Incident {n}", team=team, commander=author,
                                started_at=datetime(2026, 1, 1 + n, tzinfo=UTC))  # fmt: skip
    with django_assert_max_num_queries(8):
        assert api.get("/api/v1/incidents/").status_code == 200


def test_declaring_an_incident_opens_its_postmortem(api, team, service):
    response = send(api, "post", "/api/v1/incidents/", {
        "title": "Payments slow", "team": "payments", "severity": "SEV2",
        "started_at": "2026-05-01T10:00:00Z", "commander": "jane",
        "services": ["Payment API"], "external_id": "PD-1234", "template": "incident_report",
    })  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reference"] == "INC-2026-0001" and body["external_id"] == "PD-1234"
    assert body["postmortem"] == {"status": "draft", "template": "incident_report"}
    assert body["services"] == [{"service": "Payment API", "impact": "degraded", "note": ""}]
    incident = Incident.objects.get()
    assert incident.created_by.username == "jane"
    assert list(incident.postmortem.authors.values_list("username", flat=True)) == ["jane"]


def test_declaring_an_incident_for_another_team_is_refused(api, team, other_team):
    response = send(api, "post", "/api/v1/incidents/", {
        "title": "Not mine", "team": "search", "started_at": "2026-05-01T10:00:00Z",
    })  # fmt: skip
    assert response.status_code == 400 and "team" in response.json()
    assert not Incident.objects.exists()


# Comments.


def test_comments_mention_people_and_threads_resolve(
    api, postmortem, teammate, django_capture_on_commit_callbacks
):
    path = f"/api/v1/incidents/{REF}/comments/"
    with django_capture_on_commit_callbacks(execute=True):
        made = send(api, "post", path, {"section": "root_cause", "body": "@mike can you check?"})
    assert made.status_code == 201
    thread = made.json()
    assert thread["author"] == "jane" and thread["parent"] is None
    assert [m.to for m in mail.outbox] == [["mike@example.com"]]
    reply = send(api, "post", path, {"section": "root_cause", "body": "Done.",
                                     "parent": thread["id"]})  # fmt: skip
    assert reply.json()["parent"] == thread["id"]
    resolved = send(api, "post", f"{path}{thread['id']}/resolve/", {"resolved": True})
    assert resolved.json()["resolved_by"] == "jane"
    listed = api.get(path, {"section": "root_cause"}).json()
    assert listed["count"] == 2
    assert send(api, "post", path, {"section": "nope", "body": "x"}).status_code == 400
    assert Comment.objects.count() == 2


def test_the_postmortem_shows_its_status_authors_and_reviewers(api, postmortem, manager):
    ReviewRequest.objects.create(postmortem=postmortem, reviewer=manager, role="manager")
    body = api.get(f"/api/v1/incidents/{REF}/postmortem/").json()
    assert body["status"] == "draft" and body["authors"] == ["jane"]
    assert body["reviewers"][0]["reviewer"] == "sarah"
    assert body["export_url"].endswith("/postmortem/export.md")


# The schema and the docs.


def test_the_schema_and_the_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/incidents/" in paths and "/api/v1/incidents/{reference}/timeline/bulk/" in paths
    assert schema.json()["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    docs = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in docs
    assert "cdn" not in docs.lower()
    assert client.get("/api/redoc/").status_code == 200


def test_a_json_body_that_is_not_an_object_is_a_400(api, incident):
    response = api.post(f"/api/v1/incidents/{REF}/timeline/", "[1, 2]",
                        content_type="application/json")  # fmt: skip
    assert response.status_code == 400
    broken = api.post(f"/api/v1/incidents/{REF}/timeline/", "{not json",
                      content_type="application/json")  # fmt: skip
    assert broken.status_code == 400


def test_due_dates_and_times_round_trip_as_iso_8601(api, action_item):
    path = f"/api/v1/action-items/{action_item.pk}/"
    response = send(api, "patch", path, {"version": 1, "due_date": "2026-04-30"})
    assert response.json()["due_date"] == "2026-04-30"
    action_item.refresh_from_db()
    assert action_item.due_date == date(2026, 4, 30)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_readme_s_curl_example_works_against_a_running_server(live_server, author, incident):
    """The two commands of the README's "API and integrations" section, run as written: the
    token from create_api_token's last line, then curl with it."""
    import os
    import re
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from django.db import connection

    from tests.conftest import skip_or_fail

    if shutil.which("curl") is None:
        skip_or_fail("curl is not installed")
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL: the command runs in another process")
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    make_token = re.search(r"^TOKEN=\$\(python manage.py create_api_token .*\)$", readme, re.M)
    curl = re.search(r'^curl -H "Authorization: Bearer \$TOKEN" \S+/api/v1/incidents/$',
                     readme, re.M)  # fmt: skip
    assert make_token and curl, "the README shows both commands"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
    }
    script = "\n".join([
        "set -euo pipefail",
        make_token.group(0).replace("python ", f"{sys.executable} "),
        curl.group(0).replace("http://localhost:8000", live_server.url)
        + " -s -w '\\n%{http_code}'",
    ])  # fmt: skip
    result = subprocess.run(["bash", "-c", script], cwd=root, env=env, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    body, _, status = result.stdout.rpartition("\n")
    assert status == "200", result.stdout + result.stderr
    assert json.loads(body)["results"][0]["reference"] == REF
    assert ApiToken.objects.get().name == "pager bot"


@pytest.mark.django_db
def test_archived_incidents_leave_the_list_unless_asked_for_and_say_when(api, incident, author):
    incident.archive(by=author)
    listed = api.get("/api/v1/incidents/").json()["results"]
    assert incident.reference not in [row["reference"] for row in listed]
    archived = api.get("/api/v1/incidents/", {"archived": "true"}).json()["results"]
    row = next(row for row in archived if row["reference"] == incident.reference)
    assert row["archived_at"] is not None
    assert api.get(f"/api/v1/incidents/{incident.reference}/").json()["archived_at"] is not None
