"""Search: a phrase finds the document and the section it is in, and only in the user's teams.

Data is written through the same paths users take (the document's views and services) inside
django_capture_on_commit_callbacks(execute=True), so the index is built by the receivers as in
production, when the transaction commits.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from actionitems.models import ActionItem
from incidents.models import Incident, IncidentTag, TimelineEvent
from insights.models import SearchEntry
from insights.tasks import reindex_recent_changes
from postmortems.models import (
    AdditionalSection,
    Comment,
    ContributingFactor,
    FiveWhy,
    FollowUp,
    Postmortem,
    ReviewRequest,
)
from postmortems.services import add_comment
from tests.conftest import HTMX, browser_of, skip_or_fail

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def search(client, q, **params):
    return client.get(reverse("insights:search"), {"q": q, **params})


def found(response):
    results = response.context["results"]
    return [r.incident.title for r in results.results] if results else []


def hits(response):
    return {
        r.incident.title: [(h.section, h.kind) for h in r.hits]
        for r in response.context["results"].results
    }


def save_section(client, incident, key, values, version=0):
    url = reverse("postmortems:section", args=[incident.reference, key])
    response = client.post(url, {"version": version, **values}, **HTMX)
    assert response.status_code == 200, response.content.decode()


@pytest.fixture
def leak(indexed, author_client, incident, postmortem):
    """The author's postmortem, its root cause written in the editor."""
    with indexed():
        save_section(
            author_client,
            incident,
            "root_cause",
            {
                "root_cause": "The **retry loop** kept connections open until the pool was "
                "exhausted.",
                "trigger": "A deploy of the payments worker.",
            },
        )
    return postmortem


@pytest.mark.django_db
def test_a_phrase_from_the_root_cause_finds_the_postmortem_and_opens_the_section(
    author_client, leak, incident
):
    response = search(author_client, '"retry loop"')
    assert response.status_code == 200
    assert found(response) == ["Checkout failing"]
    body = response.content.decode()
    link = f'href="{incident.get_absolute_url()}#section-root_cause">Root cause</a>'
    assert link in body
    assert "<mark>retry</mark> <mark>loop</mark>" in body or "<mark>retry loop</mark>" in body
    assert "**" not in body[body.index('class="snippet"') :]  # Markdown marks are not shown
    document = author_client.get(incident.get_absolute_url()).content.decode()
    assert 'id="section-root_cause"' in document


@pytest.mark.django_db
def test_another_teams_postmortems_never_appear(indexed, author_client, outsider, leak, other_team):
    with indexed():
        theirs = Incident.objects.create(
            title="Search cluster retry loop", team=other_team, started_at=START
        )
        Postmortem.objects.create(incident=theirs, root_cause="Our own retry loop, elsewhere.")
    mine = search(author_client, "retry loop")
    assert found(mine) == ["Checkout failing"]
    assert "Search cluster" not in mine.content.decode()
    assert "elsewhere" not in mine.content.decode()
    theirs_only = search(browser_of(outsider), "retry loop")
    assert found(theirs_only) == ["Search cluster retry loop"]
    assert "Checkout failing" not in theirs_only.content.decode()
    # Not even by filtering on the other team's id: the filter is refused, not obeyed.
    forged = search(author_client, "retry loop", team=other_team.pk)
    assert "Search cluster" not in forged.content.decode()
    assert "Some filters were not understood" in forged.content.decode()


@pytest.mark.django_db
def test_a_reviewer_from_another_team_finds_the_postmortem_they_review(
    indexed, outsider, leak, author
):
    ReviewRequest.objects.create(
        postmortem=leak, reviewer=outsider, role="engineering_lead", requested_by=author
    )
    assert found(search(browser_of(outsider), "retry loop")) == ["Checkout failing"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("write", "word", "section", "kind"),
    [
        (
            lambda i, p: setattr(i, "title", "Checkout failing on zanzibar") or i.save(),
            "zanzibar",
            "incident_details",
            "content",
        ),
        (
            lambda i, p: IncidentTag.objects.create(incident=i, name="quokka"),
            "quokka",
            "incident_details",
            "content",
        ),
        (
            lambda i, p: TimelineEvent.objects.create(
                incident=i, occurred_at=START, description="Paged the *walrus* team"
            ),
            "walrus",
            "timeline",
            "content",
        ),
        (
            lambda i, p: FiveWhy.objects.create(
                postmortem=p, question="Why?", answer="Because of the narwhal"
            ),
            "narwhal",
            "five_whys",
            "content",
        ),
        (
            lambda i, p: ContributingFactor.objects.create(
                postmortem=p, category="process", description="No axolotl review"
            ),
            "axolotl",
            "contributing_factors",
            "content",
        ),
        (
            lambda i, p: ActionItem.objects.create(postmortem=p, title="Add a pangolin alert"),
            "pangolin",
            "action_items",
            "content",
        ),
        (
            lambda i, p: FollowUp.objects.create(
                postmortem=p, due_on=date(2026, 4, 1), title="Check", notes="the capybara dashboard"
            ),
            "capybara",
            "follow_ups",
            "content",
        ),
        (
            lambda i, p: AdditionalSection.objects.create(
                postmortem=p, title="Okapi graphs", body="Graphs."
            ),
            "okapi",
            "additional_sections",
            "content",
        ),
        (
            lambda i, p: setattr(p, "lessons_learned", "Beware the wombat") or p.save(),
            "wombat",
            "lessons_learned",
            "content",
        ),
        (
            lambda i, p: Comment.objects.create(
                postmortem=p, section="root_cause", body="What about the ocelot?"
            ),
            "ocelot",
            "root_cause",
            "comments",
        ),
    ],
)
def test_every_part_of_the_document_is_searchable_and_names_its_section(
    indexed, author_client, incident, postmortem, write, word, section, kind
):
    with indexed():
        write(incident, postmortem)
    response = search(author_client, word)
    assert hits(response) == {incident.title: [(section, kind)]}


@pytest.mark.django_db
def test_the_index_follows_edits_and_deletions(indexed, author_client, incident, leak):
    with indexed():
        save_section(author_client, incident, "root_cause", {"root_cause": "A cache stampede."}, 1)
    assert found(search(author_client, "retry loop")) == []
    assert found(search(author_client, "stampede")) == ["Checkout failing"]

    with indexed():
        event = TimelineEvent.objects.create(
            incident=incident, occurred_at=START, description="Flamingo"
        )
    assert found(search(author_client, "flamingo")) == ["Checkout failing"]
    with indexed():
        event.delete()
    assert found(search(author_client, "flamingo")) == []

    with indexed():
        incident.delete()
    assert not SearchEntry.objects.exists()


@pytest.mark.django_db
def test_a_pasted_timeline_is_indexed_though_it_is_one_bulk_insert(
    indexed, author_client, incident, postmortem
):
    url = reverse("postmortems:timeline_paste", args=[incident.reference])
    with indexed():
        response = author_client.post(
            url,
            {"text": "14:02 Jane acknowledged the heron alert\n14:05 Rolled back", "confirm": "1"},
            **HTMX,
        )
    assert response.status_code == 200
    assert hits(search(author_client, "heron")) == {"Checkout failing": [("timeline", "content")]}


@pytest.mark.django_db
def test_a_rolled_back_change_is_not_indexed(indexed, author_client, incident, leak):
    from django.db import transaction

    with indexed():
        try:
            with transaction.atomic():
                FiveWhy.objects.create(postmortem=leak, question="Why the kiwi?")
                raise RuntimeError("abandon")
        except RuntimeError:
            pass
    assert found(search(author_client, "kiwi")) == []


@pytest.mark.django_db
def test_filters_narrow_the_results(indexed, author_client, team, author, leak):
    with indexed():
        other = Incident.objects.create(
            title="Retry loop in billing",
            team=team,
            severity="SEV3",
            started_at=START + timedelta(days=40),
        )
        IncidentTag.objects.create(incident=other, name="billing")
    assert set(found(search(author_client, "retry loop"))) == {
        "Checkout failing",
        "Retry loop in billing",
    }
    assert found(search(author_client, "retry loop", severity="SEV3")) == ["Retry loop in billing"]
    assert found(search(author_client, "retry loop", tag="billing")) == ["Retry loop in billing"]
    assert found(search(author_client, "retry loop", started_to="2026-03-31")) == [
        "Checkout failing"
    ]
    assert found(search(author_client, "retry loop", postmortem="none")) == [
        "Retry loop in billing"
    ]


@pytest.mark.django_db
def test_results_are_grouped_by_document_and_paginated(
    indexed, author_client, team, django_assert_max_num_queries
):
    with indexed():
        for n in range(13):
            incident = Incident.objects.create(
                title=f"Heron outage {n}", team=team, started_at=START + timedelta(hours=n)
            )
            Postmortem.objects.create(
                incident=incident,
                executive_summary="The heron service was down.",
                root_cause="Heron queue full.",
                lessons_learned="Watch the heron queue.",
            )
    with django_assert_max_num_queries(12):
        first = search(author_client, "heron")
    assert len(found(first)) == 10
    assert len(set(found(first))) == 10  # each document once, however many sections match
    assert all(len(r.hits) == 3 for r in first.context["results"].results)
    assert "13 documents match" in first.content.decode()
    second = search(author_client, "heron", page=2)
    assert len(found(second)) == 3
    assert not set(found(first)) & set(found(second))


@pytest.mark.django_db
def test_text_in_a_snippet_is_escaped_and_only_the_match_is_marked(
    indexed, author_client, incident, postmortem
):
    with indexed():
        postmortem.root_cause = 'The <script>alert("x")</script> sandpiper <b>bold</b>'
        postmortem.save()
    body = search(author_client, "sandpiper").content.decode()
    snippet = body[body.index('class="snippet"') :]
    snippet = snippet[: snippet.index("</li>")]
    assert "<script>" not in snippet
    assert "<b>" not in snippet
    assert "<mark>sandpiper</mark>" in snippet


@pytest.mark.postgres
@pytest.mark.django_db
def test_websearch_syntax_phrases_alternatives_and_exclusions(indexed, author_client, team):
    if connection.vendor != "postgresql":
        skip_or_fail("websearch syntax is PostgreSQL full-text search")
    with indexed():
        for title, cause in [
            ("Redis pool", "The connection pool to redis was exhausted."),
            ("Postgres pool", "The database connection pool was exhausted."),
            ("Pool party", "Exhausted after the pool party; no connection to anything."),
        ]:
            incident = Incident.objects.create(title=title, team=team, started_at=START)
            Postmortem.objects.create(incident=incident, root_cause=cause)
    assert set(found(search(author_client, "connection pool exhausted"))) == {
        "Redis pool",
        "Postgres pool",
        "Pool party",
    }
    assert set(found(search(author_client, '"connection pool"'))) == {"Redis pool", "Postgres pool"}
    assert set(found(search(author_client, '"connection pool" -redis'))) == {"Postgres pool"}
    assert set(found(search(author_client, "redis or party"))) == {"Redis pool", "Pool party"}
    # Stemming: "exhausting" finds "exhausted".
    assert len(found(search(author_client, "exhausting"))) == 3
    # Only stop words: nothing to look for, and no error.
    assert found(search(author_client, "the of and")) == []


@pytest.mark.django_db
def test_the_title_ranks_above_a_passing_mention(indexed, author_client, team):
    with indexed():
        title = Incident.objects.create(title="Ledger drift", team=team, started_at=START)
        Postmortem.objects.create(incident=title)
        mention = Incident.objects.create(title="Slow pages", team=team, started_at=START)
        Postmortem.objects.create(incident=mention, communication_log="Someone said ledger once.")
    assert found(search(author_client, "ledger")) == ["Ledger drift", "Slow pages"]


@pytest.mark.django_db
def test_a_reference_opens_the_document(author_client, incident):
    response = search(author_client, incident.reference.lower())
    assert response.status_code == 302
    assert response["Location"] == incident.get_absolute_url()


@pytest.mark.django_db
def test_htmx_gets_the_results_fragment_and_no_query_shows_the_help(author_client, leak):
    fragment = author_client.get(reverse("insights:search"), {"q": "retry"}, **HTMX)
    assert fragment.content.decode().startswith('<div id="results"')
    assert "<html" not in fragment.content.decode()
    empty = author_client.get(reverse("insights:search"))
    assert empty.status_code == 200
    assert empty.context["results"] is None
    assert "Search the incidents of your teams" in empty.content.decode()


@pytest.mark.django_db
def test_the_header_has_a_labelled_search_box(author_client):
    body = author_client.get(reverse("incidents:list")).content.decode()
    assert '<form class="site-search" role="search" method="get" action="/search/">' in body
    assert '<label for="site-search" class="visually-hidden">Search postmortems</label>' in body


@pytest.mark.django_db
def test_search_needs_a_login(client):
    response = client.get(reverse("insights:search"), {"q": "x"})
    assert response.status_code == 302


# Rebuilding the index


@pytest.mark.django_db
def test_the_management_command_rebuilds_what_bulk_writes_skipped(
    author_client, incident, postmortem, capsys
):
    Comment.objects.bulk_create([Comment(postmortem=postmortem, section="impact", body="Puffin")])
    assert found(search(author_client, "puffin")) == []
    call_command("search_index")
    assert "Indexed 1 documents" in capsys.readouterr().out
    assert hits(search(author_client, "puffin")) == {"Checkout failing": [("impact", "comments")]}


@pytest.mark.django_db
def test_the_periodic_sweep_indexes_recent_changes_and_documents_never_indexed(
    author_client, incident, postmortem, team
):
    old = Incident.objects.create(title="Ancient albatross", team=team, started_at=START)
    Incident.objects.filter(pk=old.pk).update(updated_at=START)  # not changed lately
    Comment.objects.bulk_create([Comment(postmortem=postmortem, section="impact", body="Puffin")])
    assert reindex_recent_changes.delay().get() == 2
    assert found(search(author_client, "puffin")) == ["Checkout failing"]
    assert found(search(author_client, "albatross")) == ["Ancient albatross"]  # never indexed
    assert reindex_recent_changes.delay().get() == 1  # the old one is indexed now


@pytest.mark.django_db
def test_comments_made_through_the_service_are_indexed(indexed, author_client, author, leak):
    with indexed():
        add_comment(leak, "root_cause", author, "Ask the egret team")
    assert hits(search(author_client, "egret")) == {
        "Checkout failing": [("root_cause", "comments")]
    }


@pytest.mark.django_db
def test_a_page_past_the_end_shows_the_last_page_and_a_bad_one_the_first(
    indexed, author_client, team
):
    with indexed():
        for n in range(12):
            Incident.objects.create(
                title=f"Heron {n}", team=team, started_at=START + timedelta(hours=n)
            )
    last = search(author_client, "heron", page=99)
    assert last.context["results"].page.number == 2
    assert len(found(last)) == 2
    assert search(author_client, "heron", page="x").context["results"].page.number == 1
    next_link = search(author_client, "heron").content.decode()
    assert 'href="?q=heron&amp;page=2" rel="next"' in next_link


@pytest.mark.django_db
def test_the_command_can_reindex_only_what_changed_lately(incident, postmortem, capsys):
    call_command("search_index", "--changed-since", "PT2H")
    assert "Indexed 1 documents" in capsys.readouterr().out
    with pytest.raises(Exception, match="not a duration"):
        call_command("search_index", "--changed-since", "yesterday")
