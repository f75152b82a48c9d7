from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from actionitems.models import ActionItem
from incidents.models import Incident
from postmortems.models import Postmortem, ReviewRequest


@pytest.mark.django_db
def test_my_work_lists_my_drafts_my_reviews_and_my_items(
    client, author, manager, team, postmortem, django_assert_max_num_queries
):
    today = timezone.localdate()
    ActionItem.objects.create(
        postmortem=postmortem, title="Later", owner=author, due_date=today + timedelta(days=5)
    )
    ActionItem.objects.create(
        postmortem=postmortem, title="Late", owner=author, due_date=today - timedelta(days=2)
    )
    ActionItem.objects.create(postmortem=postmortem, title="Finished", owner=author, status="done")
    ActionItem.objects.create(postmortem=postmortem, title="Someone else's", owner=manager)
    other = Incident.objects.create(
        title="Queue backlog", team=team, started_at=datetime(2026, 3, 5, tzinfo=UTC)
    )
    reviewing = Postmortem.objects.create(incident=other, status="in_review")
    ReviewRequest.objects.create(
        postmortem=reviewing, reviewer=author, role="engineering_lead", requested_by=manager
    )

    client.force_login(author)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("my_work"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Queue backlog" in body and "as engineering lead" in body
    assert "Checkout failing" in body and "past the 48 hours after resolution" in body
    assert body.index("Late") < body.index("Later")
    assert "Finished" not in body and "Someone else&#x27;s" not in body


@pytest.mark.django_db
def test_home_is_my_work(author_client):
    assert author_client.get("/")["Location"] == reverse("my_work")
