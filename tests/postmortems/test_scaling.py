"""What one section costs must not depend on the size of the rest of the document: every
fragment, save, row edit and poll runs at 10 and at 500 rows in every list and must take the
same number of queries (and few of them)."""

from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from actionitems.models import ActionItem
from incidents.models import Incident, IncidentService, Service, TimelineEvent
from postmortems.models import (
    AdditionalSection,
    ContributingFactor,
    FiveWhy,
    FollowUp,
    Postmortem,
    Revision,
)
from tests.conftest import HTMX

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def build_document(team, author, rows, title):
    """An incident whose every list has `rows` rows."""
    incident = Incident.objects.create(
        title=title, team=team, commander=author, started_at=START,
        resolved_at=START + timedelta(hours=9),
    )  # fmt: skip
    postmortem = Postmortem.objects.create(incident=incident, root_cause="A leak.")
    postmortem.authors.add(author)
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            incident=incident, occurred_at=START + timedelta(minutes=n), kind="action",
            description=f"Event {n} with **Markdown**", actor="SRE", position=n,
        )
        for n in range(rows)
    )  # fmt: skip
    FiveWhy.objects.bulk_create(
        FiveWhy(postmortem=postmortem, question=f"Why {n}?", answer="Because", position=n)
        for n in range(rows)
    )
    ContributingFactor.objects.bulk_create(
        ContributingFactor(
            postmortem=postmortem, category="technical", description=f"Factor {n}", position=n
        )
        for n in range(rows)
    )
    ActionItem.objects.bulk_create(
        ActionItem(postmortem=postmortem, title=f"Item {n}", owner=author, position=n)
        for n in range(rows)
    )
    FollowUp.objects.bulk_create(
        FollowUp(postmortem=postmortem, due_on=START.date(), title=f"Check {n}")
        for n in range(rows)
    )
    AdditionalSection.objects.bulk_create(
        AdditionalSection(postmortem=postmortem, title=f"Notes {n}", body="Text", position=n)
        for n in range(rows)
    )
    services = Service.objects.bulk_create(
        Service(team=team, name=f"{title} service {n}") for n in range(rows)
    )
    IncidentService.objects.bulk_create(
        IncidentService(incident=incident, service=service) for service in services
    )
    return postmortem


def url(name, postmortem, *args):
    return reverse(f"postmortems:{name}", args=[postmortem.incident.reference, *args])


def version_of(postmortem, key):
    found = Revision.objects.filter(incident=postmortem.incident, section=key).first()
    return found.version if found else 0


def requests_for(postmortem):
    """(name, method, url, data, headers) of everything a page does besides loading itself."""
    event = postmortem.incident.timeline_events.order_by("pk")[7]
    why = postmortem.five_whys.order_by("pk")[3]
    item = postmortem.action_items.order_by("pk")[2]
    summary = version_of(postmortem, "summary")
    row_target = {"HTTP_HX_TARGET": f"row-timeline-{event.pk}"}
    return [
        ("field section", "get", url("section", postmortem, "root_cause"), {}, {}),
        ("timeline fragment", "get", url("section", postmortem, "timeline"), {}, {}),
        ("action items fragment", "get", url("section", postmortem, "action_items"), {}, {}),
        ("edit form", "get", url("section", postmortem, "impact") + "?edit=1", {}, {}),
        ("row edit form", "get", url("row", postmortem, "timeline", event.pk) + "?edit=1", {}, {}),
        (
            "section save",
            "post",
            url("section", postmortem, "summary"),
            {"version": summary, "executive_summary": f"Saved at v{summary}"},
            {},
        ),
        (
            "row save",
            "post",
            url("row", postmortem, "timeline", event.pk),
            {
                "version": event.version,
                "occurred_at": event.occurred_at.strftime("%Y-%m-%dT%H:%M"),
                "kind": "action",
                "description": f"Edited v{event.version}",
                "actor": "SRE",
            },
            row_target,
        ),
        (
            "action item status",
            "post",
            url("action_item_status", postmortem, item.pk),
            {"status": "in_progress" if item.status == "open" else "open"},
            {"HTTP_HX_TARGET": f"row-action_items-{item.pk}"},
        ),
        (
            "row delete",
            "post",
            url("row_delete", postmortem, "five_whys", why.pk),
            {"version": why.version},
            {"HTTP_HX_TARGET": f"row-five_whys-{why.pk}"},
        ),
        (
            "presence poll",
            "get",
            url("presence", postmortem),
            {"seen": ["summary:0", "timeline:0.0"], "editing": ["root_cause"]},
            {},
        ),
        ("history", "get", url("history", postmortem, "timeline"), {}, {}),
    ]


def count_queries(client, method, address, data, headers):
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(address, data, **HTMX, **headers)
    assert response.status_code == 200, (address, response.status_code, response.content[:300])
    return len(queries.captured_queries)


# The most each may take: session, user, the incident (with its postmortem, versions and the
# reader's rights) and what the fragment itself shows or writes. A write's transaction counts
# too (BEGIN and COMMIT; SAVEPOINT and RELEASE inside the test's transaction).
LIMITS = {
    "field section": 3,
    "timeline fragment": 4,
    "action items fragment": 4,
    "edit form": 3,
    "row edit form": 5,
    "section save": 7,
    "row save": 10,
    # The status change also tells the search index and the integrations (one read).
    "action item status": 12,
    "row delete": 10,
    # The first poll of a page (a write) bringing a changed section (read in full, rendered).
    "presence poll": 7,
    "history": 5,
}


@pytest.mark.django_db
def test_fragments_saves_and_polls_cost_the_same_at_10_and_500_rows(
    client, team, author, django_assert_max_num_queries
):
    client.force_login(author)
    small = build_document(team, author, 10, "Small")
    large = build_document(team, author, 500, "Large")
    for name, *_ in requests_for(small):
        assert name in LIMITS, name
    counts = {}
    for postmortem in (small, large):
        for name, method, address, data, headers in requests_for(postmortem):
            with django_assert_max_num_queries(LIMITS[name]):
                counts[name, postmortem.incident.title] = count_queries(
                    client, method, address, data, headers
                )
    differing = {
        name: (counts[name, "Small"], counts[name, "Large"])
        for name in LIMITS
        if counts[name, "Small"] != counts[name, "Large"]
    }
    assert differing == {}


@pytest.mark.django_db
def test_the_page_shows_the_first_rows_and_loads_the_rest_in_chunks(
    author_client, team, author, settings, django_assert_max_num_queries
):
    settings.ROWS_CHUNK = 20
    postmortem = build_document(team, author, 45, "Chunked")
    with django_assert_max_num_queries(15):
        page = author_client.get(postmortem.incident.get_absolute_url()).content.decode()
    assert "Event 19 " in page and "Event 20 " not in page
    assert "Show all 45 rows" in page
    assert 'hx-trigger="intersect once"' in page
    more = url("section_rows", postmortem, "timeline")
    assert f'hx-get="{more}?after=' in page

    # The chunk after the 20th event: the next 20, and what loads the last 5.
    cursor = unquote(page.split(f'hx-get="{more}?after=')[1].split('"')[0])
    chunk = author_client.get(more, {"after": cursor}, **HTMX)
    body = chunk.content.decode()
    assert chunk.status_code == 200
    assert "Event 19 " not in body and "Event 20 " in body and "Event 39 " in body
    assert "Event 40 " not in body and "Show all 45 rows" in body

    everything = author_client.get(url("section", postmortem, "timeline"), {"all": 1}, **HTMX)
    body = everything.content.decode()
    assert "Event 0 " in body and "Event 44 " in body and "more-rows" not in body
    # Without JavaScript, "Show all" is a page with every row.
    plain = author_client.get(url("section", postmortem, "timeline"), {"all": 1})
    assert "<html" in plain.content.decode() and "Event 44 " in plain.content.decode()
    print_view = author_client.get(postmortem.incident.get_absolute_url(), {"all": 1})
    assert "Event 44 " in print_view.content.decode() and "Item 44" in print_view.content.decode()


@pytest.mark.django_db
def test_a_cursor_that_is_not_a_place_in_the_list_is_refused(author_client, postmortem):
    more = url("section_rows", postmortem, "timeline")
    for garbage in ["", "nonsense", "[1]", '["not a date", 0, 1]', "{}"]:
        assert author_client.get(more, {"after": garbage}, **HTMX).status_code == 400, garbage


@pytest.mark.django_db
def test_rows_are_lean_read_only_markup(author_client, team, author):
    postmortem = build_document(team, author, 3, "Lean")
    body = author_client.get(url("section", postmortem, "timeline"), **HTMX).content.decode()
    event = postmortem.incident.timeline_events.first()
    row = body.split(f'<tr id="row-timeline-{event.pk}"')[1].split("</tr>")[0]
    # One Edit link per row (a keyboard stop with the row named); no forms, no CSRF tokens.
    assert "<form" not in row and "csrfmiddlewaretoken" not in row
    assert row.count("<a ") == 1 and '>Edit<span class="visually-hidden">: ' in row
    assert len(row) < 700
    # The form comes on request, with delete and move.
    form = author_client.get(
        url("row", postmortem, "timeline", event.pk) + "?edit=1", **HTMX
    ).content.decode()
    assert "<form" in form and "Delete" in form
    why = postmortem.five_whys.first()
    form = author_client.get(
        url("row", postmortem, "five_whys", why.pk) + "?edit=1", **HTMX
    ).content.decode()
    assert "Move up" in form and "Move down" in form


@pytest.mark.django_db
def test_a_saved_row_comes_back_alone_with_the_section_version(author_client, team, author):
    postmortem = build_document(team, author, 30, "Row swap")
    event = postmortem.incident.timeline_events.order_by("pk")[12]
    response = author_client.post(
        url("row", postmortem, "timeline", event.pk),
        {"version": 1, "occurred_at": "2026-03-02T14:12", "kind": "decision",
         "description": "Decided to roll back", "actor": "IC"},
        HTTP_HX_TARGET=f"row-timeline-{event.pk}",
        **HTMX,
    )  # fmt: skip
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count("<tr") == 1 and "Decided to roll back" in body
    assert 'id="seen-timeline"' in body and 'hx-swap-oob="true"' in body
    assert 'value="timeline:1.0"' in body

    # Moved in time: the list comes back (in order, down to the row), in place of the section.
    moved = author_client.post(
        url("row", postmortem, "timeline", event.pk),
        {"version": 2, "occurred_at": "2026-03-02T14:25", "kind": "decision",
         "description": "Decided to roll back", "actor": "IC"},
        HTTP_HX_TARGET=f"row-timeline-{event.pk}",
        **HTMX,
    )  # fmt: skip
    body = moved.content.decode()
    assert moved["HX-Retarget"] == "#body-timeline"
    assert body.index("Event 24 ") < body.index("Decided to roll back") < body.index("Event 25 ")

    # Deleted: nothing comes back but the version.
    event.refresh_from_db()
    gone = author_client.post(
        url("row_delete", postmortem, "timeline", event.pk),
        {"version": event.version},
        HTTP_HX_TARGET=f"row-timeline-{event.pk}",
        **HTMX,
    )
    assert gone.status_code == 200
    assert "<tr" not in gone.content.decode()
    assert 'value="timeline:3.0"' in gone.content.decode()
