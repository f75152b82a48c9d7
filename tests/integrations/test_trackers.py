"""Issue trackers: "Create ticket" from an action item, and the ticket's state coming back.

pytest-httpserver plays Jira Cloud, GitHub and Linear with their documented request and
response shapes; the app reaches them through httpx as it would the real services."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from werkzeug.wrappers import Response

from actionitems.models import ActionItem
from actionitems.tasks import run_sweeps
from integrations.models import TrackerConnection, TrackerLink
from integrations.tasks import sync_trackers
from postmortems.models import Revision
from tests.conftest import browser_of

pytestmark = pytest.mark.django_db

JIRA_EMAIL, JIRA_TOKEN = "bot@example.com", "ATATT3xFfGF0-jira-token"


class FakeJira:
    """POST /rest/api/3/issue and POST /rest/api/3/issue/bulkfetch, with basic auth."""

    def __init__(self, server):
        self.server = server
        self.issues = {}  # id -> {"key", "status", "category", "resolution"}
        self.created = []  # request bodies
        self.fail_with = None
        server.expect_request("/rest/api/3/issue", method="POST").respond_with_handler(self.create)
        server.expect_request("/rest/api/3/issue/bulkfetch", method="POST").respond_with_handler(
            self.bulkfetch
        )

    def authorized(self, request):
        expected = base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    def create(self, request):
        if not self.authorized(request):
            return Response(json.dumps({"errorMessages": ["Unauthorized"]}), status=401)
        if self.fail_with:
            return Response(json.dumps(self.fail_with), status=400,
                            content_type="application/json")  # fmt: skip
        body = request.get_json()
        self.created.append(body)
        issue_id = str(10040 + len(self.issues))
        key = f"{body['fields']['project']['key']}-{24 + len(self.issues)}"
        self.issues[issue_id] = {"key": key, "status": "To Do", "category": "new",
                                 "resolution": None}  # fmt: skip
        answer = {"id": issue_id, "key": key,
                  "self": self.server.url_for(f"/rest/api/3/issue/{issue_id}")}  # fmt: skip
        return Response(json.dumps(answer), status=201, content_type="application/json")

    def issue_json(self, issue_id):
        issue = self.issues[issue_id]
        resolution = {"name": issue["resolution"]} if issue["resolution"] else None
        return {
            "id": issue_id,
            "key": issue["key"],
            "fields": {
                "status": {"name": issue["status"], "statusCategory": {"key": issue["category"]}},
                "resolution": resolution,
            },
        }

    def bulkfetch(self, request):
        if not self.authorized(request):
            return Response("{}", status=401)
        wanted = request.get_json()["issueIdsOrKeys"]
        found = [self.issue_json(i) for i in wanted if i in self.issues]
        errors = [{"issueIdsOrKeys": [i], "errors": ["not found"]} for i in wanted
                  if i not in self.issues]  # fmt: skip
        return Response(json.dumps({"issues": found, "issueErrors": errors}),
                        content_type="application/json")  # fmt: skip

    def close(self, key, resolution="Done"):
        issue = next(i for i in self.issues.values() if i["key"] == key)
        issue.update(status="Done", category="done", resolution=resolution)

    def reopen(self, key):
        issue = next(i for i in self.issues.values() if i["key"] == key)
        issue.update(status="In Progress", category="indeterminate", resolution=None)


@pytest.fixture
def jira(httpserver):
    return FakeJira(httpserver)


@pytest.fixture
def jira_connection(team, httpserver):
    connection = TrackerConnection(
        team=team, provider="jira", name="Jira OPS", base_url=httpserver.url_for("/"),
        project="OPS", username=JIRA_EMAIL, issue_type="Task",
    )  # fmt: skip
    connection.token = JIRA_TOKEN
    connection.webhook_secret = "jira-webhook-secret"
    connection.save()
    return connection


@pytest.fixture
def overdue_item(postmortem, author):
    postmortem.status = "published"
    postmortem.save()
    return ActionItem.objects.create(
        postmortem=postmortem, title="Alert on pool saturation", owner=author,
        due_date=timezone.localdate() - timedelta(days=3), description="Page at 80%.",
    )  # fmt: skip


def create_ticket(user, item, connection):
    return browser_of(user).post(
        f"/integrations/action-items/{item.pk}/ticket/", {"connection": connection.pk}
    )


def test_an_item_linked_to_a_jira_issue_is_done_when_the_issue_closes(
    jira, jira_connection, overdue_item, author
):
    page = browser_of(author).get(overdue_item.get_absolute_url()).content.decode()
    assert "Create ticket" in page and "Jira OPS" in page

    response = create_ticket(author, overdue_item, jira_connection)
    assert response.status_code == 302
    (sent,) = jira.created
    assert sent["fields"]["summary"] == "Alert on pool saturation"
    assert sent["fields"]["project"] == {"key": "OPS"}
    assert sent["fields"]["issuetype"] == {"name": "Task"}
    assert "Page at 80%." in json.dumps(sent["fields"]["description"])
    link = TrackerLink.objects.get()
    assert (link.key, link.remote_id, link.state) == ("OPS-24", "10040", "open")
    overdue_item.refresh_from_db()
    assert overdue_item.tracker_url == jira_connection.api_url + "/browse/OPS-24"
    # Saved through the document's save_row: an editor holding the old version gets a 409.
    # (No revision: the action items section's text leaves the tracker link out.)
    assert overdue_item.version == 2
    page = browser_of(author).get(overdue_item.get_absolute_url()).content.decode()
    assert "OPS-24" in page and "Create ticket" not in page

    sync_trackers()  # still open: nothing changes
    overdue_item.refresh_from_db()
    assert overdue_item.status == "open"

    jira.close("OPS-24")
    assert sync_trackers() == {"changed": 1}
    overdue_item.refresh_from_db()
    assert overdue_item.status == "done" and overdue_item.completed_at is not None
    revision = Revision.objects.filter(section="action_items").latest("version")
    assert revision.author is None and revision.note == "from Jira OPS: OPS-24 is Done"

    mail.outbox = []
    run_sweeps()  # reminders stop: the item is done
    assert [m.subject for m in mail.outbox if "Alert on pool" in m.subject] == []
    assert sync_trackers() == {"changed": 0}


def test_a_jira_issue_closed_as_won_t_do_closes_the_item_as_won_t_do(
    jira, jira_connection, overdue_item, author
):
    create_ticket(author, overdue_item, jira_connection)
    jira.close("OPS-24", resolution="Won't Do")
    sync_trackers()
    overdue_item.refresh_from_db()
    assert overdue_item.status == "wont_do"


def sign_hex(secret, body, prefix="sha256="):
    return prefix + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_jira_s_webhook_closes_and_reopens_the_item_when_signed(
    client, jira, jira_connection, overdue_item, author
):
    create_ticket(author, overdue_item, jira_connection)
    path = jira_connection.get_webhook_path()
    jira.close("OPS-24")
    body = json.dumps({"webhookEvent": "jira:issue_updated",
                       "issue": jira.issue_json("10040")}).encode()  # fmt: skip

    forged = client.post(path, body, content_type="application/json",
                         HTTP_X_HUB_SIGNATURE=sign_hex("guessed", body))  # fmt: skip
    assert forged.status_code == 401
    overdue_item.refresh_from_db()
    assert overdue_item.status == "open"

    response = client.post(path, body, content_type="application/json",
                           HTTP_X_HUB_SIGNATURE=sign_hex("jira-webhook-secret", body))  # fmt: skip
    assert response.status_code == 200 and response.json() == {"changed": 1}
    overdue_item.refresh_from_db()
    assert overdue_item.status == "done"

    jira.reopen("OPS-24")
    body = json.dumps({"webhookEvent": "jira:issue_updated",
                       "issue": jira.issue_json("10040")}).encode()  # fmt: skip
    client.post(path, body, content_type="application/json",
                HTTP_X_HUB_SIGNATURE=sign_hex("jira-webhook-secret", body))  # fmt: skip
    overdue_item.refresh_from_db()
    assert overdue_item.status == "open"  # the ticket had closed it, so it reopens it


def test_an_item_closed_by_hand_is_not_reopened_by_its_ticket(
    client, jira, jira_connection, overdue_item, author
):
    create_ticket(author, overdue_item, jira_connection)
    overdue_item.refresh_from_db()
    overdue_item.status = "done"
    overdue_item.save()
    jira.close("OPS-24")
    sync_trackers()
    jira.reopen("OPS-24")
    body = json.dumps({"issue": jira.issue_json("10040")}).encode()
    client.post(jira_connection.get_webhook_path(), body, content_type="application/json",
                HTTP_X_HUB_SIGNATURE=sign_hex("jira-webhook-secret", body))  # fmt: skip
    overdue_item.refresh_from_db()
    assert overdue_item.status == "done"


def test_a_tracker_refusal_is_shown_and_the_item_can_try_again(
    jira, jira_connection, overdue_item, author
):
    jira.fail_with = {"errorMessages": [], "errors": {"issuetype": "Specify a valid type."}}
    response = browser_of(author).post(
        f"/integrations/action-items/{overdue_item.pk}/ticket/",
        {"connection": jira_connection.pk},
        follow=True,
    )
    assert "Jira OPS answered 400" in response.content.decode()
    assert "Specify a valid type." in response.content.decode()
    assert not TrackerLink.objects.exists()
    jira.fail_with = None
    create_ticket(author, overdue_item, jira_connection)
    assert TrackerLink.objects.get().key == "OPS-24"
    second = browser_of(author).post(
        f"/integrations/action-items/{overdue_item.pk}/ticket/",
        {"connection": jira_connection.pk}, follow=True,
    )  # fmt: skip
    assert "already has a ticket" in second.content.decode()
    assert len(jira.created) == 1


def test_only_the_team_creates_tickets_with_its_own_trackers(
    jira, jira_connection, overdue_item, outsider, other_team, httpserver
):
    assert create_ticket(outsider, overdue_item, jira_connection).status_code == 404
    theirs = TrackerConnection.objects.create(team=other_team, provider="github", name="Theirs",
                                              project="search/app")  # fmt: skip
    response = create_ticket(overdue_item.owner, overdue_item, theirs)
    assert response.status_code == 302 and not TrackerLink.objects.exists()
    assert jira.created == []


def test_tokens_are_stored_encrypted_shown_masked_or_read_from_the_environment(
    jira_connection, manager, monkeypatch
):
    assert JIRA_TOKEN not in jira_connection.token_encrypted
    page = browser_of(manager).get("/integrations/teams/payments/").content.decode()
    assert JIRA_TOKEN not in page and "••••oken" in page
    assert jira_connection.get_webhook_path() in page
    monkeypatch.setenv("PAYMENTS_JIRA_TOKEN", "from-the-environment")
    jira_connection.token = "env:PAYMENTS_JIRA_TOKEN"
    jira_connection.save()
    assert jira_connection.token == "from-the-environment"
    assert jira_connection.token_hint == "env:PAYMENTS_JIRA_TOKEN"


def test_a_manager_adds_a_tracker_on_the_team_page(manager, httpserver):
    client = browser_of(manager)
    incomplete = client.post("/integrations/teams/payments/trackers/", {
        "provider": "jira", "name": "Jira", "project": "OPS", "token": "secret-token-1234",
    })  # fmt: skip
    assert incomplete.status_code == 422 and "Jira needs this." in incomplete.content.decode()
    response = client.post("/integrations/teams/payments/trackers/", {
        "provider": "github", "name": "GitHub web", "project": "acme/web",
        "token": "ghp_secret-token-1234", "base_url": httpserver.url_for("/"),
    })  # fmt: skip
    assert response.status_code == 302
    connection = TrackerConnection.objects.get()
    assert connection.token == "ghp_secret-token-1234" and connection.webhook_secret == ""


# GitHub Issues.


@pytest.fixture
def github(httpserver, team):
    connection = TrackerConnection(team=team, provider="github", name="GitHub web",
                                   base_url=httpserver.url_for("/"), project="acme/web")  # fmt: skip
    connection.token = "ghp_test-token"
    connection.webhook_secret = "gh-secret"
    connection.save()
    state = {"state": "open", "state_reason": None}

    def issue():
        return {"number": 42, "html_url": "https://github.com/acme/web/issues/42", **state}

    def create(request):
        assert request.headers["Authorization"] == "Bearer ghp_test-token"
        assert request.headers["Accept"] == "application/vnd.github+json"
        assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
        body = request.get_json()
        assert body["labels"] == ["postmortem"] and body["title"]
        return Response(json.dumps(issue()), status=201, content_type="application/json")

    httpserver.expect_request("/repos/acme/web/issues", method="POST").respond_with_handler(create)
    httpserver.expect_request("/repos/acme/web/issues/42", method="GET").respond_with_handler(
        lambda request: Response(json.dumps(issue()), content_type="application/json")
    )
    return connection, state


def test_a_github_issue_closed_as_completed_marks_the_item_done(github, overdue_item, author):
    connection, state = github
    create_ticket(author, overdue_item, connection)
    link = TrackerLink.objects.get()
    assert (link.key, link.url) == ("acme/web#42", "https://github.com/acme/web/issues/42")
    state.update(state="closed", state_reason="completed")
    sync_trackers()
    overdue_item.refresh_from_db()
    assert overdue_item.status == "done"


def test_github_s_signed_webhook_closes_an_item_as_not_planned(client, github, overdue_item,
                                                               author):  # fmt: skip
    connection, _state = github
    create_ticket(author, overdue_item, connection)
    body = json.dumps({
        "action": "closed",
        "issue": {"number": 42, "state": "closed", "state_reason": "not_planned",
                  "html_url": "https://github.com/acme/web/issues/42"},
        "repository": {"full_name": "acme/web"},
    }).encode()  # fmt: skip
    path = connection.get_webhook_path()
    ping = client.post(path, b'{"zen": "hi"}', content_type="application/json",
                       HTTP_X_GITHUB_EVENT="ping",
                       HTTP_X_HUB_SIGNATURE_256=sign_hex("gh-secret", b'{"zen": "hi"}'))  # fmt: skip
    assert ping.json() == {"changed": 0}
    response = client.post(path, body, content_type="application/json",
                           HTTP_X_GITHUB_EVENT="issues",
                           HTTP_X_HUB_SIGNATURE_256=sign_hex("gh-secret", body))  # fmt: skip
    assert response.json() == {"changed": 1}
    overdue_item.refresh_from_db()
    assert overdue_item.status == "wont_do"


# Linear.


def test_a_linear_issue_completed_marks_the_item_done(httpserver, team, overdue_item, author):
    connection = TrackerConnection(team=team, provider="linear", name="Linear ENG",
                                   base_url=httpserver.url_for("/"), project="team-uuid")  # fmt: skip
    connection.token = "lin_api_key"
    connection.save()
    state = {"name": "Todo", "type": "unstarted"}

    def graphql(request):
        assert request.headers["Authorization"] == "lin_api_key"
        body = request.get_json()
        issue = {"id": "issue-uuid", "identifier": "ENG-12",
                 "url": "https://linear.app/acme/issue/ENG-12", "state": dict(state)}  # fmt: skip
        if body["query"].startswith("mutation"):
            assert body["variables"]["input"]["teamId"] == "team-uuid"
            data = {"issueCreate": {"success": True, "issue": issue}}
        else:
            assert body["variables"] == {"ids": ["issue-uuid"]}
            data = {"issues": {"nodes": [issue]}}
        return Response(json.dumps({"data": data}), content_type="application/json")

    httpserver.expect_request("/graphql", method="POST").respond_with_handler(graphql)
    create_ticket(author, overdue_item, connection)
    assert TrackerLink.objects.get().key == "ENG-12"
    state.update(name="Done", type="completed")
    sync_trackers()
    overdue_item.refresh_from_db()
    assert overdue_item.status == "done"
