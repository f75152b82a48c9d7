"""Issue trackers over their REST (or GraphQL) APIs with httpx: create a ticket from an
action item, read tickets' states back, and read the trackers' own webhooks.

Each client speaks its tracker's documented shapes:
- Jira Cloud: POST /rest/api/3/issue, POST /rest/api/3/issue/bulkfetch (basic auth with an
  account email and API token); webhooks signed with X-Hub-Signature: sha256=<hex>.
- GitHub: POST /repos/{owner}/{repo}/issues, GET .../issues/{number} (a bearer token);
  webhooks signed with X-Hub-Signature-256: sha256=<hex>.
- Linear: the GraphQL API (issueCreate, issues); webhooks signed with Linear-Signature: <hex>.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from actionitems.models import ActionItem

from .events import absolute
from .http import client
from .models import TrackerConnection
from .urlsafety import UnsafeURL, check_url

LABEL = "postmortem"


class TrackerError(Exception):
    """The tracker refused or could not be reached; the message is for the user."""


class BadSignature(Exception):
    pass


@dataclass(frozen=True)
class Ticket:
    remote_id: str
    key: str
    url: str
    closed: bool
    status: str  # the tracker's own word: "Done", "In Progress", "closed"
    resolution: str = ""  # when closed: ActionItem.Status.DONE or WONT_DO


def item_description(item: ActionItem) -> str:
    incident = item.postmortem.incident
    lines = [
        f"Action item from the postmortem of {incident.reference} {incident.title}.",
        f"Priority {item.priority}; due {item.due_date or 'no date'}; owner "
        f"{item.owner_display or 'unassigned'}.",
        "",
        item.description,
        "",
        absolute(item.get_absolute_url()),
    ]
    return "\n".join(lines).strip()


def verify_hex_signature(secret: str, body: bytes, given: str, prefix: str = "") -> None:
    if not secret:
        raise BadSignature("no webhook secret is set for this tracker")
    expected = prefix + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given.strip()):
        raise BadSignature("signature mismatch")


class TrackerClient:
    def __init__(self, connection: TrackerConnection) -> None:
        self.connection = connection

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.connection.api_url}{path}"
        try:
            check_url(url)
            response = client().request(
                method,
                url,
                timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
                headers=self.headers(),
                auth=self.auth() or httpx.USE_CLIENT_DEFAULT,
                **kwargs,
            )
        except UnsafeURL as error:
            raise TrackerError(str(error)) from None
        except httpx.HTTPError as error:
            raise TrackerError(f"{self.connection.name} could not be reached: {error}") from None
        if response.status_code >= 400:
            raise TrackerError(
                f"{self.connection.name} answered {response.status_code}: {response.text[:300]}"
            )
        try:
            return response.json()
        except ValueError:
            raise TrackerError(f"{self.connection.name} answered something not JSON.") from None

    def headers(self) -> dict[str, str]:
        return {"accept": "application/json"}

    def auth(self) -> httpx.BasicAuth | None:
        return None

    def create(self, item: ActionItem) -> Ticket:
        raise NotImplementedError

    def fetch(self, remote_ids: list[str]) -> dict[str, Ticket]:
        raise NotImplementedError

    def tickets_from_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[Ticket]:
        raise NotImplementedError


WONT_DO_RESOLUTIONS = {"won't do", "won't fix", "declined", "duplicate", "cannot reproduce"}


class JiraClient(TrackerClient):
    def auth(self) -> httpx.BasicAuth:
        return httpx.BasicAuth(self.connection.username, self.connection.token)

    def ticket(self, issue: Mapping[str, Any]) -> Ticket:
        fields = issue.get("fields") or {}
        status = fields.get("status") or {}
        closed = (status.get("statusCategory") or {}).get("key") == "done"
        resolution = ((fields.get("resolution") or {}).get("name") or "").lower()
        key = str(issue["key"])
        return Ticket(
            remote_id=str(issue["id"]),
            key=key,
            url=f"{self.connection.api_url}/browse/{key}",
            closed=closed,
            status=str(status.get("name", "")),
            resolution=(
                ("wont_do" if resolution in WONT_DO_RESOLUTIONS else "done") if closed else ""
            ),
        )

    def create(self, item: ActionItem) -> Ticket:
        description = {
            "type": "doc",
            "version": 1,
            "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": line}]}
                for line in item_description(item).splitlines()
                if line.strip()
            ],
        }
        created = self.request(
            "POST",
            "/rest/api/3/issue",
            json={
                "fields": {
                    "project": {"key": self.connection.project},
                    "summary": item.title[:255],
                    "issuetype": {"name": self.connection.issue_type or "Task"},
                    "description": description,
                    "labels": [LABEL],
                }
            },
        )
        key = str(created["key"])
        return Ticket(
            remote_id=str(created["id"]),
            key=key,
            url=f"{self.connection.api_url}/browse/{key}",
            closed=False,
            status="",
        )

    def fetch(self, remote_ids: list[str]) -> dict[str, Ticket]:
        tickets: dict[str, Ticket] = {}
        for start in range(0, len(remote_ids), 100):
            answer = self.request(
                "POST",
                "/rest/api/3/issue/bulkfetch",
                json={
                    "issueIdsOrKeys": remote_ids[start : start + 100],
                    "fields": ["status", "resolution"],
                },
            )
            for issue in answer.get("issues", []):
                ticket = self.ticket(issue)
                tickets[ticket.remote_id] = ticket
        return tickets

    def tickets_from_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[Ticket]:
        verify_hex_signature(
            self.connection.webhook_secret, body, headers.get("x-hub-signature", ""), "sha256="
        )
        issue = json.loads(body).get("issue")
        return [self.ticket(issue)] if issue else []


class GitHubClient(TrackerClient):
    def headers(self) -> dict[str, str]:
        return {
            "accept": "application/vnd.github+json",
            "authorization": f"Bearer {self.connection.token}",
            "x-github-api-version": "2022-11-28",
        }

    def ticket(self, issue: Mapping[str, Any]) -> Ticket:
        closed = issue.get("state") == "closed"
        reason = issue.get("state_reason") or ""
        return Ticket(
            remote_id=str(issue["number"]),
            key=f"{self.connection.project}#{issue['number']}",
            url=str(issue.get("html_url", "")),
            closed=closed,
            status=str(issue.get("state", "")) + (f" ({reason})" if reason else ""),
            resolution=(
                ("wont_do" if reason in ("not_planned", "duplicate") else "done") if closed else ""
            ),
        )

    def create(self, item: ActionItem) -> Ticket:
        issue = self.request(
            "POST",
            f"/repos/{self.connection.project}/issues",
            json={"title": item.title, "body": item_description(item), "labels": [LABEL]},
        )
        return self.ticket(issue)

    def fetch(self, remote_ids: list[str]) -> dict[str, Ticket]:
        tickets = {}
        for number in remote_ids:
            try:
                issue = self.request("GET", f"/repos/{self.connection.project}/issues/{number}")
            except TrackerError:
                continue  # deleted or moved; the others still sync
            tickets[number] = self.ticket(issue)
        return tickets

    def tickets_from_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[Ticket]:
        verify_hex_signature(
            self.connection.webhook_secret,
            body,
            headers.get("x-hub-signature-256", ""),
            "sha256=",
        )
        payload = json.loads(body)
        repository = (payload.get("repository") or {}).get("full_name", "")
        if headers.get("x-github-event") != "issues" or repository != self.connection.project:
            return []  # a ping, or another repository's event
        return [self.ticket(payload["issue"])]


LINEAR_FIELDS = "id identifier url state { name type }"


class LinearClient(TrackerClient):
    def headers(self) -> dict[str, str]:
        # Linear's personal API keys go in the header as they are, without "Bearer".
        return {"accept": "application/json", "authorization": self.connection.token}

    def ticket(self, issue: Mapping[str, Any]) -> Ticket:
        state = issue.get("state") or {}
        kind = state.get("type", "")
        closed = kind in ("completed", "canceled")
        return Ticket(
            remote_id=str(issue["id"]),
            key=str(issue.get("identifier", "")),
            url=str(issue.get("url", "")),
            closed=closed,
            status=str(state.get("name", "")),
            resolution=("wont_do" if kind == "canceled" else "done") if closed else "",
        )

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        answer = self.request("POST", "/graphql", json={"query": query, "variables": variables})
        if answer.get("errors"):
            raise TrackerError(f"Linear: {answer['errors'][0].get('message', 'error')}")
        return dict(answer.get("data") or {})

    def create(self, item: ActionItem) -> Ticket:
        data = self.graphql(
            "mutation IssueCreate($input: IssueCreateInput!) { issueCreate(input: $input) "
            f"{{ success issue {{ {LINEAR_FIELDS} }} }} }}",
            {
                "input": {
                    "teamId": self.connection.project,
                    "title": item.title,
                    "description": item_description(item),
                    **({"dueDate": item.due_date.isoformat()} if item.due_date else {}),
                }
            },
        )
        created = data.get("issueCreate") or {}
        if not created.get("success"):
            raise TrackerError("Linear did not create the issue.")
        return self.ticket(created["issue"])

    def fetch(self, remote_ids: list[str]) -> dict[str, Ticket]:
        tickets = {}
        for start in range(0, len(remote_ids), 100):
            data = self.graphql(
                "query Issues($ids: [ID!]) { issues(filter: { id: { in: $ids } }, first: 100) "
                f"{{ nodes {{ {LINEAR_FIELDS} }} }} }}",
                {"ids": remote_ids[start : start + 100]},
            )
            for issue in (data.get("issues") or {}).get("nodes", []):
                ticket = self.ticket(issue)
                tickets[ticket.remote_id] = ticket
        return tickets

    def tickets_from_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[Ticket]:
        verify_hex_signature(
            self.connection.webhook_secret, body, headers.get("linear-signature", "")
        )
        payload = json.loads(body)
        if payload.get("type") != "Issue" or not payload.get("data"):
            return []
        return [self.ticket(payload["data"])]


CLIENTS: dict[str, type[TrackerClient]] = {
    TrackerConnection.Provider.JIRA: JiraClient,
    TrackerConnection.Provider.GITHUB: GitHubClient,
    TrackerConnection.Provider.LINEAR: LinearClient,
}


def client_for(connection: TrackerConnection) -> TrackerClient:
    return CLIENTS[connection.provider](connection)


def lower_keys(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}
