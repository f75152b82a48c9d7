"""What the security suites share: the people around one document (every role the app knows),
the document with one row of every list, and a parser that finds live markup in a response."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from actionitems.models import ActionItem
from incidents.models import Incident, IncidentService, Membership, Service, Team
from postmortems.models import Comment, ReviewRequest

PAYLOADS_FILE = Path(__file__).with_name("xss_payloads.txt")

# What each suite covered (payloads, pages, cells, examples...), printed after the run: the
# figures docs/design/security-suites.md quotes.
FIGURES: dict[str, Counter[str]] = {}


def figures(suite: str) -> Counter[str]:
    return FIGURES.setdefault(suite, Counter())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for suite, counts in FIGURES.items():
        if counts:
            shown = ", ".join(f"{name}: {count}" for name, count in sorted(counts.items()))
            terminalreporter.write_line(f"{suite}: {shown}")


def load_payloads() -> list[str]:
    """The corpus: one payload a line, "\\n" for a line break, "# " starts a comment."""
    lines = PAYLOADS_FILE.read_text(encoding="utf-8").splitlines()
    return [line.replace("\\n", "\n") for line in lines if line and not line.startswith("# ")]


# Attributes a browser follows or runs as a URL (SVG animation values included).
URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "xlink:href", "data", "poster", "background",
    "srcset", "lowsrc", "dynsrc", "codebase", "cite", "icon", "manifest", "ping", "to",
    "from", "values", "by", "content",
}  # fmt: skip
DANGEROUS_SCHEME = re.compile(r"^(javascript|vbscript|data|livescript):", re.IGNORECASE)
# Control characters and whitespace a browser ignores inside a scheme ("java\tscript:").
IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f]+")
EMBEDDING_TAGS = {"iframe", "frame", "frameset", "object", "embed", "applet", "base", "portal"}
# The payloads' own markers: an htmx request to /hx-probe, a template evaluated to 14.
HX_MARK = "hx-probe"
EVALUATED_TEMPLATE = "14tpl-probe"


class LiveMarkupFinder(HTMLParser):
    """Everything in a page that would run or navigate on its own if it came from user text:
    <script> elements that are not the site's own static files, event-handler attributes,
    javascript:/vbscript:/data: URLs, htmx attributes pointing at the payloads' probe URL,
    embedding elements and meta refreshes. The templates have none of these (no inline script,
    no inline handlers: a Content-Security-Policy forbids them), so any one is a finding."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._script: str | None = None  # the src of the open <script>, "" when inline
        self._script_body: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check(tag, attrs)
        if tag == "script":
            self._script = dict(attrs).get("src") or ""
            self._script_body = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check(tag, attrs)

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script_body.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            src, body = self._script, "".join(self._script_body).strip()
            if not src.startswith(settings.STATIC_URL) or body:
                self.found.append(f"<script src={src!r}>{body[:80]}</script>")
            self._script = None

    def _check(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        shown = f"<{tag} {' '.join(f'{n}={v!r}' for n, v in attrs)}>"[:200]
        if tag in EMBEDDING_TAGS:
            self.found.append(f"embedding element {shown}")
        if tag == "meta" and any(n == "http-equiv" for n, _v in attrs):
            self.found.append(f"meta refresh {shown}")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.found.append(f"event handler {name} in {shown}")
            elif name.startswith(("hx-on", "data-hx-on")):
                self.found.append(f"htmx handler {name} in {shown}")
            elif name.startswith(("hx-", "data-hx-")) and HX_MARK in value:
                self.found.append(f"htmx attribute {name} from user text in {shown}")
            if name in URL_ATTRIBUTES:
                url = IGNORED_IN_URL.sub("", value)
                if name == "content":  # <meta content="0;url=javascript:...">
                    url = url.split("url=", 1)[-1]
                if DANGEROUS_SCHEME.match(url) and not (tag == "meta" and name == "content"):
                    self.found.append(f"{name} with a script scheme in {shown}")
                elif tag == "meta" and name == "content" and DANGEROUS_SCHEME.match(url):
                    self.found.append(f"meta content with a script scheme in {shown}")


def live_markup(html: str) -> list[str]:
    """What in `html` would run: an empty list for a safe page."""
    finder = LiveMarkupFinder()
    finder.feed(html)
    finder.close()
    found = finder.found
    if EVALUATED_TEMPLATE in html:
        found.append("template syntax from user text was evaluated")
    return found


# The people around one document, each in the role the permission matrix names.
ROLES = ("anonymous", "outsider", "reviewer", "member", "author", "manager", "staff")


@dataclass
class World:
    """One team's document with a row of every list, and everyone who may or may not see it."""

    team: Team
    other_team: Team
    users: dict[str, Any]
    incident: Incident
    other_incident: Incident
    service: Service
    action_item: ActionItem
    comment: Comment
    review_request: ReviewRequest
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        return self.incident.reference

    @property
    def postmortem(self) -> Any:
        return self.incident.postmortem

    def client(self, role: str) -> Client:
        """A client of its own per role (one session each)."""
        browser = Client()
        if role != "anonymous":
            browser.force_login(self.users[role])
        return browser


@pytest.fixture
def world(make_user: Any, team: Team, other_team: Team, author: Any, teammate: Any,
          manager: Any, outsider: Any, postmortem: Any) -> World:  # fmt: skip
    from postmortems.services import add_comment

    reviewer = make_user("rita", other_team, last_name="Reviewer")
    staff = make_user("root", is_superuser=True, is_staff=True)
    incident = postmortem.incident
    ReviewRequest.objects.all().delete()
    review_request = ReviewRequest.objects.create(
        postmortem=postmortem, reviewer=reviewer, role=ReviewRequest.Role.ENGINEERING_LEAD
    )
    service = Service.objects.create(team=team, name="Payment API")
    IncidentService.objects.create(incident=incident, service=service)
    other_incident = Incident.objects.create(
        title="Search down",
        severity=Incident.Severity.SEV2,
        status=Incident.Status.RESOLVED,
        team=other_team,
        started_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        created_by=outsider,
    )
    action_item = ActionItem.objects.create(
        postmortem=postmortem, title="Add a pool alert", owner=author, due_date=date(2026, 4, 1)
    )
    comment = add_comment(postmortem, "root_cause", author, "Is this the whole story?")
    return World(
        team=team,
        other_team=other_team,
        users={
            "outsider": outsider,
            "reviewer": reviewer,
            "member": teammate,
            "author": author,
            "manager": manager,
            "staff": staff,
        },
        incident=incident,
        other_incident=other_incident,
        service=service,
        action_item=action_item,
        comment=comment,
        review_request=review_request,
    )


@pytest.fixture
def full_world(world: World, settings: Any, tmp_path: Any) -> World:
    """The world with one of everything a URL can name: a timeline event, a why, a revision,
    a webhook endpoint and a delivery, a tracker, a Slack import, an API token, a share link,
    an attachment."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from api.models import ApiToken
    from incidents.models import TimelineEvent
    from integrations.models import Delivery, Event, SlackImportJob, TrackerConnection
    from integrations.services import add_endpoint
    from postmortems.attachments import add_attachment
    from postmortems.models import FiveWhy, ShareLink
    from postmortems.services import save_section

    incident = world.incident
    event = TimelineEvent.objects.create(
        incident=incident,
        occurred_at=datetime(2026, 3, 2, 14, 5, tzinfo=UTC),
        kind="alert",
        description="Errors rise",
    )
    why = FiveWhy.objects.create(postmortem=world.postmortem, question="Why?", answer="Because.")
    author, manager = world.users["author"], world.users["manager"]
    save_section(incident, "root_cause", {"root_cause": "A leak.", "trigger": "A deploy."},
                 author, 0)  # fmt: skip
    endpoint, _secret = add_endpoint(world.team, "https://hooks.example.com/x", [], "", manager)
    happened = Event.objects.create(team=world.team, kind="incident.created", data={})
    delivery = Delivery.objects.create(event=happened, endpoint=endpoint)
    tracker = TrackerConnection(team=world.team, provider="github", name="Issues",
                                base_url="https://api.github.com", project="acme/payments")  # fmt: skip
    tracker.token = "secret-token"
    tracker.save()
    slack_import = SlackImportJob.objects.create(incident=incident, source=b"", created_by=manager)
    token, _raw = ApiToken.issue(author, "matrix")
    share_link = ShareLink.objects.create(
        postmortem=world.postmortem, nonce="matrix", created_by=author,
        expires_at=timezone.now() + timedelta(days=30),
    )  # fmt: skip
    settings.MEDIA_ROOT = str(tmp_path)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    upload = SimpleUploadedFile("graph.png", png, content_type="image/png")
    attachment = add_attachment(world.postmortem, upload, by=author)
    world.extra.update(
        event=event, why=why, endpoint=endpoint, delivery=delivery, tracker=tracker,
        slack_import=slack_import, token=token, chart="incidents", share_link=share_link,
        attachment=attachment,
    )  # fmt: skip
    return world


__all__ = ["ROLES", "Membership", "World", "figures", "live_markup", "load_payloads"]
