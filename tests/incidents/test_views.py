from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from actionitems.models import ActionItem
from incidents.models import Incident, IncidentService, Service, TimelineEvent
from postmortems.models import ContributingFactor, FiveWhy, Postmortem

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def titles(response):
    return [incident.title for incident in response.context["page"].object_list]


@pytest.fixture
def incidents(team, other_team, author, service):
    make = Incident.objects.create
    sev1 = make(title="Checkout down", severity="SEV1", status="resolved", team=team,
                started_at=START, resolved_at=START + timedelta(minutes=30))  # fmt: skip
    IncidentService.objects.create(incident=sev1, service=service, impact="down")
    sev2 = make(title="Slow search", severity="SEV2", status="monitoring", team=team,
                started_at=START + timedelta(days=1))  # fmt: skip
    sev3 = make(title="Stale cache", severity="SEV3", status="investigating", team=team,
                started_at=START + timedelta(days=2))  # fmt: skip
    other_team.memberships.create(user=author)
    foreign = make(title="Index rebuild", severity="SEV3", status="resolved", team=other_team,
                   started_at=START + timedelta(days=3), resolved_at=START + timedelta(days=3, hours=1))  # fmt: skip
    return sev1, sev2, sev3, foreign


@pytest.mark.django_db
def test_incident_list_is_newest_first(author_client, incidents):
    response = author_client.get(reverse("incidents:list"))
    assert titles(response) == ["Index rebuild", "Stale cache", "Slow search", "Checkout down"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"severity": "SEV1"}, ["Checkout down"]),
        ({"status": "monitoring"}, ["Slow search"]),
        ({"q": "cache"}, ["Stale cache"]),
        ({"q": "payment api"}, ["Checkout down"]),  # by affected service
        ({"q": "inc-2026-0002"}, ["Slow search"]),  # by reference, any case
        ({"severity": "SEV3", "status": "resolved"}, ["Index rebuild"]),
    ],
)
def test_incident_list_filters(author_client, incidents, query, expected):
    assert titles(author_client.get(reverse("incidents:list"), query)) == expected


@pytest.mark.django_db
def test_incident_list_filters_by_team(author_client, incidents, other_team):
    response = author_client.get(reverse("incidents:list"), {"team": other_team.pk})
    assert titles(response) == ["Index rebuild"]


@pytest.mark.django_db
def test_bad_filter_values_show_an_error_not_a_500(author_client, incidents):
    response = author_client.get(reverse("incidents:list"), {"severity": "SEV9", "team": "x"})
    assert response.status_code == 200
    assert "Some filters were not understood" in response.content.decode()
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.django_db
def test_incident_list_paginates(author_client, team, settings):
    settings.PAGE_SIZE = 2
    for n in range(5):
        Incident.objects.create(
            title=f"Incident {n}", team=team, started_at=START + timedelta(hours=n)
        )
    first = author_client.get(reverse("incidents:list"))
    assert titles(first) == ["Incident 4", "Incident 3"]
    assert "Page 1 of 3" in first.content.decode()
    last = author_client.get(reverse("incidents:list"), {"page": 3})
    assert titles(last) == ["Incident 0"]
    beyond = author_client.get(reverse("incidents:list"), {"page": "999"})
    assert titles(beyond) == ["Incident 0"]
    garbage = author_client.get(reverse("incidents:list"), {"page": "abc"})
    assert titles(garbage) == ["Incident 4", "Incident 3"]


@pytest.mark.django_db
def test_incident_list_query_count_does_not_grow_with_rows(
    author_client, team, django_assert_max_num_queries
):
    for n in range(20):
        incident = Incident.objects.create(title=f"I{n}", team=team, started_at=START)
        postmortem = Postmortem.objects.create(incident=incident)
        ActionItem.objects.create(postmortem=postmortem, title="x")
    # Session, user, count, page, tags of the page; the summary and the teams' approval
    # targets; the team, service and tag choices of the filters.
    with django_assert_max_num_queries(10):
        response = author_client.get(reverse("incidents:list"))
    assert len(response.context["page"].object_list) == 20
    assert "<td>1</td>" in response.content.decode()  # open action items column


def fill_document(postmortem, rows=10):
    incident = postmortem.incident
    for n in range(rows):
        TimelineEvent.objects.create(
            incident=incident, occurred_at=START + timedelta(minutes=n), description=f"Event {n}"
        )
        FiveWhy.objects.create(postmortem=postmortem, question=f"Why {n}?", answer="Because")
        ContributingFactor.objects.create(
            postmortem=postmortem, category="technical", description=f"Factor {n}"
        )
        ActionItem.objects.create(
            postmortem=postmortem, title=f"Item {n}", owner=incident.commander
        )
        service = Service.objects.create(team=incident.team, name=f"Service {n}")
        IncidentService.objects.create(incident=incident, service=service)


@pytest.mark.django_db
def test_document_page_shows_every_section_in_bounded_queries(
    author_client, postmortem, django_assert_max_num_queries
):
    fill_document(postmortem)
    # One query per list section's rows (seven lists, the tags, the links made from and to
    # this incident), the similar past incidents, plus the page's fixed cost.
    with django_assert_max_num_queries(23):
        response = author_client.get(postmortem.incident.get_absolute_url())
    body = response.content.decode()
    assert response.status_code == 200
    for placement in postmortem.layout.placements:
        assert f'id="section-{placement.key}"' in body
    for text in ["Event 9", "Why 9?", "Factor 9", "Item 9", "Service 9: degraded", "A leak."]:
        assert text in body
    assert "2026-03-02 14:00 UTC" in body  # times carry their timezone


@pytest.mark.django_db
def test_declaring_an_incident_opens_its_postmortem(author_client, author, team, service):
    response = author_client.post(
        reverse("incidents:create"),
        {
            "title": "Payments timing out",
            "severity": "SEV2",
            "status": "investigating",
            "team": team.pk,
            "commander": author.pk,
            "services": [service.pk],
            "started_at": "2026-03-02T14:00",
            "detected_at": "2026-03-02T14:03",
            "template": "incident_report",
        },
    )
    incident = Incident.objects.get(title="Payments timing out")
    assert response.status_code == 302
    assert response["Location"] == incident.get_absolute_url()
    assert incident.reference == "INC-2026-0001"
    assert incident.created_by == author
    assert incident.time_to_detect == timedelta(minutes=3)
    assert list(incident.services.all()) == [service]
    assert incident.postmortem.template == "incident_report"
    assert list(incident.postmortem.authors.all()) == [author]


@pytest.mark.django_db
def test_bad_incident_input_returns_the_form_with_errors_and_what_was_typed(author_client, team):
    response = author_client.post(
        reverse("incidents:create"),
        {
            "title": "Typed title stays",
            "severity": "SEV1",
            "status": "resolved",
            "team": team.pk,
            "started_at": "2026-03-02T14:00",
            "detected_at": "2026-03-02T13:00",
            "resolved_at": "not a date",
            "template": "full",
        },
    )
    body = response.content.decode()
    assert response.status_code == 422
    assert 'value="Typed title stays"' in body
    assert "Enter a date and time in UTC as YYYY-MM-DD HH:MM (24-hour clock)." in body
    assert 'value="not a date"' in body
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_times_before_the_start_are_refused_with_a_message(author_client, team):
    response = author_client.post(
        reverse("incidents:create"),
        {
            "title": "Backwards",
            "severity": "SEV1",
            "status": "investigating",
            "team": team.pk,
            "started_at": "2026-03-02T14:00",
            "detected_at": "2026-03-02T13:00",
            "template": "full",
        },
    )
    assert response.status_code == 422
    assert "cannot be before the incident started" in response.content.decode()


@pytest.mark.django_db
def test_services_of_another_team_are_refused(author_client, author, team, other_team):
    other_team.memberships.create(user=author)
    foreign = Service.objects.create(team=other_team, name="Indexer")
    response = author_client.post(
        reverse("incidents:create"),
        {
            "title": "Mixed",
            "severity": "SEV3",
            "status": "investigating",
            "team": team.pk,
            "services": [foreign.pk],
            "started_at": "2026-03-02T14:00",
            "template": "full",
        },
    )
    assert response.status_code == 422
    assert "Not services of Payments: Indexer." in response.content.decode()


@pytest.mark.django_db
def test_an_incident_without_postmortem_offers_to_start_one(author_client, incident, author):
    page = author_client.get(incident.get_absolute_url())
    assert "No postmortem yet" in page.content.decode()
    url = reverse("postmortems:start", args=[incident.reference])
    bad = author_client.post(url, {"template": "nonsense"})
    assert bad.status_code == 422
    assert not Postmortem.objects.exists()
    response = author_client.post(url, {"template": "incident_postmortem"})
    assert response.status_code == 302
    postmortem = Postmortem.objects.get(incident=incident)
    assert postmortem.template == "incident_postmortem"
    assert list(postmortem.authors.all()) == [author]


@pytest.mark.django_db
def test_unknown_reference_is_404(author_client):
    assert author_client.get("/incidents/INC-2026-9999/").status_code == 404
    assert author_client.get("/incidents/INC-26-1/").status_code == 404
