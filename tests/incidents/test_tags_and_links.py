"""Tags and related-incident links, edited in place on the document like every other row."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse

from incidents.models import Incident, IncidentLink, IncidentService, IncidentTag
from postmortems.models import Postmortem
from tests.conftest import HTMX, browser_of, skip_or_fail


def row_new(incident, key):
    return reverse("postmortems:row_new", args=[incident.reference, key])


def row_url(incident, key, pk):
    return reverse("postmortems:row", args=[incident.reference, key, pk])


@pytest.fixture
def earlier(team, incident):
    return Incident.objects.create(
        title="Database connection pool exhausted",
        team=team,
        started_at=incident.started_at - timedelta(days=30),
    )


# Tags


@pytest.mark.django_db
def test_a_tag_is_added_in_place_and_spelled_one_way(author_client, incident):
    response = author_client.post(
        row_new(incident, "tags"), {"version": 0, "name": "  Third   Party "}, **HTMX
    )
    assert response.status_code == 200
    assert list(incident.tags.values_list("name", flat=True)) == ["third-party"]
    assert "#third-party" in response.content.decode()
    assert 'id="body-tags"' in response.content.decode()


@pytest.mark.django_db
def test_the_same_tag_twice_is_refused_with_what_was_typed(author_client, incident):
    IncidentTag.objects.create(incident=incident, name="database")
    response = author_client.post(
        row_new(incident, "tags"), {"version": 0, "name": "Database"}, **HTMX
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "already exists" in body
    assert 'value="database"' in body or 'value="Database"' in body
    assert incident.tags.count() == 1


@pytest.mark.django_db
def test_a_tag_with_odd_characters_is_refused(author_client, incident):
    response = author_client.post(row_new(incident, "tags"), {"version": 0, "name": "<db>"}, **HTMX)
    assert response.status_code == 422
    assert not incident.tags.exists()


@pytest.mark.django_db
def test_the_tag_form_suggests_the_teams_tags_most_used_first_and_no_other_teams(
    author_client, incident, earlier, other_team
):
    IncidentTag.objects.create(incident=earlier, name="capacity")
    IncidentTag.objects.create(incident=earlier, name="database")
    IncidentTag.objects.create(incident=incident, name="database")
    foreign = Incident.objects.create(title="x", team=other_team, started_at=incident.started_at)
    IncidentTag.objects.create(incident=foreign, name="secret-project")
    body = author_client.get(row_new(incident, "tags"), **HTMX).content.decode()
    assert 'list="id_name-suggestions"' in body
    assert body.index('<option value="database">') < body.index('<option value="capacity">')
    assert "secret-project" not in body


@pytest.mark.django_db
def test_a_tag_is_deleted_in_place(author_client, incident):
    tag = IncidentTag.objects.create(incident=incident, name="deploy")
    url = reverse("postmortems:row_delete", args=[incident.reference, "tags", tag.pk])
    response = author_client.post(url, {"version": tag.version}, **HTMX)
    assert response.status_code == 200
    assert not incident.tags.exists()


@pytest.mark.django_db
def test_an_outsider_cannot_tag_another_teams_incident(outsider_client, incident):
    response = outsider_client.post(row_new(incident, "tags"), {"version": 0, "name": "x"}, **HTMX)
    assert response.status_code == 404
    assert not incident.tags.exists()


# Related incidents


@pytest.mark.django_db
def test_linking_an_incident_by_reference_shows_the_link_on_both_documents(
    author_client, postmortem, incident, earlier
):
    response = author_client.post(
        row_new(incident, "related_incidents"),
        {"version": 0, "other": earlier.reference.lower(), "note": "Same pool"},
        **HTMX,
    )
    assert response.status_code == 200
    link = IncidentLink.objects.get()
    assert (link.incident, link.related, link.note) == (incident, earlier, "Same pool")
    here = author_client.get(incident.get_absolute_url()).content.decode()
    there = author_client.get(earlier.get_absolute_url()).content.decode()
    assert f'href="{earlier.get_absolute_url()}">{earlier.reference}</a>' in here
    assert "Same pool" in here
    assert f'href="{incident.get_absolute_url()}">{incident.reference}</a>' in there
    assert "Same pool" in there


@pytest.mark.django_db
def test_a_link_made_on_the_other_side_is_edited_from_this_side(
    author_client, postmortem, incident, earlier
):
    link = IncidentLink.objects.create(incident=earlier, related=incident, note="old")
    form = author_client.get(
        row_url(incident, "related_incidents", link.pk), {"edit": 1}, **HTMX
    ).content.decode()
    assert f'value="{earlier.reference}"' in form  # the other end, not this incident
    response = author_client.post(
        row_url(incident, "related_incidents", link.pk),
        {"version": link.version, "other": earlier.reference, "note": "Same pool, new trigger"},
        **HTMX,
    )
    assert response.status_code == 200
    link.refresh_from_db()
    assert (link.incident, link.related, link.note) == (earlier, incident, "Same pool, new trigger")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("other", "message"),
    [
        ("INC-2026-0001", "An incident is not related to itself."),
        ("INC-2031-0099", "No incident you can see has this reference"),
        ("nothing", "No incident you can see has this reference"),
    ],
)
def test_a_bad_link_returns_the_form_with_the_reason(author_client, incident, other, message):
    response = author_client.post(
        row_new(incident, "related_incidents"),
        {"version": 0, "other": other, "note": "kept"},
        **HTMX,
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert message in body
    assert 'value="kept"' in body
    assert not IncidentLink.objects.exists()


@pytest.mark.django_db
def test_a_pair_is_linked_once_whichever_side_links_it(author_client, incident, earlier):
    IncidentLink.objects.create(incident=earlier, related=incident)
    response = author_client.post(
        row_new(incident, "related_incidents"),
        {"version": 0, "other": earlier.reference, "note": ""},
        **HTMX,
    )
    assert response.status_code == 422
    assert "is already linked to this incident" in response.content.decode()
    assert IncidentLink.objects.count() == 1


@pytest.mark.django_db
def test_another_teams_incident_the_user_cannot_see_cannot_be_linked(
    author_client, incident, other_team
):
    hidden = Incident.objects.create(
        title="Hidden", team=other_team, started_at=incident.started_at
    )
    response = author_client.post(
        row_new(incident, "related_incidents"),
        {"version": 0, "other": hidden.reference, "note": ""},
        **HTMX,
    )
    assert response.status_code == 422
    assert not IncidentLink.objects.exists()


@pytest.mark.django_db
def test_a_link_from_another_team_names_the_incident_but_not_its_title(
    make_user, team, other_team, incident, postmortem, author_client
):
    both = make_user("olga", team)
    other_team.memberships.create(user=both)
    foreign = Incident.objects.create(
        title="Secret index rebuild", team=other_team, started_at=incident.started_at
    )
    IncidentLink.objects.create(incident=foreign, related=incident, note="Caused it")
    body = author_client.get(incident.get_absolute_url()).content.decode()
    assert foreign.reference in body
    assert "another team's incident" in body
    assert "Secret index rebuild" not in body
    assert (
        "Secret index rebuild" in browser_of(both).get(incident.get_absolute_url()).content.decode()
    )


@pytest.mark.django_db
def test_the_export_lists_related_incidents_from_both_sides_with_their_notes(
    author_client, postmortem, incident, earlier, team
):
    later = Incident.objects.create(
        title="Pool again", team=team, started_at=incident.started_at + timedelta(days=3)
    )
    IncidentLink.objects.create(incident=incident, related=earlier, note="Same | pool")
    IncidentLink.objects.create(incident=later, related=incident)
    export = author_client.get(reverse("postmortems:export", args=[incident.reference]))
    text = export.content.decode()
    assert (
        "**Related Incidents**:\n"
        f"- {earlier.reference} (2026-01-31): Database connection pool exhausted (Same | pool)\n"
        f"- {later.reference} (2026-03-05): Pool again"
    ) in text


@pytest.mark.django_db
def test_each_link_change_is_a_revision_of_the_section(author_client, incident, earlier):
    author_client.post(
        row_new(incident, "related_incidents"),
        {"version": 0, "other": earlier.reference, "note": "Same pool"},
        **HTMX,
    )
    history = author_client.get(
        reverse("postmortems:history", args=[incident.reference, "related_incidents"]), **HTMX
    ).content.decode()
    assert f"{incident.reference} ↔ {earlier.reference}: Same pool" in history


# Similar past incidents


@pytest.mark.django_db
def test_similar_past_incidents_are_offered_with_a_link_button(
    author_client, postmortem, incident, earlier, team, service
):
    IncidentService.objects.create(incident=incident, service=service)
    same_service = Incident.objects.create(
        title="Refunds slow", team=team, started_at=incident.started_at - timedelta(days=2)
    )
    IncidentService.objects.create(incident=same_service, service=service)
    tagged = Incident.objects.create(
        title="Nightly job stuck", team=team, started_at=incident.started_at - timedelta(days=3)
    )
    IncidentTag.objects.create(incident=tagged, name="database")
    IncidentTag.objects.create(incident=incident, name="database")
    unrelated = Incident.objects.create(
        title="Office wifi flaky", team=team, started_at=incident.started_at - timedelta(days=4)
    )
    later = Incident.objects.create(
        title="Refunds slow again", team=team, started_at=incident.started_at + timedelta(days=1)
    )
    IncidentService.objects.create(incident=later, service=service)

    page = author_client.get(incident.get_absolute_url()).content.decode()
    similar_url = reverse("postmortems:similar", args=[incident.reference])
    assert f'hx-get="{similar_url}" hx-trigger="revealed"' in page  # loaded when scrolled to
    body = author_client.get(similar_url, **HTMX).content.decode()
    similar = body[body.index("Similar past incidents") :]
    assert same_service.reference in similar
    assert "same service" in similar
    assert tagged.reference in similar
    assert "same tag" in similar
    assert unrelated.reference not in similar
    assert later.reference not in similar  # only past incidents
    link_form = author_client.get(
        row_new(incident, "related_incidents"), {"other": same_service.reference}, **HTMX
    )
    assert f'value="{same_service.reference}"' in link_form.content.decode()


@pytest.mark.django_db
def test_an_already_linked_incident_is_not_offered_again(
    author_client, postmortem, incident, team, service
):
    IncidentService.objects.create(incident=incident, service=service)
    before = Incident.objects.create(
        title="Refunds slow", team=team, started_at=incident.started_at - timedelta(days=2)
    )
    IncidentService.objects.create(incident=before, service=service)
    IncidentLink.objects.create(incident=before, related=incident)
    similar = Incident.objects.similar_to(incident)
    assert similar == []


@pytest.mark.postgres
@pytest.mark.django_db
def test_titles_sharing_words_are_similar_on_postgresql(incident, earlier, team):
    if connection.vendor != "postgresql":
        skip_or_fail("title similarity is PostgreSQL full-text search")
    incident.title = "Connection pool exhausted on the payments database"
    incident.save()
    Incident.objects.create(title="Marketing site typo", team=team, started_at=earlier.started_at)
    similar = Incident.objects.similar_to(incident)
    assert [i.title for i in similar] == ["Database connection pool exhausted"]
    assert similar[0].title_match > 0.2


@pytest.mark.django_db
def test_the_document_page_stays_in_bounded_queries_with_many_links_and_tags(
    author_client, postmortem, incident, team, django_assert_max_num_queries
):
    for n in range(15):
        other = Incident.objects.create(
            title=f"Other {n}", team=team, started_at=incident.started_at - timedelta(days=n + 1)
        )
        if n % 2:
            IncidentLink.objects.create(incident=incident, related=other, note=f"n{n}")
        else:
            IncidentLink.objects.create(incident=other, related=incident, note=f"n{n}")
        IncidentTag.objects.create(incident=incident, name=f"tag-{n}")
    with django_assert_max_num_queries(26):
        response = author_client.get(incident.get_absolute_url())
    body = response.content.decode()
    assert body.count('id="row-related_incidents-') == 15
    assert body.count('id="row-tags-') == 15


@pytest.mark.django_db
def test_removing_the_postmortem_keeps_the_links_of_the_incident(incident, earlier, postmortem):
    IncidentLink.objects.create(incident=incident, related=earlier)
    Postmortem.objects.all().delete()
    assert IncidentLink.objects.count() == 1
