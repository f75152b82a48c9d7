"""draft -> in review -> approved -> published, and every step the workflow refuses."""

from datetime import UTC, date, datetime

import pytest

from actionitems.models import ActionItem
from incidents.models import Membership, TimelineEvent
from postmortems.models import ContributingFactor, Postmortem, ReviewEvent, ReviewRequest
from postmortems.review import (
    TransitionRefused,
    add_reviewer,
    decide,
    publish,
    remove_reviewer,
    reopen,
    request_review,
    switch_template,
    withdraw,
)

LEAD, MANAGER = ReviewRequest.Role.ENGINEERING_LEAD, ReviewRequest.Role.MANAGER
APPROVE, CHANGES = ReviewRequest.Decision.APPROVED, ReviewRequest.Decision.CHANGES_REQUESTED


@pytest.fixture
def ready(postmortem):
    """A draft that passes the pre-review checklist."""
    TimelineEvent.objects.create(
        incident=postmortem.incident,
        occurred_at=datetime(2026, 3, 2, 14, 1, tzinfo=UTC),
        description="Alert fired",
        kind="alert",
    )
    ContributingFactor.objects.create(
        postmortem=postmortem, category="technical", description="Small pool"
    )
    ActionItem.objects.create(
        postmortem=postmortem,
        title="Alert on pool use",
        owner=postmortem.authors.first(),
        due_date=date(2026, 3, 9),
    )
    postmortem.users_affected = 1000
    postmortem.lessons_learned = "Alert before the pool is full."
    postmortem.save()
    return postmortem


@pytest.fixture
def lead(make_user, team):
    return make_user("tom", team, last_name="Becker")


def refused(step, *args, status=None, contains=""):
    with pytest.raises(TransitionRefused) as error:
        step(*args)
    if status is not None:
        assert error.value.status == status
    assert contains in error.value.message, error.value.message
    return error.value


def status_of(postmortem):
    return Postmortem.objects.get(pk=postmortem.pk).status


def in_review(postmortem, author, lead, manager):
    add_reviewer(postmortem, lead, LEAD, author)
    add_reviewer(postmortem, manager, MANAGER, author)
    request_review(postmortem, author, "Ready for eyes")
    return postmortem.review_requests.get(reviewer=lead), postmortem.review_requests.get(
        reviewer=manager
    )


@pytest.mark.django_db
def test_the_whole_way_to_published_is_recorded(ready, author, lead, manager):
    lead_review, manager_review = in_review(ready, author, lead, manager)
    assert status_of(ready) == "in_review"
    decide(lead_review, lead, APPROVE, "Clear timeline")
    assert status_of(ready) == "in_review"  # the manager has not signed yet
    decide(manager_review, manager, APPROVE)
    assert status_of(ready) == "approved"
    publish(ready, author)
    assert status_of(ready) == "published"
    steps = [
        (e.kind, e.actor.username, e.from_status, e.to_status, e.decision, e.note)
        for e in ReviewEvent.objects.order_by("at", "pk")
    ]
    assert steps == [
        ("reviewer_added", "jane", "", "", "", ""),
        ("reviewer_added", "jane", "", "", "", ""),
        ("status", "jane", "draft", "in_review", "", "Ready for eyes"),
        ("decision", "tom", "", "", "approved", "Clear timeline"),
        ("decision", "sarah", "", "", "approved", ""),
        ("status", "sarah", "in_review", "approved", "", "Every reviewer approved."),
        ("status", "jane", "approved", "published", "", ""),
    ]
    assert all(e.at is not None for e in ReviewEvent.objects.all())


@pytest.mark.django_db
def test_changes_requested_sends_it_back_to_draft_and_a_new_round_starts(
    ready, author, lead, manager
):
    lead_review, manager_review = in_review(ready, author, lead, manager)
    decide(manager_review, manager, APPROVE)
    decide(lead_review, lead, CHANGES, "Add the 14:05 restart to the timeline")
    assert status_of(ready) == "draft"
    assert (
        ReviewEvent.objects.filter(to_status="draft").get().note
        == "Add the 14:05 restart to the timeline"
    )
    request_review(ready, author)
    # Everyone reviews the changed text again.
    assert set(ready.review_requests.values_list("decision", flat=True)) == {"pending"}


@pytest.mark.django_db
def test_request_review_is_refused_until_the_checklist_passes(postmortem, author, manager, lead):
    add_reviewer(postmortem, manager, MANAGER, author)
    error = refused(request_review, postmortem, author, status=422, contains="Finish the checklist")
    assert "Timeline has events" in error.message
    assert "Lessons learned are written" in error.message
    assert status_of(postmortem) == "draft"


@pytest.mark.django_db
def test_request_review_needs_a_manager_and_someone_who_did_not_write_it(
    ready, author, lead, manager
):
    refused(request_review, ready, author, status=422, contains="Ask a manager of Payments")
    add_reviewer(ready, lead, LEAD, author)
    refused(request_review, ready, author, status=422, contains="Ask a manager of Payments")
    ready.authors.add(manager)
    add_reviewer(ready, manager, MANAGER, author)
    remove_reviewer(ready.review_requests.get(reviewer=lead), author)
    refused(
        request_review, ready, author, status=422, contains="an author cannot be the only reviewer"
    )


@pytest.mark.django_db
def test_only_drafts_go_to_review_and_only_approved_ones_get_published(
    ready, author, lead, manager
):
    refused(publish, ready, author, contains="Only an approved postmortem can be published")
    lead_review, manager_review = in_review(ready, author, lead, manager)
    refused(request_review, ready, author, contains="Only a draft can be sent for review")
    refused(publish, ready, author, contains="this one is in review")
    decide(lead_review, lead, APPROVE)
    decide(manager_review, manager, APPROVE)
    refused(request_review, ready, author, contains="this one is approved")
    publish(ready, author)
    refused(publish, ready, author, contains="this one is published")


@pytest.mark.django_db
def test_a_non_manager_cannot_sign_as_manager(ready, author, lead, manager):
    refused(
        add_reviewer,
        ready,
        lead,
        MANAGER,
        author,
        status=422,
        contains="Tom Becker is not a manager of Payments",
    )
    _lead_review, manager_review = in_review(ready, author, lead, manager)
    # Sarah stops being a manager after she was asked: she can no longer sign as one.
    Membership.objects.filter(user=manager).update(role=Membership.Role.MEMBER)
    refused(
        decide, manager_review, manager, APPROVE, status=403, contains="Only a manager of Payments"
    )
    assert status_of(ready) == "in_review"


@pytest.mark.django_db
def test_only_the_reviewer_decides_their_review(ready, author, lead, manager):
    lead_review, _ = in_review(ready, author, lead, manager)
    refused(
        decide, lead_review, manager, APPROVE, status=403, contains="Only Tom Becker can decide"
    )
    refused(decide, lead_review, author, APPROVE, status=403)


@pytest.mark.django_db
def test_an_author_cannot_approve_as_the_only_reviewer(ready, author, lead, manager):
    ready.authors.add(lead)
    lead_review, manager_review = in_review(ready, author, lead, manager)
    remove_reviewer(manager_review, author)  # now the author is the only reviewer left
    refused(
        decide, lead_review, lead, APPROVE, contains="you cannot approve it as its only reviewer"
    )
    assert status_of(ready) == "in_review"


@pytest.mark.django_db
def test_decisions_need_a_review_in_progress_and_changes_need_a_note(ready, author, lead, manager):
    add_reviewer(ready, lead, LEAD, author)
    add_reviewer(ready, manager, MANAGER, author)
    lead_review = ready.review_requests.get(reviewer=lead)
    refused(
        decide, lead_review, lead, APPROVE, contains="This postmortem is not in review; it is draft"
    )
    request_review(ready, author)
    refused(decide, lead_review, lead, CHANGES, "  ", status=422, contains="Say what should change")
    refused(decide, lead_review, lead, "maybe", status=422)


@pytest.mark.django_db
def test_withdraw_and_reopen(ready, author, lead, manager):
    refused(withdraw, ready, author, contains="Only a postmortem in review can be withdrawn")
    lead_review, manager_review = in_review(ready, author, lead, manager)
    withdraw(ready, author)
    assert status_of(ready) == "draft"
    refused(reopen, ready, author, "typo", contains="Only an approved or published postmortem")
    request_review(ready, author)
    decide(lead_review, lead, APPROVE)
    decide(manager_review, manager, APPROVE)
    publish(ready, author)
    refused(reopen, ready, author, "", status=422, contains="Say why it is reopened")
    reopen(ready, manager, "The leak fix regressed")
    assert status_of(ready) == "draft"


@pytest.mark.django_db
def test_removing_the_last_pending_reviewer_can_complete_the_approval(ready, author, lead, manager):
    lead_review, manager_review = in_review(ready, author, lead, manager)
    decide(manager_review, manager, APPROVE)
    remove_reviewer(lead_review, author)
    assert status_of(ready) == "approved"


@pytest.mark.django_db
def test_reviewers_are_added_once_and_not_after_approval(ready, author, lead, manager):
    add_reviewer(ready, lead, LEAD, author)
    refused(add_reviewer, ready, lead, LEAD, author, status=422, contains="already a reviewer")


@pytest.mark.django_db
def test_only_authors_and_managers_drive_the_review(ready, author, teammate, lead, manager):
    refused(
        add_reviewer,
        ready,
        lead,
        LEAD,
        teammate,
        status=403,
        contains="Only the authors or a manager",
    )
    add_reviewer(ready, manager, MANAGER, manager)  # a manager may
    add_reviewer(ready, lead, LEAD, author)
    refused(request_review, ready, teammate, status=403)
    request_review(ready, manager)
    assert status_of(ready) == "in_review"


@pytest.mark.django_db
def test_switching_template_keeps_every_section(ready, author):
    ready.why_not_caught = "No load test"
    ready.save()
    switch_template(ready, Postmortem.Template.INCIDENT_REPORT, author)
    switched = Postmortem.objects.get(pk=ready.pk)
    assert switched.template == "incident_report"
    assert (switched.why_not_caught, switched.lessons_learned) == (
        "No load test",
        "Alert before the pool is full.",
    )
    assert ReviewEvent.objects.get(kind="template").note == "Full postmortem → Incident report"
    refused(switch_template, ready, "poem", author, status=422)
