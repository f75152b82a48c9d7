"""Suite 1, XSS corpus: every payload of xss_payloads.txt is saved through every way text gets
into a document (each field section's text fields, each list's row fields, comments and
replies, the incident's title, the timeline paste, the Markdown import, the REST API), then
every page, fragment, form, history, conflict and email that shows it is parsed: none may hold
live markup from it (see conftest.LiveMarkupFinder for what counts as live)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from actionitems.models import ActionItem
from api.models import ApiToken
from incidents.models import Incident
from postmortems.editing import FIELD_SECTIONS, ROW_SECTIONS
from tests.conftest import HTMX
from tests.security.conftest import figures, live_markup, load_payloads
from tests.security.forms import fits, form_data, text_fields, url_fields

PAYLOADS = load_payloads()
NOW = datetime(2026, 4, 10, 9, 0, tzinfo=UTC)

# What the whole corpus covered, printed at the end of the session (the design note's figures).
FIGURES = figures("XSS corpus")


class Pages:
    """Every response the test receives, checked for live markup as it arrives."""

    def __init__(self, payload: str) -> None:
        self.payload = payload
        self.findings: list[str] = []

    def check(self, what: str, response: Any) -> Any:
        kind = response.get("Content-Type", "")
        if "html" in kind and response.content:
            FIGURES["pages"] += 1
            for finding in live_markup(response.content.decode()):
                self.findings.append(f"{what}: {finding}")
        return response

    def email(self, what: str, html: str) -> None:
        FIGURES["emails"] += 1
        for finding in live_markup(html):
            self.findings.append(f"{what}: {finding}")


def save(pages: Pages, client: Any, url: str, data: dict[str, Any], what: str) -> Any:
    response = pages.check(f"POST {what}", client.post(url, data, **HTMX))
    assert response.status_code < 500, (what, response.status_code)
    if response.status_code < 400:
        FIGURES["saves"] += 1
    return response


def section_url(reference: str, key: str) -> str:
    return reverse("postmortems:section", args=[reference, key])


def fill_field_sections(pages: Pages, client: Any, incident: Incident, user: Any) -> int:
    """Each field section saved once, the payload in every text field it has."""
    saved = 0
    for key, section in FIELD_SECTIONS.items():
        fresh = Incident.objects.select_related("postmortem").get(pk=incident.pk)
        owner = section.owner_object(fresh)
        version = (owner.section_versions or {}).get(key, 0)
        form = section.make_form(fresh, user, version=version)
        names = text_fields(form) + url_fields(form, pages.payload)
        names = [n for n in names if fits(form, n, pages.payload)]
        if not names:
            continue
        data = {**form_data(form), **dict.fromkeys(names, pages.payload)}
        response = save(pages, client, section_url(incident.reference, key), data, key)
        assert response.status_code == 200, (key, response.content.decode()[:500])
        saved += len(names)
    return saved


def fill_rows(pages: Pages, client: Any, incident: Incident, user: Any) -> dict[str, int]:
    """One row added to every list, the payload in every text field of the row."""
    added: dict[str, int] = {}
    for key, section in ROW_SECTIONS.items():
        fresh = Incident.objects.select_related("postmortem").get(pk=incident.pk)
        form = section.make_form(fresh, user)
        names = [n for n in text_fields(form) + url_fields(form, pages.payload) if n != "other"]
        names = [n for n in names if fits(form, n, pages.payload)]
        if not names:
            continue
        data = {**form_data(form), **dict.fromkeys(names, pages.payload)}
        if key == "related_incidents":
            data["other"] = incident.extra_reference  # type: ignore[attr-defined]
        url = reverse("postmortems:row_new", args=[incident.reference, key])
        response = save(pages, client, url, data, f"row {key}")
        if response.status_code == 200:
            added[key] = len(names)
        else:  # a tag's name is a word: markup is refused as a name
            assert key == "tags", (key, response.content.decode()[:500])
    return added


def api_writes(pages: Pages, incident: Incident, author: Any) -> int:
    """The same text through the REST API: a section, a row, a comment, an action item."""
    _token, raw = ApiToken.issue(author, "xss")
    from django.test import Client

    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    base = f"/api/v1/incidents/{incident.reference}"
    versions = Incident.objects.get(pk=incident.pk).postmortem.section_versions
    version = versions.get("went_well", 0)
    writes = [
        api.patch(
            f"{base}/sections/went_well/",
            {"version": version, "values": {"went_well": pages.payload}},
            content_type="application/json",
        ),
        api.post(
            f"{base}/sections/five_whys/rows/",
            {"question": pages.payload[:500], "answer": pages.payload},
            content_type="application/json",
        ),
        api.post(
            f"{base}/comments/",
            {"section": "summary", "body": pages.payload},
            content_type="application/json",
        ),
        api.post(
            "/api/v1/action-items/",
            {
                "incident": incident.reference,
                "title": pages.payload[:300],
                "description": pages.payload,
                "owner": author.username,
                "due_date": "2026-04-01",
            },
            content_type="application/json",
        ),
    ]
    done = 0
    for response in writes:
        assert response.status_code < 500
        if response.status_code in (200, 201):
            done += 1
        else:
            FIGURES[f"api refused {response.status_code}"] += 1
            FIGURES[f"api refused: {response.content.decode()[:120]}"] += 1
    return done


IMPORT_DOCUMENT = """# {payload}

| Field | Value |
| --- | --- |
| Severity | SEV2 |
| Started | 2026-03-02 14:00 UTC |

## Executive Summary

{payload}

## Root Cause

{payload}

## Timeline

| Time (UTC) | Event |
| --- | --- |
| 14:05 | {inline} |

## Action Items

| Action | Owner | Due |
| --- | --- | --- |
| {inline} | jane | 2026-04-01 |

## {inline}

{payload}
"""


def import_document(pages: Pages, client: Any, team: Any) -> Incident | None:
    """The Markdown import: preview, then confirm."""
    inline = pages.payload.replace("\n", " ").replace("|", "\\|")
    text = IMPORT_DOCUMENT.format(payload=pages.payload, inline=inline)
    url = reverse("incidents:import")
    data = {"team": team.pk, "text": text, "zone": "UTC", "template": "full"}
    preview = save(pages, client, url, data, "import preview")
    if preview.status_code != 200:
        return None
    before = set(Incident.objects.values_list("pk", flat=True))
    save(pages, client, url, {**data, "confirm": "1"}, "import confirm")
    return Incident.objects.exclude(pk__in=before).first()


# The templates that draw a form, a history or a confirmation, with the sections that give
# each kind of widget (textarea, text input, select, suggestions) and row description. The
# read-only markup of every section and row is in the document page itself.
FORMS = ("incident_details", "summary", "impact", "detection", "supporting_info")
HISTORIES = ("incident_details", "root_cause", "timeline", "five_whys", "action_items")


def reads(pages: Pages, client: Any, incident: Incident) -> None:
    """Every page and fragment of one document that shows its text: the page (which includes
    every section's and row's read-only fragment, the same cached markup the fragment URLs
    answer with), a section alone as a page, the forms, histories, every row's form and
    delete confirmation, the comments, the review panel."""
    ref = incident.reference
    pages.check("document page", client.get(incident.get_absolute_url()))
    pages.check("export (not HTML)", client.get(reverse("postmortems:export", args=[ref])))
    pages.check("section page", client.get(section_url(ref, "root_cause")))
    pages.check("section", client.get(section_url(ref, "timeline"), {"all": "1"}, **HTMX))
    for key in FORMS:
        url = section_url(ref, key)
        pages.check(f"section {key} form", client.get(url, {"edit": "1"}, **HTMX))
    for key in HISTORIES:
        history = reverse("postmortems:history", args=[ref, key])
        pages.check(f"history {key}", client.get(history, **HTMX))
    for key, section in ROW_SECTIONS.items():
        for n, row in enumerate(section.rows(incident)):
            url = reverse("postmortems:row", args=[ref, key, row.pk])
            if n == 0 and key == "timeline":
                pages.check(f"row {key}", client.get(url, **HTMX))
                pages.check(f"row {key} page", client.get(url))
                delete = reverse("postmortems:row_delete", args=[ref, key, row.pk])
                pages.check(f"row {key} delete", client.get(delete, **HTMX))
            pages.check(f"row {key} form", client.get(url, {"edit": "1"}, **HTMX))
    for key in set(incident.postmortem.comments.values_list("section", flat=True)):
        url = reverse("postmortems:comments", args=[ref, key])
        pages.check(f"comments {key}", client.get(url, **HTMX))
    pages.check("review panel", client.get(reverse("postmortems:review", args=[ref]), **HTMX))
    pages.check("similar", client.get(reverse("postmortems:similar", args=[ref]), **HTMX))


def lists(pages: Pages, client: Any, incident: Incident) -> None:
    pages.check("incident list", client.get(reverse("incidents:list")))
    pages.check("action items", client.get(reverse("actionitems:list")))
    for item in ActionItem.objects.filter(postmortem__incident=incident):
        pages.check("action item", client.get(reverse("actionitems:detail", args=[item.pk])))
    pages.check("my work", client.get(reverse("my_work")))
    query = {"q": "probe alert script"}
    pages.check("search", client.get(reverse("insights:search"), query))
    pages.check("insights", client.get(reverse("insights:dashboard")))


def emails(pages: Pages) -> None:
    for message in mail.outbox:
        for body, kind in getattr(message, "alternatives", []):
            if kind == "text/html":
                pages.email(f"email {message.subject[:60]!r}", body)


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("payload", PAYLOADS, ids=[f"p{n:02d}" for n in range(len(PAYLOADS))])
def test_no_payload_is_ever_live(
    payload, client, team, author, teammate, manager, django_capture_on_commit_callbacks
):
    pages = Pages(payload)
    client.force_login(author)
    other = Incident.objects.create(
        title="Earlier outage", severity="SEV3", status="resolved", team=team,
        started_at=datetime(2026, 1, 5, 10, 0, tzinfo=UTC), created_by=author,
    )  # fmt: skip
    team.services.create(name="Payment API")

    # The incident's title, through the "New incident" form.
    with django_capture_on_commit_callbacks(execute=True):
        response = save(pages, client, reverse("incidents:create"), {
            "title": payload[:200], "severity": "SEV1", "status": "resolved", "team": team.pk,
            "commander": author.pk, "started_at": "2026-03-02T14:00",
            "resolved_at": "2026-03-02T15:00", "template": "full",
        }, "new incident")  # fmt: skip
    assert response.status_code in (200, 204, 302), response.content.decode()[:300]
    incident = Incident.objects.exclude(pk=other.pk).get()
    incident.extra_reference = other.reference
    incident.postmortem.authors.add(author)

    with django_capture_on_commit_callbacks(execute=True):
        fields = fill_field_sections(pages, client, incident, author)
        rows = fill_rows(pages, client, incident, author)
        # Comments, a reply that mentions a teammate (an email), and the paste.
        url = reverse("postmortems:comments", args=[incident.reference, "root_cause"])
        save(pages, client, url, {"body": payload}, "comment")
        thread = incident.postmortem.comments.get()
        save(pages, client, url, {"body": f"@mike {payload}", "parent": thread.pk}, "reply")
        paste = reverse("postmortems:timeline_paste", args=[incident.reference])
        line = "14:07 " + payload.replace("\n", " ")
        save(pages, client, paste, {"text": line, "zone": "UTC"}, "paste preview")
        save(pages, client, paste, {"text": line, "zone": "UTC", "confirm": "1"}, "paste")
        api = api_writes(pages, incident, author)
        imported = import_document(pages, client, team)

    # A stale save (409, both texts side by side) and a refused one (422, the form again).
    stale = {**form_data(FIELD_SECTIONS["lessons_learned"].make_form(incident, author)),
             "lessons_learned": payload + " (mine)", "version": "0"}  # fmt: skip
    conflict = save(pages, client, section_url(incident.reference, "lessons_learned"), stale, "409")
    assert conflict.status_code == 409
    bad = {**form_data(FIELD_SECTIONS["impact"].make_form(incident, author)),
           "impact_summary": payload, "users_affected": "many"}  # fmt: skip
    refused = save(pages, client, section_url(incident.reference, "impact"), bad, "422")
    assert refused.status_code == 422

    reads(pages, client, incident)
    if imported is not None:  # its own page; the fragments are the same templates as above
        pages.check("imported page", client.get(imported.get_absolute_url()))
    lists(pages, client, incident)
    # Reminders for the overdue items (the owner's, the digest), sent through the outbox.
    incident.postmortem.status = "published"
    incident.postmortem.save()
    ActionItem.objects.filter(postmortem__incident=incident).update(due_date=date(2026, 4, 1))
    from actionitems.tasks import run_sweeps

    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        run_sweeps()
    emails(pages)

    FIGURES["payloads"] += 1
    FIGURES["field saves"] += fields
    FIGURES["row fields"] += sum(rows.values())
    FIGURES["api writes"] += api
    FIGURES["imports"] += imported is not None
    assert fields >= 15, f"only {fields} text fields took the payload"
    assert api == 4, f"only {api} of 4 API writes went through"
    assert len(rows) >= 7, f"rows added only to {sorted(rows)}"
    assert any("mike@example.com" in m.to for m in mail.outbox), "no mention email"
    assert pages.findings == [], "\n".join(pages.findings[:20])


def test_the_finder_sees_live_markup():
    """The checker itself: each kind of live markup is found, escaped text is not."""
    assert live_markup("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>") == []
    assert live_markup('<script src="/static/js/studio.js" defer></script>') == []
    for html in [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        '<a href=" jav&#x09;ascript:alert(1)">x</a>',
        '<a href="DATA:text/html,x">x</a>',
        '<div hx-get="/hx-probe">x</div>',
        '<div hx-on:click="x()">x</div>',
        "<iframe></iframe>",
        '<meta http-equiv="refresh" content="0;url=javascript:x">',
        "<p>14tpl-probe</p>",
    ]:
        assert live_markup(html), html
