"""The review panel and who may do what: author, teammate, other team, reviewer, manager."""

import pytest
from django.urls import reverse

from incidents.models import Membership
from postmortems.models import Postmortem, ReviewRequest
from postmortems.review import add_reviewer, request_review
from tests.conftest import HTMX, browser_of
from tests.postmortems.test_review_workflow import ready  # noqa: F401 (fixture)


def url(name, postmortem, *args):
    return reverse(f"postmortems:{name}", args=[postmortem.incident.reference, *args])


@pytest.fixture
def outside_reviewer(make_user, other_team):
    """An engineering lead from another team, asked to review."""
    return make_user("olivia", other_team, last_name="Reyes")


@pytest.fixture
def people(author, teammate, outsider, outside_reviewer, manager):
    return {
        "author": author,
        "teammate": teammate,
        "other team": outsider,
        "reviewer": outside_reviewer,
        "manager": manager,
    }


@pytest.fixture
def in_review_with_outsider(ready, author, manager, outside_reviewer):  # noqa: F811
    add_reviewer(ready, outside_reviewer, ReviewRequest.Role.ENGINEERING_LEAD, author)
    add_reviewer(ready, manager, ReviewRequest.Role.MANAGER, author)
    request_review(ready, author)
    return ready


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "read", "edit"),
    [
        ("author", 200, 200),
        ("teammate", 200, 200),
        ("other team", 404, 404),
        ("reviewer", 200, 403),
        ("manager", 200, 200),
    ],
)
def test_who_reads_and_who_edits(people, in_review_with_outsider, who, read, edit):
    browser = browser_of(people[who])
    postmortem = in_review_with_outsider
    assert browser.get(postmortem.incident.get_absolute_url()).status_code == read
    response = browser.post(
        url("section", postmortem, "went_well"), {"version": 0, "went_well": f"by {who}"}, **HTMX
    )
    assert response.status_code == edit
    if edit == 403:
        assert "Only members of Payments can change this document." in response.content.decode()


@pytest.mark.django_db
def test_a_reviewer_from_another_team_reads_comments_and_decides_but_sees_no_edit_buttons(
    people, in_review_with_outsider
):
    postmortem = in_review_with_outsider
    browser = browser_of(people["reviewer"])
    page = browser.get(postmortem.incident.get_absolute_url()).content.decode()
    assert "Your review as engineering lead" in page
    assert "Edit<span" not in page and "+ Add event" not in page
    assert (
        browser.post(
            url("comments", postmortem, "root_cause"), {"body": "Why 100?"}, **HTMX
        ).status_code
        == 200
    )
    review = postmortem.review_requests.get(reviewer=people["reviewer"])
    response = browser.post(
        url("review_decide", postmortem, review.pk), {"decision": "approved"}, **HTMX
    )
    assert response.status_code == 200
    assert "Approved" in response.content.decode()
    # The incident shows in their incident list too, read-only.
    assert postmortem.incident.title in browser.get(reverse("incidents:list")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "status"),
    [("author", 200), ("manager", 200), ("teammate", 403), ("reviewer", 404), ("other team", 404)],
)
def test_who_may_request_a_review(people, ready, manager, who, status):  # noqa: F811
    add_reviewer(ready, manager, ReviewRequest.Role.MANAGER, people["author"])
    add_reviewer(ready, people["teammate"], ReviewRequest.Role.ENGINEERING_LEAD, people["author"])
    response = browser_of(people[who]).post(url("review_transition", ready, "request"), {}, **HTMX)
    assert response.status_code == status
    expected = "in_review" if status == 200 else "draft"
    assert Postmortem.objects.get(pk=ready.pk).status == expected
    if status == 403:
        assert "Only the authors or a manager of Payments can do that." in response.content.decode()


@pytest.mark.django_db
def test_manager_sign_off_by_the_manager_approves_and_the_author_publishes(
    people, in_review_with_outsider
):
    postmortem = in_review_with_outsider
    for who in ("reviewer", "manager"):
        review = postmortem.review_requests.get(reviewer=people[who])
        browser_of(people[who]).post(
            url("review_decide", postmortem, review.pk),
            {"decision": "approved", "note": "ok"},
            **HTMX,
        )
    assert Postmortem.objects.get(pk=postmortem.pk).status == "approved"
    teammate = browser_of(people["teammate"]).post(
        url("review_transition", postmortem, "publish"), **HTMX
    )
    assert teammate.status_code == 403
    response = browser_of(people["author"]).post(
        url("review_transition", postmortem, "publish"), **HTMX
    )
    assert response.status_code == 200
    assert "Published" in response.content.decode()
    assert Postmortem.objects.get(pk=postmortem.pk).status == "published"
    export = browser_of(people["author"]).get(url("export", postmortem)).content.decode()
    assert "- [x] Manager: Sarah Okafor - " in export
    assert "- [x] Engineering lead: Olivia Reyes - " in export
    assert "**Status**: Published (" in export


@pytest.mark.django_db
def test_refusals_come_back_as_the_panel_with_a_message(people, postmortem):
    author = browser_of(people["author"])
    response = author.post(url("review_transition", postmortem, "publish"), **HTMX)
    body = response.content.decode()
    assert response.status_code == 409
    assert 'id="review"' in body
    assert "Only an approved postmortem can be published; this one is draft." in body

    response = author.post(
        url("reviewer_add", postmortem),
        {"reviewer": people["teammate"].pk, "role": "manager"},
        **HTMX,
    )
    assert response.status_code == 422
    assert "Mike Alvarez is not a manager of Payments" in response.content.decode()

    response = author.post(
        url("reviewer_add", postmortem), {"reviewer": "", "role": "nonsense"}, **HTMX
    )
    assert response.status_code == 422
    assert "Check the form." in response.content.decode()
    assert author.post(url("review_transition", postmortem, "explode"), **HTMX).status_code == 404


@pytest.mark.django_db
def test_the_checklist_is_live_and_names_what_is_missing(author_client, postmortem, author):
    from actionitems.models import ActionItem

    ActionItem.objects.create(postmortem=postmortem, title="Add pool alert", owner=author)
    panel = author_client.get(url("review", postmortem), **HTMX).content.decode()
    assert '<li class="todo">' in panel
    assert "Missing on: Add pool alert" in panel
    assert 'hx-trigger="document-changed from:body delay:300ms"' in panel
    saved = author_client.post(
        url("section", postmortem, "lessons_learned"),
        {"version": 0, "lessons_learned": "Alert earlier."},
        **HTMX,
    )
    assert saved["HX-Trigger"] == '{"document-changed": {}}'  # the panel listens for it
    panel = author_client.get(url("review", postmortem), **HTMX).content.decode()
    assert '<li class="ok">' in panel and "Lessons learned are written" in panel


@pytest.mark.django_db
def test_blaming_sentences_are_listed_with_a_suggestion(author_client, postmortem):
    postmortem.went_wrong = (
        "The alert was noisy. Jane forgot to restart the pool. We added a check."
    )
    postmortem.save()
    panel = author_client.get(url("review", postmortem), **HTMX).content.decode()
    assert "Blameless language: 1 sentence to reconsider" in panel
    assert "“Jane forgot to restart the pool.”" in panel
    assert "instead of who missed it" in panel


@pytest.mark.django_db
def test_switching_template_from_the_page_keeps_content_and_shows_what_the_template_hides(
    author_client, postmortem
):
    postmortem.five_whys.create(question="Why did checkout fail?", answer="Pool exhausted")
    response = author_client.post(
        url("template_switch", postmortem), {"template": "incident_postmortem"}
    )
    assert response.status_code == 302
    page = author_client.get(postmortem.incident.get_absolute_url()).content.decode()
    assert "Now in the shape of: Incident postmortem." in page
    assert "Not in this template" in page and "Why did checkout fail?" in page
    export = author_client.get(url("export", postmortem)).content.decode()
    assert export.startswith("# Postmortem: Checkout failing")
    # The export follows the template's shape and keeps the rest at the end.
    closing = export[export.index("## Additional Sections") :]
    assert "### The five whys\n\n**1. Why did checkout fail?**" in closing
    assert Postmortem.objects.get().five_whys.count() == 1


@pytest.mark.django_db
def test_prompts_from_the_template_guide_the_writer(author_client, postmortem):
    form = author_client.get(
        url("section", postmortem, "summary") + "?edit=1", **HTMX
    ).content.decode()
    assert 'placeholder="What happened: a one-paragraph summary of the incident.' in form
    Postmortem.objects.filter(pk=postmortem.pk).update(template="incident_report")
    form = author_client.get(
        url("section", postmortem, "summary") + "?edit=1", **HTMX
    ).content.decode()
    assert (
        'placeholder="Brief one-paragraph description of what happened, impact, and current status."'
        in form
    )


@pytest.mark.django_db
def test_join_as_author(client, teammate, outsider, postmortem):
    client.force_login(teammate)
    client.post(url("authors_join", postmortem))
    assert teammate in postmortem.authors.all()
    client.force_login(outsider)
    assert client.post(url("authors_join", postmortem)).status_code == 404


@pytest.mark.django_db
def test_a_refused_decision_keeps_the_reviewers_note(people, in_review_with_outsider):
    """A manager demoted after being asked cannot sign as manager; the panel says why and
    still holds what they wrote, so it is not typed again."""
    postmortem = in_review_with_outsider
    manager = people["manager"]
    Membership.objects.filter(user=manager, team=postmortem.incident.team).update(
        role=Membership.Role.MEMBER
    )
    review = postmortem.review_requests.get(reviewer=manager)
    note = "The timeline is clear; the pool alert is the right follow-up."
    response = browser_of(manager).post(
        url("review_decide", postmortem, review.pk),
        {"decision": "approved", "note": note},
        **HTMX,
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert "can give the manager sign-off" in page
    assert note.replace("'", "&#x27;") in page
    assert ReviewRequest.objects.get(pk=review.pk).decision == ReviewRequest.Decision.PENDING
