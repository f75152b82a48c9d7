"""Who may resolve a comment thread: its author, the document's authors and team, the team's
managers, staff. A reviewer from another team comments but does not close the discussion."""

import pytest
from django.urls import reverse

from postmortems.models import Comment, ReviewRequest
from tests.conftest import HTMX, browser_of


@pytest.fixture
def reviewer(make_user, other_team, postmortem):
    """A reviewer from another team: may read and comment on the document."""
    person = make_user("rita", other_team)
    postmortem.review_requests.create(reviewer=person, role=ReviewRequest.Role.ENGINEERING_LEAD)
    return person


@pytest.fixture
def thread(postmortem, author):
    return Comment.objects.create(
        postmortem=postmortem, section="root_cause", author=author, body="Why?"
    )


def resolve(browser, thread, resolved="1"):
    url = reverse(
        "postmortems:comment_resolve", args=[thread.postmortem.incident.reference, thread.pk]
    )
    return browser.post(url, {"resolved": resolved}, **HTMX)


@pytest.mark.django_db
def test_a_reviewer_from_another_team_cannot_resolve_an_authors_thread(reviewer, thread):
    browser = browser_of(reviewer)
    comments = reverse(
        "postmortems:comments", args=[thread.postmortem.incident.reference, "root_cause"]
    )
    page = browser.get(comments, **HTMX)
    assert page.status_code == 200 and "Why?" in page.content.decode()
    assert ">Resolve</button>" not in page.content.decode()  # no button that would be refused
    response = resolve(browser, thread)
    assert response.status_code == 403
    thread.refresh_from_db()
    assert thread.resolved_at is None and thread.resolved_by is None


@pytest.mark.django_db
def test_the_reviewer_resolves_their_own_thread(reviewer, postmortem):
    own = Comment.objects.create(
        postmortem=postmortem, section="root_cause", author=reviewer, body="Typo"
    )
    response = resolve(browser_of(reviewer), own)
    assert response.status_code == 200 and "Resolved by" in response.content.decode()
    own.refresh_from_db()
    assert own.resolved_by == reviewer


@pytest.mark.django_db
def test_a_reviewer_cannot_reopen_a_resolved_thread_either(reviewer, thread, author):
    resolve(browser_of(author), thread)
    assert resolve(browser_of(reviewer), thread, "0").status_code == 403
    thread.refresh_from_db()
    assert thread.resolved_by == author


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["author", "teammate", "manager", "staff"])
def test_the_documents_people_resolve_any_thread(who, request, make_user, reviewer, postmortem):
    people = {
        "staff": lambda: make_user("sam", is_staff=True),
    }
    person = people[who]() if who in people else request.getfixturevalue(who)
    theirs = Comment.objects.create(
        postmortem=postmortem, section="root_cause", author=reviewer, body="Hm"
    )
    browser = browser_of(person)
    if who == "staff":  # staff who are not on the team read it as reviewers do
        postmortem.review_requests.create(reviewer=person, role=ReviewRequest.Role.MANAGER)
    assert resolve(browser, theirs).status_code == 200
    theirs.refresh_from_db()
    assert theirs.resolved_by == person


@pytest.mark.django_db
def test_someone_who_cannot_read_the_document_gets_404(outsider, thread):
    assert resolve(browser_of(outsider), thread).status_code == 404
    thread.refresh_from_db()
    assert thread.resolved_at is None


@pytest.mark.django_db
def test_the_api_applies_the_same_rule(reviewer, thread):
    url = reverse("api:comment_resolve", args=[thread.postmortem.incident.reference, thread.pk])
    response = browser_of(reviewer).post(url, {"resolved": True}, content_type="application/json")
    assert response.status_code == 403
    thread.refresh_from_db()
    assert thread.resolved_at is None
