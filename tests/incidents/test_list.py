"""The incident list: sortable columns, the summary strip, and the filters shared with search
and insights."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from actionitems.models import ActionItem
from incidents.models import Incident, IncidentService, IncidentTag, Service, TimelineEvent
from postmortems.models import Postmortem

NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def titles(response):
    return [incident.title for incident in response.context["page"].object_list]


@pytest.fixture
def incidents(team, other_team, author, service):
    """Four incidents of the author's team, one of another team the author also belongs to."""
    make = Incident.objects.create
    other_team.memberships.create(user=author)
    db_down = make(title="Database down", severity="SEV1", status="resolved", team=team,
                   started_at=START, resolved_at=START + timedelta(hours=2))  # fmt: skip
    IncidentService.objects.create(incident=db_down, service=service)
    IncidentTag.objects.create(incident=db_down, name="database")
    Postmortem.objects.create(incident=db_down, status="draft")  # resolved 30 days ago: overdue
    slow = make(title="Slow checkout", severity="SEV2", status="monitoring", team=team,
                started_at=START + timedelta(days=10))  # fmt: skip
    IncidentTag.objects.create(incident=slow, name="deploy")
    quick = make(title="Quick blip", severity="SEV3", status="resolved", team=team,
                 started_at=START + timedelta(days=20), resolved_at=START + timedelta(days=20, minutes=5))  # fmt: skip
    Postmortem.objects.create(incident=quick, status="approved")
    recent = make(title="Recent cache miss", severity="SEV3", status="resolved", team=team,
                  started_at=NOW - timedelta(days=2), resolved_at=NOW - timedelta(days=1))  # fmt: skip
    # Resolved by a timeline event only: the duration comes from it.
    foreign = make(title="Index rebuild", severity="SEV2", status="investigating", team=other_team,
                   started_at=START + timedelta(days=5))  # fmt: skip
    TimelineEvent.objects.create(
        incident=foreign, occurred_at=START + timedelta(days=5, hours=3), kind="resolution",
        description="Back",
    )  # fmt: skip
    return {"db_down": db_down, "slow": slow, "quick": quick, "recent": recent, "foreign": foreign}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (
            "title",
            ["Database down", "Index rebuild", "Quick blip", "Recent cache miss", "Slow checkout"],
        ),
        (
            "-severity",
            ["Recent cache miss", "Quick blip", "Index rebuild", "Slow checkout", "Database down"],
        ),
        (
            "started",
            ["Database down", "Index rebuild", "Slow checkout", "Quick blip", "Recent cache miss"],
        ),
        # Ongoing incidents have no duration: last either way.
        (
            "duration",
            ["Quick blip", "Database down", "Index rebuild", "Recent cache miss", "Slow checkout"],
        ),
        (
            "-duration",
            ["Recent cache miss", "Index rebuild", "Database down", "Quick blip", "Slow checkout"],
        ),
        (
            "status",
            ["Index rebuild", "Slow checkout", "Recent cache miss", "Quick blip", "Database down"],
        ),
        (
            "postmortem",
            ["Index rebuild", "Recent cache miss", "Slow checkout", "Database down", "Quick blip"],
        ),
        (
            "reference",
            ["Database down", "Slow checkout", "Quick blip", "Recent cache miss", "Index rebuild"],
        ),
    ],
)
def test_columns_sort_the_list(author_client, incidents, sort, expected):
    with time_machine.travel(NOW, tick=False):
        response = author_client.get(reverse("incidents:list"), {"sort": sort})
    assert titles(response) == expected


@pytest.mark.django_db
def test_a_sorted_heading_says_so_and_its_link_turns_the_order_around(author_client, incidents):
    body = author_client.get(reverse("incidents:list"), {"sort": "title"}).content.decode()
    assert '<th scope="col" aria-sort="ascending"><a class="sort" href="?sort=-title">Title' in body
    assert 'href="?sort=severity">Severity' in body
    body = author_client.get(reverse("incidents:list")).content.decode()
    assert 'aria-sort="descending"><a class="sort" href="?sort=started">Started' in body


@pytest.mark.django_db
def test_an_unknown_sort_is_a_filter_error_not_a_500(author_client, incidents):
    response = author_client.get(reverse("incidents:list"), {"sort": "password"})
    assert response.status_code == 200
    assert "Some filters were not understood" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"tag": "Database"}, ["Database down"]),
        ({"tag": "#deploy"}, ["Slow checkout"]),
        (
            {"started_from": "2026-03-12", "started_to": "2026-03-22"},
            ["Quick blip", "Slow checkout"],
        ),
        ({"started_to": "2026-03-02"}, ["Database down"]),
        ({"status": "open"}, ["Slow checkout", "Index rebuild"]),
        ({"postmortem": "none"}, ["Recent cache miss", "Slow checkout", "Index rebuild"]),
        ({"postmortem": "approved"}, ["Quick blip"]),
        ({"postmortem": "overdue"}, ["Database down"]),
    ],
)
def test_shared_filters_choose_incidents(author_client, incidents, query, expected):
    with time_machine.travel(NOW, tick=False):
        assert titles(author_client.get(reverse("incidents:list"), query)) == expected


@pytest.mark.django_db
def test_the_service_filter_lists_each_incident_once(author_client, incidents, service):
    second = Service.objects.create(team=service.team, name="Ledger")
    IncidentService.objects.create(incident=incidents["db_down"], service=second)
    response = author_client.get(reverse("incidents:list"), {"service": service.pk})
    assert titles(response) == ["Database down"]


@pytest.mark.django_db
def test_the_summary_strip_counts_what_the_filters_chose(author_client, incidents, author):
    db_down = incidents["db_down"].postmortem
    ActionItem.objects.create(postmortem=db_down, title="late", due_date=date(2026, 3, 20))
    ActionItem.objects.create(postmortem=db_down, title="not yet", due_date=date(2026, 4, 20))
    ActionItem.objects.create(
        postmortem=db_down, title="done late", due_date=date(2026, 3, 1), status="done"
    )
    ActionItem.objects.create(
        postmortem=incidents["quick"].postmortem, title="late too", due_date=date(2026, 3, 31)
    )
    with time_machine.travel(NOW, tick=False):
        everything = author_client.get(reverse("incidents:list"))
        sev1 = author_client.get(reverse("incidents:list"), {"severity": "SEV1"})
    assert everything.context["summary"] == {
        "open_incidents": 2,  # Slow checkout, Index rebuild
        "postmortems_overdue": 1,  # Database down: a draft 30 days after resolution
        "action_items_overdue": 2,
    }
    assert sev1.context["summary"] == {
        "open_incidents": 0,
        "postmortems_overdue": 1,
        "action_items_overdue": 1,
    }
    body = everything.content.decode()
    assert "<strong>2</strong> open incidents" in body
    assert "<strong>1</strong> postmortem overdue" in body


@pytest.mark.django_db
def test_a_teams_own_approval_target_decides_what_is_overdue(author_client, incidents, team):
    team.approval_target_days = 60
    team.save()
    with time_machine.travel(NOW, tick=False):
        response = author_client.get(reverse("incidents:list"))
    assert response.context["summary"]["postmortems_overdue"] == 0


@pytest.mark.django_db
def test_tags_show_in_the_list_and_filter_it(author_client, incidents):
    body = author_client.get(reverse("incidents:list")).content.decode()
    assert 'href="?tag=database" rel="tag" class="tag-link">#database</a>' in body
    assert 'list="id_tag-suggestions"' in body
    assert '<option value="database">' in body


@pytest.mark.django_db
def test_the_next_page_link_keeps_the_filters_and_opens_page_two(author_client, team, settings):
    settings.PAGE_SIZE = 2
    for n in range(3):
        Incident.objects.create(
            title=f"Incident {n}", team=team, started_at=START + timedelta(hours=n)
        )
    first = author_client.get(reverse("incidents:list"), {"severity": "SEV2", "sort": "title"})
    body = first.content.decode()
    link = body[body.index('class="pagination"') :]
    href = link[link.index('href="') + 6 : link.index('" rel="next"')].replace("&amp;", "&")
    assert href == "?severity=SEV2&sort=title&page=2"
    second = author_client.get(reverse("incidents:list") + href)
    assert titles(second) == ["Incident 2"]
