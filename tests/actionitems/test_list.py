from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from actionitems.models import ActionItem
from incidents.models import Incident
from postmortems.models import Postmortem


def titles(response):
    return [item.title for item in response.context["page"].object_list]


@pytest.fixture
def items(postmortem, author, teammate, other_team):
    today = timezone.localdate()
    make = ActionItem.objects.create
    overdue_mine = make(postmortem=postmortem, title="Overdue mine", owner=author,
                        due_date=today - timedelta(days=3))  # fmt: skip
    soon_theirs = make(postmortem=postmortem, title="Soon theirs", owner=teammate,
                       due_date=today + timedelta(days=1), status="in_progress")  # fmt: skip
    done_mine = make(postmortem=postmortem, title="Done mine", owner=author,
                     due_date=today - timedelta(days=9), status="done")  # fmt: skip
    undated = make(postmortem=postmortem, title="Undated", status="blocked")
    other_team.memberships.create(user=author)
    foreign_incident = Incident.objects.create(
        title="Elsewhere", team=other_team, started_at=postmortem.incident.started_at
    )
    foreign = Postmortem.objects.create(incident=foreign_incident)
    make(postmortem=foreign, title="Other team's", owner=author, due_date=today)
    return overdue_mine, soon_theirs, done_mine, undated


@pytest.mark.django_db
def test_items_are_listed_by_due_date_with_undated_last(author_client, items):
    response = author_client.get(reverse("actionitems:list"))
    assert titles(response) == [
        "Done mine",
        "Overdue mine",
        "Other team's",
        "Soon theirs",
        "Undated",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"mine": "on"}, ["Done mine", "Overdue mine", "Other team's"]),
        ({"overdue": "on"}, ["Overdue mine"]),
        ({"status": "not_done"}, ["Overdue mine", "Other team's", "Soon theirs", "Undated"]),
        ({"status": "blocked"}, ["Undated"]),
        ({"mine": "on", "status": "not_done"}, ["Overdue mine", "Other team's"]),
    ],
)
def test_item_filters(author_client, items, query, expected):
    assert titles(author_client.get(reverse("actionitems:list"), query)) == expected


@pytest.mark.django_db
def test_item_filter_by_team(author_client, items, team):
    response = author_client.get(reverse("actionitems:list"), {"team": team.pk})
    assert "Other team's" not in titles(response)
    assert len(titles(response)) == 4


@pytest.mark.django_db
def test_overdue_items_are_marked(author_client, items):
    body = author_client.get(reverse("actionitems:list"), {"overdue": "on"}).content.decode()
    assert '<tr class="overdue">' in body


@pytest.mark.django_db
def test_bad_status_is_an_error_not_a_500(author_client, items):
    response = author_client.get(reverse("actionitems:list"), {"status": "exploded"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.django_db
def test_item_list_query_count_is_bounded(
    author_client, postmortem, author, django_assert_max_num_queries
):
    ActionItem.objects.bulk_create(
        ActionItem(postmortem=postmortem, title=f"Item {n}", owner=author) for n in range(30)
    )
    with django_assert_max_num_queries(7):
        response = author_client.get(reverse("actionitems:list"))
    assert len(titles(response)) == 25  # one page


@pytest.mark.django_db
def test_completed_at_follows_the_status(action_item):
    assert action_item.completed_at is None
    action_item.status = ActionItem.Status.DONE
    action_item.save(update_fields=["status"])
    action_item.refresh_from_db()
    assert action_item.completed_at is not None
    action_item.status = ActionItem.Status.OPEN
    action_item.save()
    action_item.refresh_from_db()
    assert action_item.completed_at is None


@pytest.mark.django_db
def test_the_database_refuses_a_done_item_without_completion_time(action_item):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        ActionItem.objects.filter(pk=action_item.pk).update(status="done")
