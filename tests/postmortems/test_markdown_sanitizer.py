"""Every Markdown field is rendered through nh3: scripts and javascript: links come out inert."""

import re
from datetime import UTC, datetime

import pytest
from django.db import models

from actionitems.models import ActionItem
from incidents.models import TimelineEvent
from postmortems.markdown import render_markdown
from postmortems.models import ContributingFactor, FiveWhy, FollowUp, Postmortem

ATTACK = (
    "Before <script>document.title='pwned'</script> after "
    "[click me](javascript:alert(1)) "
    '<a href="JaVaScRiPt:alert(2)">upper</a> '
    '<img src="x" onerror="alert(3)"> '
    "<iframe src=https://evil.example></iframe>"
)

POSTMORTEM_MARKDOWN_FIELDS = [
    f.name for f in Postmortem._meta.get_fields() if isinstance(f, models.TextField) and f.concrete
]


# Structure, not text: escaped text such as "&lt;script&gt;" is harmless and may appear.
SCRIPT_TAG = re.compile(r"<script(?![^>]*\bsrc=\"/static/)", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"(?:href|src)\s*=\s*[\"']?\s*javascript:", re.IGNORECASE)
IFRAME = re.compile(r"<iframe", re.IGNORECASE)


def assert_inert(html):
    """The page has its own <script src=/static/...> tags; no other may survive."""
    assert not SCRIPT_TAG.search(html)
    assert not EVENT_HANDLER.search(html)
    assert not JAVASCRIPT_URL.search(html)
    assert not IFRAME.search(html)


def test_render_markdown_strips_scripts_handlers_and_javascript_links():
    html = render_markdown(ATTACK)
    assert_inert(html)
    assert "Before" in html and "after" in html and "click me" in html


def test_render_markdown_keeps_what_postmortems_use():
    html = render_markdown(
        "**bold** `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n\n"
        "[docs](https://wiki.example.com/db)"
    )
    assert "<strong>bold</strong>" in html
    assert "<code>code</code>" in html
    assert "<td>1</td>" in html
    assert 'type="checkbox"' in html and "checked" in html
    assert 'href="https://wiki.example.com/db"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_all_postmortem_text_fields_are_covered():
    # Guards the page test below: a new Markdown section must be added to the attack.
    assert {"executive_summary", "root_cause", "went_well", "communication_log"} <= set(
        POSTMORTEM_MARKDOWN_FIELDS
    )
    assert len(POSTMORTEM_MARKDOWN_FIELDS) == 16


@pytest.mark.django_db
def test_the_page_renders_every_markdown_field_inert(author_client, postmortem, author):
    for name in POSTMORTEM_MARKDOWN_FIELDS:
        setattr(postmortem, name, f"{name}: {ATTACK}")
    postmortem.save()
    incident = postmortem.incident
    TimelineEvent.objects.create(
        incident=incident, occurred_at=datetime(2026, 3, 2, 14, 1, tzinfo=UTC), description=ATTACK
    )
    FiveWhy.objects.create(postmortem=postmortem, question="Why?", answer=ATTACK)
    ContributingFactor.objects.create(
        postmortem=postmortem, category=ContributingFactor.Category.PROCESS, description=ATTACK
    )
    FollowUp.objects.create(
        postmortem=postmortem, due_on="2026-03-09", title="1 week", notes=ATTACK
    )
    item = ActionItem.objects.create(postmortem=postmortem, title="Fix", description=ATTACK)

    # Every template of the layout that shows these fields, one after the other.
    for template in Postmortem.Template.values:
        Postmortem.objects.filter(pk=postmortem.pk).update(template=template)
        response = author_client.get(incident.get_absolute_url())
        assert response.status_code == 200
        assert_inert(response.content.decode())
    body = author_client.get(incident.get_absolute_url()).content.decode()
    for name in ("executive_summary", "root_cause", "went_well"):
        assert f"{name}: Before" in body  # the text itself is kept

    item_page = author_client.get(item.get_absolute_url())
    assert_inert(item_page.content.decode())
