"""The after-publication checklist: two steps read from the document, two ticked by people,
shown on the published postmortem until done."""

from datetime import date

import pytest
from django.urls import reverse

from actionitems.models import ActionItem
from postmortems.checklist import after_publication_checklist
from postmortems.models import FollowUp, Postmortem, PublicationCheck
from tests.conftest import HTMX, browser_of


@pytest.fixture
def published(postmortem):
    postmortem.status = Postmortem.Status.PUBLISHED
    postmortem.save()
    return postmortem


def steps(postmortem):
    return {step.key: step for step in after_publication_checklist(postmortem)}


def tick(client, postmortem, item, done="1"):
    path = reverse("postmortems:after_publication", args=[postmortem.incident.reference])
    return client.post(path, {"item": item, "done": done}, **HTMX)


@pytest.mark.django_db
def test_follow_up_date_and_p0_tickets_are_read_from_the_document(published, author):
    assert {k: s.done for k, s in steps(published).items()} == {
        "review_meeting": False,
        "shared": False,
        "follow_up": False,
        "p0_tickets": True,  # no P0 items: none without a ticket
    }
    leak = ActionItem.objects.create(
        postmortem=published, title="Fix the leak", owner=author, priority="P0"
    )
    ActionItem.objects.create(
        postmortem=published, title="Tidy up", owner=author, priority="P0", status="wont_do"
    )
    ActionItem.objects.create(postmortem=published, title="Docs", owner=author, priority="P2")
    p0 = steps(published)["p0_tickets"]
    assert not p0.done and p0.hint == "No ticket for: Fix the leak"
    leak.tracker_url = "https://jira.example.com/browse/PAY-9"
    leak.save()
    assert steps(published)["p0_tickets"].done

    FollowUp.objects.create(postmortem=published, due_on=date(2026, 4, 2), title="1 month")
    assert steps(published)["follow_up"].done
    FollowUp.objects.all().delete()
    published.next_review_on = date(2026, 4, 2)
    published.save()
    assert steps(published)["follow_up"].done


@pytest.mark.django_db
def test_a_team_member_ticks_the_meeting_and_who_and_when_are_kept(published, author, teammate):
    response = tick(browser_of(teammate), published, "review_meeting")
    assert response.status_code == 200
    assert "Ticked by Mike Alvarez" in response.text
    check = PublicationCheck.objects.get()
    assert (check.item, check.done_by) == ("review_meeting", teammate)
    tick(browser_of(author), published, "review_meeting")  # twice: the first tick stays
    assert PublicationCheck.objects.get().done_by == teammate
    assert steps(published)["review_meeting"].done

    response = tick(browser_of(author), published, "review_meeting", done="0")
    assert "Ticked by" not in response.text
    assert not PublicationCheck.objects.exists()


@pytest.mark.django_db
def test_derived_steps_cannot_be_ticked_and_outsiders_cannot_tick(published, author, outsider):
    assert tick(browser_of(author), published, "p0_tickets").status_code == 422
    assert tick(browser_of(outsider), published, "shared").status_code == 404
    published.review_requests.create(reviewer=outsider, role="engineering_lead")
    assert tick(browser_of(outsider), published, "shared").status_code == 403
    assert not PublicationCheck.objects.exists()


@pytest.mark.django_db
def test_a_draft_has_no_after_publication_checklist(postmortem, author):
    page = browser_of(author).get(postmortem.incident.get_absolute_url())
    assert "After publication" not in page.text
    assert tick(browser_of(author), postmortem, "shared").status_code == 409


@pytest.mark.django_db
def test_the_published_page_shows_the_checklist(published, author, django_assert_max_num_queries):
    client = browser_of(author)
    with django_assert_max_num_queries(60):
        page = client.get(published.incident.get_absolute_url()).text
    assert 'id="after-publication"' in page
    for label in (
        "Review meeting held",
        "Shared with the engineering organization",
        "Follow-up date set",
        "Every P0 action item has a ticket",
    ):
        assert label in page
    assert page.count("Mark done") == 2  # the two steps people tick
