"""An id in the URL that belongs to another document answers 404 and changes nothing.

The person asking may edit both documents (same team, author of both): the only thing wrong is
that the row, action item, comment or review in the URL is not one of this document's.
"""

from datetime import UTC, date, datetime

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from actionitems.models import ActionItem
from incidents.models import (
    Incident,
    IncidentLink,
    IncidentService,
    IncidentTag,
    Service,
    TimelineEvent,
)
from postmortems.editing import ROW_SECTIONS
from postmortems.models import (
    AdditionalSection,
    Comment,
    ContributingFactor,
    FiveWhy,
    FollowUp,
    Postmortem,
    Revision,
)
from tests.conftest import HTMX


@pytest.fixture
def elsewhere(team, author):
    """A second document of the same team, which the author also writes."""
    incident = Incident.objects.create(
        title="Search slow",
        severity=Incident.Severity.SEV2,
        status=Incident.Status.RESOLVED,
        team=team,
        commander=author,
        started_at=datetime(2026, 4, 1, 9, 0, tzinfo=UTC),
        resolved_at=datetime(2026, 4, 1, 10, 0, tzinfo=UTC),
        created_by=author,
    )
    postmortem = Postmortem.objects.create(incident=incident)
    postmortem.authors.add(author)
    return postmortem


def foreign_rows(other, team):
    """One row of every list section, in the other document."""
    incident = other.incident
    third = Incident.objects.create(
        title="Third", severity="SEV3", status="resolved", team=team,
        started_at=datetime(2026, 5, 1, tzinfo=UTC),
    )  # fmt: skip
    return {
        "timeline": TimelineEvent.objects.create(
            incident=incident, occurred_at=datetime(2026, 4, 1, 9, 5, tzinfo=UTC),
            description="Theirs", kind="alert",
        ),
        "five_whys": FiveWhy.objects.create(postmortem=other, question="Theirs?", answer="No"),
        "contributing_factors": ContributingFactor.objects.create(
            postmortem=other, category="technical", description="Theirs"
        ),
        "follow_ups": FollowUp.objects.create(postmortem=other, due_on=date(2026, 5, 1), title="Theirs"),
        "additional_sections": AdditionalSection.objects.create(postmortem=other, title="Theirs"),
        "tags": IncidentTag.objects.create(incident=incident, name="theirs"),
        "related_incidents": IncidentLink.objects.create(incident=incident, related=third, note="Theirs"),
        "services": IncidentService.objects.create(
            incident=incident, service=Service.objects.create(team=team, name="Search API"),
            impact="down",
        ),
        "action_items": ActionItem.objects.create(postmortem=other, title="Theirs"),
    }  # fmt: skip


def url(postmortem, name, *args):
    return reverse(f"postmortems:{name}", args=[postmortem.incident.reference, *args])


def row_requests(postmortem, key, row):
    """Every request that names a row of `key` under this document's URL."""
    edit_data = {"version": row.version, **{k: "x" for k in ROW_SECTIONS[key].fields}}
    yield "GET", url(postmortem, "row", key, row.pk), {}
    yield "GET", url(postmortem, "row", key, row.pk) + "?edit=1", {}
    yield "POST", url(postmortem, "row", key, row.pk), edit_data
    yield "GET", url(postmortem, "row_delete", key, row.pk), {}
    yield "POST", url(postmortem, "row_delete", key, row.pk), {"version": row.version}
    if ROW_SECTIONS[key].is_reorderable:
        for direction in ("up", "down"):
            yield "POST", url(postmortem, "row_move", key, row.pk), {"direction": direction}
    if key == "action_items":
        yield "POST", url(postmortem, "action_item_status", row.pk), {"status": "done"}


def snapshot(row):
    return model_to_dict(type(row)._base_manager.get(pk=row.pk))


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_a_row_of_another_document_is_404_and_unchanged(
    author_client, postmortem, elsewhere, team, htmx
):
    # Rows of this document too, so that "moved its neighbour" would show.
    FiveWhy.objects.create(postmortem=postmortem, question="Ours?", position=0)
    ActionItem.objects.create(postmortem=postmortem, title="Ours")
    rows = foreign_rows(elsewhere, team)
    assert set(rows) == set(ROW_SECTIONS), "a new list section needs a row here"
    before = {key: snapshot(row) for key, row in rows.items()}
    versions = (postmortem.incident.section_versions, postmortem.section_versions)
    headers = HTMX if htmx else {}
    checked = 0
    for key, row in rows.items():
        for method, address, data in row_requests(postmortem, key, row):
            send = author_client.post if method == "POST" else author_client.get
            response = send(address, data, **headers)
            assert response.status_code == 404, (method, address, response.status_code)
            checked += 1
    assert checked == 54
    assert {key: snapshot(row) for key, row in rows.items()} == before
    postmortem.refresh_from_db()
    postmortem.incident.refresh_from_db()
    assert (postmortem.incident.section_versions, postmortem.section_versions) == versions
    assert not Revision.objects.exists()


@pytest.mark.django_db
def test_comments_and_reviews_of_another_document_are_404(
    author_client, author, manager, postmortem, elsewhere
):
    theirs = Comment.objects.create(
        postmortem=elsewhere, section="root_cause", author=author, body="x"
    )
    review = elsewhere.review_requests.create(reviewer=manager, role="manager")
    requests = [
        (url(postmortem, "comment_resolve", theirs.pk), {"resolved": "1"}),
        (url(postmortem, "comments", "root_cause"), {"body": "reply", "parent": theirs.pk}),
        (url(postmortem, "reviewer_remove", review.pk), {}),
        (url(postmortem, "review_decide", review.pk), {"decision": "approved"}),
    ]
    for address, data in requests:
        assert author_client.post(address, data, **HTMX).status_code == 404, address
    theirs.refresh_from_db()
    assert theirs.resolved_at is None and theirs.replies.count() == 0
    assert Comment.objects.count() == 1
    assert elsewhere.review_requests.get().decision == "pending"


@pytest.mark.django_db
def test_a_deleted_row_of_this_document_still_offers_to_add_it_back(author_client, postmortem):
    """The 404 is for rows of other documents; a row deleted meanwhile is still a conflict."""
    gone = FiveWhy.objects.create(postmortem=postmortem, question="Gone?")
    pk = gone.pk
    gone.delete()
    response = author_client.post(
        url(postmortem, "row", "five_whys", pk), {"version": 1, "question": "Back?"}, **HTMX
    )
    assert response.status_code == 409
