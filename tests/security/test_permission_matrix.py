"""Suite 2, the permission matrix, generated from the URLconf: every URL pattern of every app
(walked from django.urls.get_resolver(), its arguments filled from one document's objects) is
requested by every role, with GET and with POST, and the outcome must be the one EXPECTED
says. A pattern that is not in EXPECTED fails the test with its name: a new URL needs a
decision about who may use it.

Outcomes: A allowed (the request reached the view's work: 2xx, a redirect that is not to the
login page, or 400/409/422 for the empty input posted), L redirect to the login page, D 403,
N 404, M 405, U 401 (the API, no credentials), "-" not asserted (named in GAPS).
Each cell runs in a savepoint that is rolled back: one role's POST never changes what the next
role sees. Roles, in the order of each outcome string: anonymous, outsider (member of another
team), reviewer (of another team, asked to review this postmortem), member, author, manager,
staff (superuser)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.security.conftest import ROLES, World, figures

# Patterns the matrix walks: (name, route, callback path). Django's admin is its own matrix
# (staff only), checked by pattern family in test_the_admin_is_for_staff_only.
ADMIN = "admin:"


def walk(patterns: list[Any], route: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from walk(pattern.url_patterns, route + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name or f"<unnamed {route}{pattern.pattern}>"
            yield (f"{namespace}:{name}" if namespace else name), route + str(pattern.pattern)


PATTERNS = sorted(set(walk(get_resolver().url_patterns)))
SITE_PATTERNS = [(name, route) for name, route in PATTERNS if not name.startswith(ADMIN)]
ADMIN_PATTERNS = [(name, route) for name, route in PATTERNS if name.startswith(ADMIN)]

# name: (GET outcomes, POST outcomes), one letter per role in ROLES' order.
# anonymous, outsider, reviewer, member, author, manager, staff
# fmt: off
EXPECTED: dict[str, tuple[str, str]] = {
    # name                                 GET        POST
    # The site's own pages: login first, then the team decides.
    "home":                              ("LAAAAAA", "LAAAAAA"),
    "my_work":                           ("LAAAAAA", "LMMMMMM"),
    "healthz":                           ("AAAAAAA", "MMMMMMM"),
    "readyz":                            ("AAAAAAA", "MMMMMMM"),
    "login":                             ("AAAAAAA", "AAAAAAA"),
    "logout":                            ("LMMMMMM", "LLLLLLL"),
    "password_change":                   ("LAAAAAA", "LAAAAAA"),
    "password_change_done":              ("LAAAAAA", "LMMMMMM"),
    "password_reset":                    ("AAAAAAA", "AAAAAAA"),
    "password_reset_done":               ("AAAAAAA", "MMMMMMM"),
    "password_reset_confirm":            ("AAAAAAA", "AAAAAAA"),
    "password_reset_complete":           ("AAAAAAA", "MMMMMMM"),
    # Incidents: another team's document does not exist (404); a reviewer from another
    # team reads and comments but changes nothing (403).
    "incidents:list":                    ("LAAAAAA", "LMMMMMM"),
    "incidents:create":                  ("LAAAAAA", "LAAAAAA"),
    "incidents:import":                  ("LAAAAAA", "LAAAAAA"),
    "incidents:detail":                  ("LNAAAAA", "LMMMMMM"),
    "postmortems:start":                 ("LMMMMMM", "LNDAAAA"),
    "postmortems:export":                ("LNAAAAA", "LMMMMMM"),
    "postmortems:section":               ("LNAAAAA", "LNDAAAA"),
    "postmortems:section_rows":          ("LNAAAAA", "LMMMMMM"),
    "postmortems:history":               ("LNAAAAA", "LMMMMMM"),
    "postmortems:similar":               ("LNDAAAA", "LMMMMMM"),
    "postmortems:restore":               ("LMMMMMM", "LNDAAAA"),
    "postmortems:comments":              ("LNAAAAA", "LNAAAAA"),
    "postmortems:comment_resolve":       ("LMMMMMM", "LNDAAAA"),
    "postmortems:row_new":               ("LNDAAAA", "LNDAAAA"),
    "postmortems:row":                   ("LNAAAAA", "LNDAAAA"),
    "postmortems:row_delete":            ("LNDAAAA", "LNDAAAA"),
    "postmortems:row_move":              ("LMMMMMM", "LNDAAAA"),
    "postmortems:timeline_paste":        ("LNDAAAA", "LNDAAAA"),
    "postmortems:action_item_status":    ("LMMMMMM", "LNDAAAA"),
    "postmortems:review":                ("LNAAAAA", "LMMMMMM"),
    # Asking for review, adding and removing reviewers, switching the template: the
    # document's authors and the team's managers, not every member.
    "postmortems:review_transition":     ("LMMMMMM", "LNDDAAA"),
    "postmortems:reviewer_add":          ("LMMMMMM", "LNDDAAA"),
    "postmortems:reviewer_remove":       ("LMMMMMM", "LNDDAAA"),
    # Only the reviewer asked decides for their review request.
    "postmortems:review_decide":         ("LMMMMMM", "LNADDDD"),
    "postmortems:template_switch":       ("LMMMMMM", "LNDDAAA"),
    "postmortems:authors_join":          ("LMMMMMM", "LNDAAAA"),
    "postmortems:presence":              ("LNAAAAA", "LNAAAAA"),
    "postmortems:presence_leave":        ("LMMMMMM", "LNAAAAA"),
    # Action items and email settings: a team's settings are its managers'.
    "actionitems:list":                  ("LAAAAAA", "LMMMMMM"),
    "actionitems:detail":                ("LNAAAAA", "LMMMMMM"),
    "actionitems:preferences":           ("LAAAAAA", "LAAAAAA"),
    "actionitems:team_settings":         ("LNNDDAA", "LNNDDAA"),
    # The links in emails carry their own signed token (here a forged one): no login.
    "actionitems:unsubscribe":           ("AAAAAAA", "AAAAAAA"),
    "actionitems:email_action":          ("AAAAAAA", "AAAAAAA"),
    "insights:search":                   ("LAAAAAA", "LMMMMMM"),
    "insights:dashboard":                ("LAAAAAA", "LMMMMMM"),
    "insights:chart_csv":                ("LAAAAAA", "LMMMMMM"),
    # Integrations: members see their team's page; managers change it.
    "integrations:index":                ("LAAAAAA", "LMMMMMM"),
    "integrations:team":                 ("LNNAAAA", "LMMMMMM"),
    "integrations:endpoint_add":         ("LMMMMMM", "LNNDDAA"),
    "integrations:endpoint_rotate":      ("LMMMMMM", "LNNDDAA"),
    "integrations:endpoint_toggle":      ("LMMMMMM", "LNNDDAA"),
    "integrations:endpoint_delete":      ("LMMMMMM", "LNNDDAA"),
    "integrations:delivery_resend":      ("LMMMMMM", "LNNDDAA"),
    "integrations:slack":                ("LMMMMMM", "LNNDDAA"),
    "integrations:tracker_add":          ("LMMMMMM", "LNNDDAA"),
    "integrations:tracker_delete":       ("LMMMMMM", "LNNDDAA"),
    "integrations:ticket_create":        ("LMMMMMM", "LNDAAAA"),
    # A tracker calls in with its signature, not a session (none here: 401).
    "integrations:tracker_webhook":      ("MMMMMMM", "UUUUUUU"),
    "integrations:slack_import":         ("LNDAAAA", "LNDAAAA"),
    # An import job is its starter's (the manager here); a reviewer may not edit at all.
    "integrations:slack_import_start":   ("LMMMMMM", "LNDNNAN"),
    "integrations:slack_import_progress": ("LNDNNAN", "LMMMMMM"),
    # SSO is off unless configured.
    "integrations:oidc_login":           ("NNNNNNN", "NNNNNNN"),
    "integrations:oidc_callback":        ("NNNNNNN", "NNNNNNN"),
    # The REST API: 401 without credentials, then the same rights as the pages.
    "api:incidents":                     ("UAAAAAA", "UAAAAAA"),
    "api:incident":                      ("UNAAAAA", "UMMMMMM"),
    "api:timeline":                      ("UNAAAAA", "UNDAAAA"),
    "api:timeline_bulk":                 ("UMMMMMM", "UNDAAAA"),
    "api:timeline_event":                ("UNAAAAA", "UMMMMMM"),
    "api:sections":                      ("UNAAAAA", "UMMMMMM"),
    "api:section":                       ("UNAAAAA", "UMMMMMM"),
    "api:section_rows":                  ("UMMMMMM", "UNDAAAA"),
    "api:section_row":                   ("UNAAAAA", "UMMMMMM"),
    "api:postmortem":                    ("UNAAAAA", "UMMMMMM"),
    "api:comments":                      ("UNAAAAA", "UNAAAAA"),
    "api:comment_resolve":               ("UMMMMMM", "UNDAAAA"),
    "api:action_items":                  ("UAAAAAA", "UAAAAAA"),
    "api:action_item":                   ("UNAAAAA", "UMMMMMM"),
    "api:action_item_status":            ("UMMMMMM", "UNDAAAA"),
    # The API's description is public (it holds no data).
    "api:schema":                        ("AAAAAAA", "MMMMMMM"),
    "api:docs":                          ("AAAAAAA", "MMMMMMM"),
    "api:redoc":                         ("AAAAAAA", "MMMMMMM"),
    # Tokens are their owner's (the author's here): anyone else's is not found.
    "api:tokens":                        ("LAAAAAA", "LAAAAAA"),
    "api:token_revoke":                  ("LMMMMMM", "LNNNANN"),
    # The first hour (issue 10): the contents and attachments follow the document (readers
    # read, the team writes); a file of another team's document does not exist.
    "favicon":                           ("AAAAAAA", "MMMMMMM"),
    "postmortems:toc":                   ("LNAAAAA", "LMMMMMM"),
    "postmortems:attachment":            ("LNAAAAA", "LMMMMMM"),
    "postmortems:attachment_upload":     ("LMMMMMM", "LNDAAAA"),
    # Archiving is the team's; deleting a draft is its managers' (and staff's).
    "incidents:archive":                 ("LMMMMMM", "LNDAAAA"),
    "incidents:unarchive":               ("LMMMMMM", "LNDAAAA"),
    "postmortems:archive":               ("LMMMMMM", "LNDAAAA"),
    "postmortems:unarchive":             ("LMMMMMM", "LNDAAAA"),
    "postmortems:delete":                ("LNDDDAA", "LNDDDAA"),
    # Sharing outside the team is the team's; readers see the after-publication checklist.
    "postmortems:share_links":           ("LNDAAAA", "LNDAAAA"),
    "postmortems:share_revoke":          ("LMMMMMM", "LNDAAAA"),
    "postmortems:section_internal":      ("LMMMMMM", "LNDAAAA"),
    "postmortems:after_publication":     ("LNAAAAA", "LNDAAAA"),
    # A share link needs no login; a made-up token is no link (tests/postmortems/test_sharing.py
    # covers real, expired and revoked ones).
    "shared_postmortem":                 ("NNNNNNN", "MMMMMMM"),
    "shared_attachment":                 ("NNNNNNN", "MMMMMMM"),
}
# fmt: on

# Cells left out on purpose, each with the reason: (name, method, role) -> why. Empty: the
# last gap (who may resolve a thread: its author, the document's team and authors, staff; a
# reviewer from another team gets 403) is decided and asserted above.
GAPS: dict[tuple[str, str, str], str] = {}


def fill(route_name: str, route: str, world: World) -> dict[str, Any]:
    """URL arguments for one pattern, from the world's objects."""
    objects = world.extra
    short = route_name.split(":")[-1]
    pk_by_name = {
        "comment_resolve": world.comment.pk,
        "row": objects["event"].pk,
        "row_delete": objects["event"].pk,
        "row_move": objects["why"].pk,
        "action_item_status": world.action_item.pk,
        "reviewer_remove": world.review_request.pk,
        "review_decide": world.review_request.pk,
        "detail": world.action_item.pk,
        "endpoint_rotate": objects["endpoint"].pk,
        "endpoint_toggle": objects["endpoint"].pk,
        "endpoint_delete": objects["endpoint"].pk,
        "delivery_resend": objects["delivery"].pk,
        "tracker_delete": objects["tracker"].pk,
        "ticket_create": world.action_item.pk,
        "slack_import_start": objects["slack_import"].pk,
        "slack_import_progress": objects["slack_import"].pk,
        "timeline_event": objects["event"].pk,
        "section_row": objects["why"].pk,
        "action_item": world.action_item.pk,
        "token_revoke": objects["token"].pk,
        "share_revoke": objects["share_link"].pk,
        "attachment": objects["attachment"].pk,
        "shared_attachment": objects["attachment"].pk,
    }
    names = set(re.findall(r"<(?:\w+:)?(\w+)>", route))
    kwargs: dict[str, Any] = {}
    for name in names:
        if name == "reference":
            kwargs[name] = world.reference
        elif name == "key":
            kwargs[name] = {"row": "timeline", "row_delete": "timeline", "row_move": "five_whys",
                            "row_new": "timeline", "section_rows": "timeline",
                            "section_row": "five_whys"}.get(short, "root_cause")  # fmt: skip
        elif name == "pk":
            kwargs[name] = pk_by_name[short]
        elif name == "version":
            kwargs[name] = 1
        elif name == "action":
            kwargs[name] = "request"
        elif name == "slug":
            kwargs[name] = world.team.slug
        elif name == "chart":
            kwargs[name] = objects["chart"]
        elif name == "provider":
            kwargs[name] = objects["tracker"].provider
        elif name == "public_id":
            kwargs[name] = objects["tracker"].public_id
        elif name == "name":
            kwargs[name] = objects["attachment"].name
        elif name in ("token", "uidb64"):
            kwargs[name] = "not-a-token"
        else:
            raise AssertionError(f"{route_name}: no value for the URL argument <{name}>")
    return kwargs


QUERY = {"postmortems:section_rows": {"after": "[]"}}


def post_data(name: str, world: World) -> dict[str, Any]:
    """A valid body for the views that read their form before deciding who may act on it, so
    that the cell tests the rights and not the form's validation."""
    event = world.extra["event"]
    when = {"occurred_at": "2026-03-02T14:06", "kind": "alert", "description": "Errors"}
    return {
        "postmortems:section": {"root_cause": "A leak.", "trigger": "A deploy.", "version": 1},
        "postmortems:row": {**when, "version": event.version},
        "postmortems:row_new": when,
        "postmortems:row_delete": {"version": event.version},
        "postmortems:row_move": {"direction": "up"},
        "postmortems:restore": {"version": 1},
        "postmortems:comments": {"body": "A question."},
        "postmortems:comment_resolve": {"resolved": "1"},
        "postmortems:review_decide": {"decision": "approved", "note": "Fine."},
        "postmortems:reviewer_add": {
            "reviewer": world.users["member"].pk,
            "role": "engineering_lead",
        },
        "postmortems:review_transition": {"note": ""},
        "postmortems:template_switch": {"template": "incident_report"},
        "postmortems:start": {"template": "full"},
        "postmortems:timeline_paste": {"text": "14:10 Rolled back", "zone": "UTC"},
        "postmortems:action_item_status": {"status": "in_progress"},
        "actionitems:team_settings": {},
        "api:section_row": {},
        "api:comment_resolve": {"resolved": True},
    }.get(name, {})


def outcome(response: Any) -> str:
    status = response.status_code
    if status in (301, 302, 303):
        location = response.get("Location", "")
        return "L" if "/login/" in location else "A"
    # 503 is /readyz saying a service is down (in tests: no broker), which is its job.
    return {401: "U", 403: "D", 404: "N", 405: "M", 503: "A"}.get(
        status, "A" if status < 500 else "!"
    )


def request_cell(client: Any, method: str, url: str, query: dict[str, str], data: Any) -> str:
    """One request, its effects rolled back."""
    cache.clear()
    with transaction.atomic():
        if method == "GET":
            response = client.get(url, query)
        elif url.startswith("/api/") and data:  # the API reads JSON
            response = client.post(url, data, content_type="application/json")
        else:
            response = client.post(url, data)
        transaction.set_rollback(True)
    return outcome(response)


def observed_row(world: World, name: str, route: str) -> tuple[str, str]:
    url = reverse(name, kwargs=fill(name, route, world))
    clients = {role: world.client(role) for role in ROLES}
    query, data = QUERY.get(name, {}), post_data(name, world)
    return tuple(  # type: ignore[return-value]
        "".join(request_cell(clients[role], method, url, query, data) for role in ROLES)
        for method in ("GET", "POST")
    )


DISCOVER = os.environ.get("MATRIX_DISCOVER") == "1"
FIGURES = figures("Permission matrix")


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize(("name", "route"), SITE_PATTERNS, ids=[n for n, _r in SITE_PATTERNS])
def test_every_url_answers_each_role_as_the_table_says(full_world, name, route):
    if DISCOVER:
        print(f"\n    {name!r}: {observed_row(full_world, name, route)!r},")
        return
    assert name in EXPECTED, (
        f"URL pattern {name!r} ({route}) is not in the permission matrix: add it to EXPECTED "
        "in tests/security/test_permission_matrix.py with the outcome for each role"
    )
    observed = observed_row(full_world, name, route)
    wrong = []
    for method, want_row, got_row in zip(("GET", "POST"), EXPECTED[name], observed, strict=True):
        for role, want, got in zip(ROLES, want_row, got_row, strict=True):
            if want == "-":
                assert (name, method, role) in GAPS, (
                    f"{name} {method} {role}: '-' needs a GAPS entry"
                )
                FIGURES["cells left to the other change"] += 1
                continue
            FIGURES["cells"] += 1
            if want != got:
                wrong.append(f"{method} {role}: expected {want}, got {got}")
    FIGURES["patterns"] += 1
    assert not wrong, f"{name} ({route}):\n" + "\n".join(wrong)


@pytest.mark.django_db
def test_the_table_names_only_existing_patterns():
    """A URL removed from the URLconf leaves no stale row behind."""
    names = {name for name, _route in SITE_PATTERNS}
    assert set(EXPECTED) - names == set()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["admin:index", *sorted({n for n, _r in ADMIN_PATTERNS
                                  if n.endswith(("_changelist", "_add"))})])  # fmt: skip
def test_the_admin_is_for_staff_only(full_world, name):
    """Every model admin's list and add page: the login page for everyone but staff, and
    never a server error (an empty "add" of a read-only record was a 500)."""
    url = reverse(name)
    for role in ROLES:
        client = full_world.client(role)
        for method in ("GET", "POST"):
            with transaction.atomic():
                response = client.get(url) if method == "GET" else client.post(url, {})
                transaction.set_rollback(True)
            FIGURES["admin cells"] += 1
            if role == "staff":  # 403: an admin that has no "add" (records the app writes)
                assert response.status_code in (200, 302, 403), (name, method, role)
                if response.status_code == 302:
                    assert "/login/" not in response["Location"], (name, method, role)
            else:
                assert response.status_code == 302, (name, method, role, response.status_code)
                # Anonymous: the site's login (login-required middleware); others: the admin's.
                assert "/login/" in response["Location"], (name, method, role)


__all__ = ["EXPECTED", "GAPS", "SITE_PATTERNS"]
