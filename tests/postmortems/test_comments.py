"""Comments on sections: one level of replies, resolve/reopen, @mentions recorded."""

import pytest
from django.urls import reverse

from postmortems.models import Comment, Mention
from postmortems.services import add_comment
from tests.conftest import HTMX


def comments_url(postmortem, key="root_cause"):
    return reverse("postmortems:comments", args=[postmortem.incident.reference, key])


@pytest.mark.django_db
def test_comment_on_a_section_and_see_it(author_client, postmortem):
    collapsed = author_client.get(postmortem.incident.get_absolute_url()).content.decode()
    assert 'id="comments-root_cause"' in collapsed
    response = author_client.post(
        comments_url(postmortem), {"body": "Is this the **root**?"}, **HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<strong>root</strong>" in body and "Jane Park" in body
    comment = Comment.objects.get()
    assert (comment.section, comment.parent) == ("root_cause", None)
    page = author_client.get(postmortem.incident.get_absolute_url()).content.decode()
    assert "Comments (1)" in page


@pytest.mark.django_db
def test_replies_are_one_level_deep(author_client, postmortem, teammate):
    thread = add_comment(postmortem, "root_cause", teammate, "First")
    reply = add_comment(postmortem, "root_cause", teammate, "Second", parent=thread)
    author_client.post(comments_url(postmortem), {"body": "Third", "parent": reply.pk}, **HTMX)
    third = Comment.objects.get(body="Third")
    assert third.parent == thread  # a reply to a reply joins the thread
    body = author_client.get(comments_url(postmortem), **HTMX).content.decode()
    assert body.index("First") < body.index("Second") < body.index("Third")


@pytest.mark.django_db
def test_resolve_and_reopen_a_thread(author_client, postmortem, teammate, author):
    thread = add_comment(postmortem, "root_cause", teammate, "Clarify the trigger")
    reply = add_comment(postmortem, "root_cause", author, "Done", parent=thread)
    url = reverse("postmortems:comment_resolve", args=[postmortem.incident.reference, reply.pk])
    body = author_client.post(url, {"resolved": "1"}, **HTMX).content.decode()
    thread.refresh_from_db()
    assert thread.resolved_by == author and thread.resolved_at is not None
    assert "Resolved by Jane Park" in body and "Reopen" in body
    assert (
        "Comments ("
        not in author_client.get(postmortem.incident.get_absolute_url()).content.decode()
    )
    author_client.post(url, {"resolved": "0"}, **HTMX)
    thread.refresh_from_db()
    assert thread.resolved_at is None


@pytest.mark.django_db
def test_mentions_record_notifications_for_teammates_only(
    author_client, postmortem, teammate, manager, outsider
):
    author_client.post(
        comments_url(postmortem),
        {
            "body": "@mike can you check? cc @sarah, not @ravi or @jane or @nobody. mail@mike.example"
        },
        **HTMX,
    )
    mentioned = set(Mention.objects.values_list("user__username", flat=True))
    assert mentioned == {"mike", "sarah"}  # ravi is on another team; jane wrote it
    assert all(m.emailed_at is None for m in Mention.objects.all())
    assert (
        "notified @mike, @sarah"
        in author_client.get(comments_url(postmortem), **HTMX).content.decode()
    )


@pytest.mark.django_db
def test_empty_comment_is_refused(author_client, postmortem):
    response = author_client.post(comments_url(postmortem), {"body": "  "}, **HTMX)
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert not Comment.objects.exists()


@pytest.mark.django_db
def test_another_team_cannot_read_or_comment(client, outsider, postmortem):
    client.force_login(outsider)
    assert client.get(comments_url(postmortem), **HTMX).status_code == 404
    assert client.post(comments_url(postmortem), {"body": "hi"}, **HTMX).status_code == 404
    assert not Comment.objects.exists()


@pytest.mark.django_db
def test_comments_only_on_postmortem_sections(author_client, postmortem):
    assert author_client.get(comments_url(postmortem, "incident_times"), **HTMX).status_code == 404
