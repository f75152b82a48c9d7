"""Rows of a section (timeline, five whys, factors, action items, services) edited inline."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from actionitems.models import ActionItem
from incidents.models import IncidentService, Service, TimelineEvent
from postmortems.models import ContributingFactor, FiveWhy, Revision
from tests.conftest import HTMX, browser_of


def url(name, postmortem, *args):
    return reverse(f"postmortems:{name}", args=[postmortem.incident.reference, *args])


def event_descriptions(incident):
    return list(incident.timeline_events.values_list("description", flat=True))


@pytest.mark.django_db
def test_add_timeline_events_inline_and_they_stay_in_time_order(author_client, postmortem):
    form = author_client.get(url("row_new", postmortem, "timeline"), **HTMX)
    body = form.content.decode()
    assert form.status_code == 200
    assert "Time (UTC)" in body and 'placeholder="YYYY-MM-DD HH:MM"' in body
    assert "datetime-local" not in body
    assert 'value="2026-03-02 14:00"' in body  # starts from the incident's time
    for at, text, kind in [("14:20", "Restarted", "action"), ("14:05", "Alert fired", "alert")]:
        response = author_client.post(
            url("row_new", postmortem, "timeline"),
            {"version": 0, "occurred_at": f"2026-03-02T{at}", "kind": kind,
             "description": text, "actor": "SRE (Jane)", "is_key_decision": "on"},
            **HTMX,
        )  # fmt: skip
        assert response.status_code == 200
    body = response.content.decode()
    assert body.index("Alert fired") < body.index("Restarted")
    assert event_descriptions(postmortem.incident) == ["Alert fired", "Restarted"]
    assert TimelineEvent.objects.filter(is_key_decision=True).count() == 2
    assert Revision.objects.filter(section="timeline").count() == 2


@pytest.mark.django_db
def test_edit_a_timeline_row_in_place(author_client, postmortem):
    event = TimelineEvent.objects.create(
        incident=postmortem.incident, occurred_at=datetime(2026, 3, 2, 14, 5, tzinfo=UTC),
        description="Alert", kind="alert",
    )  # fmt: skip
    form = author_client.get(url("row", postmortem, "timeline", event.pk) + "?edit=1", **HTMX)
    assert f'id="row-timeline-{event.pk}"' in form.content.decode()
    assert "<tr" in form.content.decode()  # drawn in place of the table row
    response = author_client.post(
        url("row", postmortem, "timeline", event.pk),
        {"version": 1, "occurred_at": "2026-03-02T14:06", "kind": "alert",
         "description": "Pool alert fired", "actor": "Monitoring"},
        **HTMX,
    )  # fmt: skip
    assert response.status_code == 200
    event.refresh_from_db()
    assert (event.description, event.version, event.occurred_at.minute) == (
        "Pool alert fired",
        2,
        6,
    )
    cancel = author_client.get(url("row", postmortem, "timeline", event.pk), **HTMX)
    assert "Pool alert fired" in cancel.content.decode() and "<form" not in cancel.content.decode()


@pytest.mark.django_db
def test_invalid_row_comes_back_in_place_with_the_typed_text(author_client, postmortem):
    response = author_client.post(
        url("row_new", postmortem, "timeline"),
        {"version": 0, "occurred_at": "yesterday-ish", "kind": "alert", "description": "Kept"},
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#new-form-timeline"
    assert "Enter a date and time in UTC as YYYY-MM-DD HH:MM (24-hour clock)." in body
    assert "Kept</textarea>" in body
    assert not TimelineEvent.objects.exists()


@pytest.mark.django_db
def test_delete_asks_first_then_deletes(author_client, postmortem):
    event = TimelineEvent.objects.create(
        incident=postmortem.incident, occurred_at=datetime(2026, 3, 2, 14, 5, tzinfo=UTC),
        description="Noise",
    )  # fmt: skip
    confirm = author_client.get(url("row_delete", postmortem, "timeline", event.pk), **HTMX)
    assert confirm.status_code == 200
    assert "Delete “2026-03-02 14:05 UTC | Other | — | Noise”?" in confirm.content.decode()
    assert TimelineEvent.objects.exists()
    response = author_client.post(
        url("row_delete", postmortem, "timeline", event.pk), {"version": 1}, **HTMX
    )
    assert response.status_code == 200
    assert not TimelineEvent.objects.exists()
    revision = Revision.objects.get(section="timeline")
    assert "Noise" in revision.old_text and revision.new_text == ""


@pytest.mark.django_db
def test_delete_of_a_row_changed_since_the_confirmation_is_refused(author_client, postmortem):
    event = TimelineEvent.objects.create(
        incident=postmortem.incident, occurred_at=datetime(2026, 3, 2, 14, 5, tzinfo=UTC),
        description="Noise", version=2,
    )  # fmt: skip
    response = author_client.post(
        url("row_delete", postmortem, "timeline", event.pk), {"version": 1}, **HTMX
    )
    assert response.status_code == 409
    assert "changed since you asked to delete it" in response.content.decode()
    assert TimelineEvent.objects.exists()


@pytest.mark.django_db
def test_five_whys_add_edit_reorder_remove(author_client, postmortem):
    for question in ["Why did checkout fail?", "Why was the pool empty?", "Why no alert?"]:
        author_client.post(
            url("row_new", postmortem, "five_whys"),
            {"version": 0, "question": question, "answer": "Because"},
            **HTMX,
        )
    whys = list(FiveWhy.objects.all())
    assert [w.position for w in whys] == [0, 1, 2]
    response = author_client.post(
        url("row_move", postmortem, "five_whys", whys[2].pk), {"direction": "up"}, **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index("Why no alert?") < body.index("Why was the pool empty?")
    assert list(FiveWhy.objects.values_list("question", flat=True)) == [
        "Why did checkout fail?",
        "Why no alert?",
        "Why was the pool empty?",
    ]
    # Moving the first row up changes nothing.
    author_client.post(
        url("row_move", postmortem, "five_whys", whys[0].pk), {"direction": "up"}, **HTMX
    )
    assert FiveWhy.objects.first().question == "Why did checkout fail?"
    edited = author_client.post(
        url("row", postmortem, "five_whys", whys[0].pk),
        {
            "version": 1,
            "question": "Why did checkout fail for all users?",
            "answer": "Pool exhausted",
        },
        **HTMX,
    )
    assert edited.status_code == 200
    author_client.post(
        url("row_delete", postmortem, "five_whys", whys[1].pk), {"version": 2}, **HTMX
    )
    assert list(FiveWhy.objects.values_list("question", flat=True)) == [
        "Why did checkout fail for all users?",
        "Why no alert?",
    ]
    bad_move = author_client.post(
        url("row_move", postmortem, "five_whys", whys[0].pk), {"direction": "sideways"}, **HTMX
    )
    assert bad_move.status_code == 400


@pytest.mark.django_db
def test_contributing_factors_need_a_category(author_client, postmortem):
    response = author_client.post(
        url("row_new", postmortem, "contributing_factors"),
        {"version": 0, "category": "cosmic", "description": "Solar flare"},
        **HTMX,
    )
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    ok = author_client.post(
        url("row_new", postmortem, "contributing_factors"),
        {"version": 0, "category": "process", "description": "No load test"},
        **HTMX,
    )
    assert ok.status_code == 200
    assert ContributingFactor.objects.get().get_category_display() == "Process"


@pytest.mark.django_db
def test_action_items_added_inline_and_status_changed_with_one_click(
    author_client, postmortem, teammate
):
    response = author_client.post(
        url("row_new", postmortem, "action_items"),
        {"version": 0, "title": "Alert at 80% pool usage", "owner": teammate.pk,
         "due_date": "2026-03-09", "priority": "P1", "status": "open", "category": "detect",
         "term": "immediate", "tracker_url": "https://tracker.example.com/OPS-12"},
        **HTMX,
    )  # fmt: skip
    assert response.status_code == 200
    item = ActionItem.objects.get()
    assert (item.owner, item.priority, str(item.due_date)) == (teammate, "P1", "2026-03-09")
    done = author_client.post(
        url("action_item_status", postmortem, item.pk), {"status": "done"}, **HTMX
    )
    assert done.status_code == 200
    item.refresh_from_db()
    assert item.status == "done" and item.completed_at is not None
    assert "Done" in done.content.decode()
    bad = author_client.post(
        url("action_item_status", postmortem, item.pk), {"status": "maybe"}, **HTMX
    )
    assert bad.status_code == 400


@pytest.mark.django_db
def test_action_item_owner_must_be_on_the_team(author_client, postmortem, outsider):
    response = author_client.post(
        url("row_new", postmortem, "action_items"),
        {"version": 0, "title": "X", "owner": outsider.pk, "priority": "P2", "status": "open",
         "category": "prevent", "term": "short_term"},
        **HTMX,
    )  # fmt: skip
    assert response.status_code == 422
    assert not ActionItem.objects.exists()


@pytest.mark.django_db
def test_row_conflict_shows_both_versions(author_client, teammate, postmortem):
    why = FiveWhy.objects.create(postmortem=postmortem, question="Why?", answer="Original")
    mike = browser_of(teammate)
    mike.post(
        url("row", postmortem, "five_whys", why.pk),
        {"version": 1, "question": "Why?", "answer": "Mike's answer"},
        **HTMX,
    )
    response = author_client.post(
        url("row", postmortem, "five_whys", why.pk),
        {"version": 1, "question": "Why?", "answer": "Jane's answer"},
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 409
    assert response["HX-Retarget"] == f"#row-five_whys-{why.pk}"
    assert "Mike&#x27;s answer" in body and "Jane&#x27;s answer</textarea>" in body
    assert 'name="version" value="2"' in body
    why.refresh_from_db()
    assert why.answer == "Mike's answer"


@pytest.mark.django_db
def test_editing_a_row_someone_deleted_offers_to_add_it_back(author_client, postmortem):
    why = FiveWhy.objects.create(postmortem=postmortem, question="Why?", answer="Kept text")
    pk = why.pk
    why.delete()
    response = author_client.post(
        url("row", postmortem, "five_whys", pk),
        {"version": 1, "question": "Why?", "answer": "My edit"},
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 409
    assert "Someone deleted this row while you were editing it" in body
    assert "My edit</textarea>" in body
    assert reverse("postmortems:row_new", args=[postmortem.incident.reference, "five_whys"]) in body


@pytest.mark.django_db
def test_services_affected_are_rows_of_the_incident(author_client, postmortem, service, other_team):
    response = author_client.post(
        url("row_new", postmortem, "services"),
        {"version": 0, "service": service.pk, "impact": "down", "note": "all requests fail"},
        **HTMX,
    )
    assert response.status_code == 200
    assert "Payment API: down (all requests fail)" in response.content.decode()
    twice = author_client.post(
        url("row_new", postmortem, "services"),
        {"version": 0, "service": service.pk, "impact": "degraded"},
        **HTMX,
    )
    assert twice.status_code == 422
    assert "already exists" in twice.content.decode()
    foreign = Service.objects.create(team=other_team, name="Search")
    response = author_client.post(
        url("row_new", postmortem, "services"),
        {"version": 0, "service": foreign.pk, "impact": "down"},
        **HTMX,
    )
    assert response.status_code == 422
    assert IncidentService.objects.count() == 1


@pytest.mark.django_db
def test_another_team_cannot_touch_rows(client, outsider, postmortem):
    why = FiveWhy.objects.create(postmortem=postmortem, question="Why?", answer="A")
    client.force_login(outsider)
    assert (
        client.post(
            url("row_new", postmortem, "five_whys"), {"version": 0, "question": "x"}, **HTMX
        ).status_code
        == 404
    )
    assert (
        client.post(
            url("row_delete", postmortem, "five_whys", why.pk), {"version": 1}, **HTMX
        ).status_code
        == 404
    )
    assert FiveWhy.objects.count() == 1
