"""Share links: a published postmortem read by people outside the team, without login,
read-only, without the sections the team keeps internal; links that are signed, expire and
can be revoked."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from actionitems.models import ActionItem
from postmortems.models import Comment, Postmortem, ShareLink
from postmortems.sharing import ShareRefused, create_share_link, share_token
from tests.conftest import HTMX, browser_of

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
SECRET_ROOT_CAUSE = "the pool leaked in the payment worker's retry path"
SECRET_ITEM = "Rotate the vendor API key"


@pytest.fixture
def published(postmortem, author):
    postmortem.status = Postmortem.Status.PUBLISHED
    postmortem.root_cause = SECRET_ROOT_CAUSE
    postmortem.executive_summary = "Checkout failed for 30 minutes."
    postmortem.save()
    ActionItem.objects.create(postmortem=postmortem, title=SECRET_ITEM, owner=author)
    Comment.objects.create(
        postmortem=postmortem, section="summary", author=author, body="A private remark"
    )
    return postmortem


def url(name, postmortem, *args):
    return reverse(f"postmortems:{name}", args=[postmortem.incident.reference, *args])


def create(client, postmortem, **data):
    return client.post(url("share_links", postmortem), {"days": 30, **data}, **HTMX)


def anonymous():
    return Client()


@pytest.mark.django_db
def test_a_team_member_shares_and_an_outsider_reads_without_login(published, author):
    response = create(browser_of(author), published, label="Acme Corp")
    assert response.status_code == 200
    link = ShareLink.objects.get()
    assert (link.label, link.created_by) == ("Acme Corp", author)
    assert link.expires_at - link.created_at == timedelta(days=30)
    assert link.get_absolute_url() in response.text  # shown to copy

    page = anonymous().get(link.get_absolute_url())
    assert page.status_code == 200
    html = page.text
    assert "Checkout failed for 30 minutes." in html and SECRET_ROOT_CAUSE in html
    assert SECRET_ITEM in html
    # Read-only: no tools, no comments, no presence, no scripts, no form to post.
    for absent in ("A private remark", "Edit", "History", "presence", "<script", "<form",
                   "hx-post", "csrfmiddlewaretoken", "Keep internal", "/action-items/"):  # fmt: skip
        assert absent not in html, absent
    assert page["Cache-Control"].startswith("max-age=0") and "no-store" in page["Cache-Control"]
    assert page["Referrer-Policy"] == "no-referrer"
    assert "noindex" in page["X-Robots-Tag"]
    assert ShareLink.objects.get().views == 1


@pytest.mark.django_db
def test_the_shared_page_costs_a_bounded_number_of_queries(
    published, author, django_assert_max_num_queries
):
    link = create_share_link(published, by=author)
    client = anonymous()
    with django_assert_max_num_queries(40):
        assert client.get(link.get_absolute_url()).status_code == 200


@pytest.mark.django_db
def test_a_draft_is_not_shareable(postmortem, author):
    response = create(browser_of(author), postmortem)
    assert response.status_code == 409
    assert "Publish the postmortem before sharing it" in response.text
    assert not ShareLink.objects.exists()
    with pytest.raises(ShareRefused):
        create_share_link(postmortem, by=author)


@pytest.mark.django_db
def test_a_reopened_postmortem_is_no_longer_shown(published, author):
    link = create_share_link(published, by=author)
    published.status = Postmortem.Status.DRAFT
    published.save()
    response = anonymous().get(link.get_absolute_url())
    assert response.status_code == 410
    assert SECRET_ROOT_CAUSE not in response.text


@pytest.mark.django_db
def test_only_the_team_creates_and_revokes_links(published, author, outsider, make_user):
    assert create(browser_of(outsider), published).status_code == 404  # cannot even read it
    link = create_share_link(published, by=author)
    revoke = url("share_revoke", published, link.pk)
    assert browser_of(outsider).post(revoke, **HTMX).status_code == 404
    assert anonymous().post(revoke).status_code == 302  # to the login page
    assert ShareLink.objects.get().revoked_at is None


@pytest.mark.django_db
def test_a_reviewer_from_another_team_reads_but_does_not_share(published, author, outsider):
    published.review_requests.create(reviewer=outsider, role="engineering_lead")
    reviewer = browser_of(outsider)
    assert reviewer.get(published.incident.get_absolute_url()).status_code == 200
    assert create(reviewer, published).status_code == 403
    key = url("section_internal", published, "root_cause")
    assert reviewer.post(key, {"internal": "1"}, **HTMX).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the signature
        lambda t: t.replace(t.split(".")[0], str(int(t.split(".")[0]) + 1), 1),  # the id
        lambda t: t.split(":")[0],  # no signature
        lambda t: "not-a-token",
    ],
)
def test_a_tampered_link_is_not_found(published, author, tamper):
    create_share_link(published, by=author)  # another, valid link of the same postmortem
    link = create_share_link(published, by=author)
    token = share_token(link)
    response = anonymous().get(reverse("shared_postmortem", args=[tamper(token)]))
    assert response.status_code == 404
    assert SECRET_ROOT_CAUSE not in response.text


@pytest.mark.django_db
def test_a_link_signed_for_another_nonce_is_not_found(published, author):
    link = create_share_link(published, by=author)
    link.nonce = "0" * 32  # what a forger with the key but not the database would sign
    response = anonymous().get(reverse("shared_postmortem", args=[share_token(link)]))
    assert response.status_code == 404


@pytest.mark.django_db
def test_a_link_expires(published, author):
    with time_machine.travel(NOW, tick=False):
        response = create(browser_of(author), published, days=7)
        assert response.status_code == 200
        link = ShareLink.objects.get()
    path = link.get_absolute_url()
    with time_machine.travel(NOW + timedelta(days=7) - timedelta(minutes=1), tick=False):
        assert anonymous().get(path).status_code == 200
    with time_machine.travel(NOW + timedelta(days=7), tick=False):
        gone = anonymous().get(path)
        assert gone.status_code == 410
        assert "This link has expired" in gone.text
        assert SECRET_ROOT_CAUSE not in gone.text


@pytest.mark.django_db
def test_an_unknown_lifetime_is_refused(published, author):
    response = create(browser_of(author), published, days=3650)
    assert response.status_code == 422
    assert not ShareLink.objects.exists()


@pytest.mark.django_db
def test_revoking_stops_the_link_at_once(published, author, teammate):
    link = create_share_link(published, by=author)
    path = link.get_absolute_url()
    reader = anonymous()
    assert reader.get(path).status_code == 200
    response = browser_of(teammate).post(url("share_revoke", published, link.pk), **HTMX)
    assert response.status_code == 200
    assert "Revoked" in response.text and "Mike" in response.text
    link.refresh_from_db()
    assert link.revoked_by == teammate and link.revoked_at is not None
    gone = reader.get(path)
    assert gone.status_code == 410
    assert "revoked" in gone.text
    assert SECRET_ROOT_CAUSE not in gone.text


@pytest.mark.django_db
def test_internal_sections_are_left_out_of_the_shared_page(published, author):
    team = browser_of(author)
    link = create_share_link(published, by=author)
    for key in ("root_cause", "action_items"):
        response = team.post(url("section_internal", published, key), {"internal": "1"}, **HTMX)
        assert response.status_code == 200
        assert "Internal only" in response.text and "Show in share links" in response.text
    published.refresh_from_db()
    assert published.internal_sections == ["action_items", "root_cause"]

    html = anonymous().get(link.get_absolute_url()).text
    assert "Checkout failed for 30 minutes." in html
    assert SECRET_ROOT_CAUSE not in html and "leaked" not in html
    assert SECRET_ITEM not in html and "Action items" not in html
    assert 'id="section-root_cause"' not in html

    # The team still sees everything, with the sections marked.
    page = team.get(published.incident.get_absolute_url()).text
    assert SECRET_ROOT_CAUSE in page and page.count("Internal only") >= 2

    team.post(url("section_internal", published, "root_cause"), {"internal": "0"}, **HTMX)
    assert SECRET_ROOT_CAUSE in anonymous().get(link.get_absolute_url()).text


@pytest.mark.django_db
def test_marking_an_unknown_section_is_not_found(published, author):
    response = browser_of(author).post(
        url("section_internal", published, "no_such_section"), {"internal": "1"}, **HTMX
    )
    assert response.status_code == 404


@pytest.mark.django_db
def test_the_share_panel_is_on_the_published_page_for_the_team(published, author, outsider):
    page = browser_of(author).get(published.incident.get_absolute_url()).text
    assert "Share outside the team" in page and "Create a share link" in page
    published.review_requests.create(reviewer=outsider, role="engineering_lead")
    page = browser_of(outsider).get(published.incident.get_absolute_url()).text
    assert "Create a share link" not in page


@pytest.mark.django_db
def test_screenshots_show_on_the_shared_page_through_the_link_and_go_with_it(
    published, author, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from postmortems.attachments import add_attachment

    settings.MEDIA_ROOT = str(tmp_path)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    graph = add_attachment(published, SimpleUploadedFile("graph.png", png, "image/png"), by=author)
    other = add_attachment(
        Postmortem.objects.exclude(pk=published.pk).first() or published,
        SimpleUploadedFile("other.png", png, "image/png"),
        by=author,
    )
    published.executive_summary = f"Errors rose: {graph.markdown}"
    published.save()
    link = create_share_link(published, by=author)
    token = share_token(link)

    html = anonymous().get(link.get_absolute_url()).text
    shared_url = f"/shared/{token}/attachments/{graph.pk}/{graph.name}"
    assert f'src="{shared_url}"' in html
    assert "/attachments/" not in html.replace(f"/shared/{token}/attachments/", "")

    image = anonymous().get(shared_url)
    assert image.status_code == 200 and b"".join(image.streaming_content) == png
    assert "no-store" in image["Cache-Control"]
    assert ShareLink.objects.get().views == 1  # the page was viewed once; images do not count
    if other.postmortem_id != published.pk:
        assert (
            anonymous().get(f"/shared/{token}/attachments/{other.pk}/{other.name}").status_code
            == 404
        )
    assert (
        anonymous().get(f"/shared/{token}x/attachments/{graph.pk}/{graph.name}").status_code == 404
    )

    link.revoked_at = link.created_at + timedelta(minutes=1)
    link.save()
    assert anonymous().get(shared_url).status_code == 410
