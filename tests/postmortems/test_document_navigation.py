"""The document page's table of contents, its refresh after a change, and rough edges the
console showed (an out-of-band target the presence poll could not find, /favicon.ico)."""

import re

import pytest
from django.urls import reverse

from postmortems.models import Comment
from tests.conftest import HTMX

SEEN = re.compile(r'name="seen" id="seen-([a-z_]+)"')


def toc_of(body: str) -> str:
    match = re.search(r'<ol class="toc-list".*?\n</ol>(?!</li>)', body, re.S)
    assert match, "no table of contents on the page"
    return match[0]


def toc_item(toc: str, key: str) -> str:
    match = re.search(rf'<li data-key="{key}"[^\n]*</li>', toc)
    assert match, f"{key} is not in the table of contents"
    return match[0]


@pytest.mark.django_db
def test_the_contents_list_every_section_of_the_page_with_its_state(
    author_client, postmortem, author, django_assert_max_num_queries
):
    Comment.objects.create(postmortem=postmortem, section="summary", author=author, body="Why?")
    url = postmortem.incident.get_absolute_url()
    author_client.get(url)  # warm the cache of section bodies
    with django_assert_max_num_queries(7):  # what the page cost before the contents
        body = author_client.get(url).content.decode()
    toc = toc_of(body)
    # Every section the page shows is listed, in the page's order, and links to its anchor.
    shown = re.findall(r'<section class="(?:pm-section|head-section)" id="section-([a-z_]+)"', body)
    listed = re.findall(r'<li data-key="([a-z_]+)"', toc)
    assert [key for key in listed if key != "review"] == shown
    for key in shown:
        assert f'href="#section-{key}"' in toc
    assert toc_item(toc, "review").count('href="#review"') == 1
    # State: filled or empty, open comments, flagged by the checklist.
    assert "toc-empty" not in toc_item(toc, "root_cause")
    assert "toc-empty" in toc_item(toc, "lessons_learned")
    assert ", empty" in toc_item(toc, "lessons_learned")
    assert "1 open comment" in toc_item(toc, "summary")
    assert "To do: Lessons learned are written" in toc_item(toc, "lessons_learned")
    assert "toc-flag" not in toc_item(toc, "root_cause")
    assert "data-toc-editing" in toc_item(toc, "summary")  # filled from the presence poll
    # The contents box and the keys' help are on the page; no inline script anywhere.
    assert '<details class="toc-box" open data-toc>' in body
    assert 'id="keys-help"' in body and "<dialog" in body
    assert "js/document.js" in body
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body)
    assert not re.search(r"\son[a-z]+=", body)


@pytest.mark.django_db
def test_after_a_save_the_contents_refresh_with_the_new_state(author_client, postmortem):
    reference = postmortem.incident.reference
    toc_url = reverse("postmortems:toc", args=[reference])
    page = author_client.get(postmortem.incident.get_absolute_url()).content.decode()
    assert f'hx-get="{toc_url}"' in page
    assert 'hx-trigger="document-changed from:body' in page

    response = author_client.post(
        reverse("postmortems:section", args=[reference, "lessons_learned"]),
        {"lessons_learned": "Alert on pool saturation.", "version": 0},
        **HTMX,
    )
    assert response.status_code == 200
    assert "document-changed" in response["HX-Trigger"]  # what the contents listen to
    toc = author_client.get(toc_url, **HTMX).content.decode()
    item = toc_item(toc, "lessons_learned")
    assert "toc-empty" not in item and "toc-flag" not in item
    assert toc.startswith('<ol class="toc-list" id="toc-list"')


@pytest.mark.django_db
def test_a_new_comment_refreshes_the_contents(author_client, postmortem):
    reference = postmortem.incident.reference
    response = author_client.post(
        reverse("postmortems:comments", args=[reference, "impact"]), {"body": "Numbers?"}, **HTMX
    )
    assert response.status_code == 200
    assert "toc-changed" in response["HX-Trigger"]
    toc = author_client.get(reverse("postmortems:toc", args=[reference]), **HTMX)
    assert "1 open comment" in toc_item(toc.content.decode(), "impact")


@pytest.mark.django_db
def test_the_contents_are_only_for_readers(outsider_client, postmortem):
    url = reverse("postmortems:toc", args=[postmortem.incident.reference])
    assert outsider_client.get(url, **HTMX).status_code == 404


@pytest.mark.django_db
def test_every_section_the_poll_reports_on_has_its_editors_target(
    author_client, author, postmortem
):
    """The poll answers with an out-of-band #editors-<key> for every section the page says it
    shows; a missing target was logged as htmx:oobErrorNoTarget on every page load."""
    body = author_client.get(postmortem.incident.get_absolute_url()).content.decode()
    seen = SEEN.findall(body)
    assert "review_schedule" in seen and "root_cause" in seen
    for key in seen:
        assert f'id="editors-{key}"' in body, key


@pytest.mark.django_db
def test_favicon(client, author_client):
    response = client.get("/favicon.ico")  # anonymous: browsers ask before logging in
    assert response.status_code == 301
    assert response["Location"].endswith("img/favicon.svg")
    body = author_client.get(reverse("my_work")).content.decode()
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in body
