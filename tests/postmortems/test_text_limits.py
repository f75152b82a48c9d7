"""Length limits on free text (postmortems/limits.py): said in the form, refused with 422
and the person's text kept, and held for text that arrives without a form."""

import html
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from incidents.models import TimelineEvent
from postmortems import limits
from postmortems.editing import FIELD_SECTIONS, ROW_SECTIONS
from postmortems.models import Comment, Postmortem
from tests.conftest import HTMX, browser_of

HUGE = "x" * 99_992 + " the end"  # 100,000 characters


def url(postmortem, name, *args):
    return reverse(f"postmortems:{name}", args=[postmortem.incident.reference, *args])


def textarea_text(body):
    return html.unescape(body)


@pytest.mark.django_db
def test_a_100000_character_comment_is_refused_with_the_text_kept(author_client, postmortem):
    response = author_client.post(url(postmortem, "comments", "root_cause"), {"body": HUGE}, **HTMX)
    assert response.status_code == 422
    body = response.content.decode()
    assert "at most 10000 characters (it has 100000)" in body
    assert HUGE in textarea_text(body)  # nothing lost
    assert 'data-limit="10000"' in body and "Up to 10,000 characters." in body
    assert not Comment.objects.exists()
    ok = author_client.post(
        url(postmortem, "comments", "root_cause"), {"body": "y" * 10_000}, **HTMX
    )
    assert ok.status_code == 200 and Comment.objects.count() == 1


@pytest.mark.django_db
def test_a_100000_character_timeline_description_is_refused_with_the_text_kept(
    author_client, postmortem
):
    form = author_client.get(url(postmortem, "row_new", "timeline"), **HTMX).content.decode()
    assert 'data-limit="10000"' in form and "Up to 10,000 characters." in form
    data = {"version": 0, "occurred_at": "2026-03-02T14:05", "kind": "alert", "description": HUGE}
    response = author_client.post(url(postmortem, "row_new", "timeline"), data, **HTMX)
    assert response.status_code == 422
    assert "at most 10000 characters" in response.content.decode()
    assert HUGE in textarea_text(response.content.decode())
    assert not TimelineEvent.objects.exists()


@pytest.mark.django_db
def test_editing_an_existing_row_with_too_much_text_keeps_the_row(author_client, postmortem):
    event = TimelineEvent.objects.create(
        incident=postmortem.incident, occurred_at=datetime(2026, 3, 2, 14, 5, tzinfo=UTC),
        description="Alert", kind="alert",
    )  # fmt: skip
    data = {"version": 1, "occurred_at": "2026-03-02T14:05", "kind": "alert", "notes": HUGE,
            "description": "Alert"}  # fmt: skip
    response = author_client.post(url(postmortem, "row", "timeline", event.pk), data, **HTMX)
    assert response.status_code == 422 and HUGE in textarea_text(response.content.decode())
    event.refresh_from_db()
    assert event.notes == "" and event.version == 1


@pytest.mark.django_db
def test_a_section_says_its_limit_and_refuses_more(author_client, postmortem):
    form = author_client.get(url(postmortem, "section", "root_cause") + "?edit=1", **HTMX)
    assert 'data-limit="50000"' in form.content.decode()
    assert "maxlength" not in form.content.decode().split("<textarea")[1].split(">")[0]
    data = {"version": 0, "root_cause": "r" * 50_001}
    response = author_client.post(url(postmortem, "section", "root_cause"), data, **HTMX)
    assert response.status_code == 422
    assert "r" * 50_001 in response.content.decode()
    postmortem.refresh_from_db()
    assert postmortem.root_cause == "A leak."


@pytest.mark.django_db
def test_every_multi_line_field_of_the_document_has_a_limit():
    """A new TextField in a section or row form without a limit fails here."""
    from django.db import models

    unlimited = []
    for section in [*FIELD_SECTIONS.values(), *ROW_SECTIONS.values()]:
        model = section.model
        for name in section.fields:
            try:
                field = model._meta.get_field(name)
            except Exception:
                continue
            if isinstance(field, models.TextField) and not limits.limit_of(model._meta.label, name):
                unlimited.append(f"{model._meta.label}.{name}")
    assert unlimited == []
    assert sum(len(fields) for fields in limits.TEXT_LIMITS.values()) == 27


@pytest.mark.django_db
def test_text_without_a_form_is_held_to_the_same_limits(postmortem):
    with pytest.raises(limits.TextTooLong, match="description has 100,000 characters"):
        TimelineEvent.objects.create(
            incident=postmortem.incident, occurred_at=postmortem.incident.started_at,
            description=HUGE, kind="other",
        )  # fmt: skip
    with pytest.raises(limits.TextTooLong):
        Postmortem.objects.filter(pk=postmortem.pk).get().__class__(
            incident=postmortem.incident, went_well=HUGE
        ).save()


@pytest.mark.django_db
def test_a_pasted_line_too_long_is_refused_and_the_others_are_added(author_client, postmortem):
    text = f"14:02 Jane acknowledged the alert\n14:05 {HUGE}\n"
    response = author_client.post(
        url(postmortem, "timeline_paste"), {"text": text, "zone": "UTC", "confirm": "1"}, **HTMX
    )
    assert response.status_code == 200
    assert list(TimelineEvent.objects.values_list("description", flat=True)) == [
        "Jane acknowledged the alert"
    ]


@pytest.mark.django_db
def test_a_too_long_import_is_refused_whole(author_client, team):
    document = f"# Checkout outage\n\n## Summary\n\nShort.\n\n## Root Cause\n\n{'z' * 50_001}\n"
    data = {"text": document, "team": team.pk, "zone": "UTC", "confirm": "1"}
    response = author_client.post(reverse("incidents:import"), data)
    assert response.status_code == 422
    assert "too long" in response.content.decode()
    assert not Postmortem.objects.exists()


@pytest.mark.django_db
def test_the_api_refuses_a_too_long_comment(author, postmortem):
    response = browser_of(author).post(
        reverse("api:comments", args=[postmortem.incident.reference]),
        {"section": "root_cause", "body": HUGE},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not Comment.objects.exists()
