"""Pasted notes and Markdown tables become timeline events dated from the incident."""

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from incidents.models import TimelineEvent
from incidents.timeline_paste import PasteError, parse_timeline
from tests.conftest import HTMX

DAY = date(2026, 3, 2)


def at(hour, minute, day=2):
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_plain_lines():
    events = parse_timeline("14:02 Jane acknowledged alert\n14:05 - Checked the pool", DAY)
    assert [(e.occurred_at, e.description, e.kind) for e in events] == [
        (at(14, 2), "Jane acknowledged alert", "acknowledge"),
        (at(14, 5), "Checked the pool", "investigate"),
    ]


def test_markdown_table_rows_of_each_seed_shape():
    text = """
| Time (UTC) | Event | Actor |
|------------|-------|-------|
| 14:00 | Alert: "Database Connection Pool Exhausted" | Monitoring |
| 14:02 | On-call paged | PagerDuty |
| 14:40 | **Decision: Rollback v2.5.3 deployment** | Incident Commander |
| 14:15 | Restarted payment service | systemctl restart payment | SRE (Jane) |
"""
    events = parse_timeline(text, DAY)
    assert [(e.description, e.actor, e.kind) for e in events[:3]] == [
        ('Alert: "Database Connection Pool Exhausted"', "Monitoring", "alert"),
        ("On-call paged", "PagerDuty", "page"),
        ("Decision: Rollback v2.5.3 deployment", "Incident Commander", "decision"),
    ]
    assert events[2].is_key_decision and not events[0].is_key_decision
    # Four columns (the incident report): time, event, action taken, by whom. 14:15 after
    # 14:40 is read as the next day, which is what a reader of a sorted table would expect.
    assert (events[3].action_taken, events[3].actor) == ("systemctl restart payment", "SRE (Jane)")
    assert events[3].occurred_at == at(14, 15, day=3)


def test_times_past_midnight_roll_to_the_next_day_and_explicit_dates_win():
    events = parse_timeline(
        "23:50 Paged\n00:10 Restarted\n2026-03-05 09:00 UTC Postmortem review", DAY
    )
    assert [e.occurred_at for e in events] == [at(23, 50), at(0, 10, day=3), at(9, 0, day=5)]


def test_escaped_pipes_stay_in_the_cell():
    (event,) = parse_timeline(r"| 14:02 | Ran `a \| b` | Jane |", DAY)
    assert event.description == "Ran `a | b`"


def test_bad_lines_are_all_reported_with_their_numbers():
    with pytest.raises(PasteError) as error:
        parse_timeline("14:02 ok\nno time here\n25:61 impossible\n| soon | x | y |\n14:09", DAY)
    assert error.value.problems == [
        (2, "does not start with a time (expected HH:MM)"),
        (3, "25:61 is not a time of day"),
        (4, '"soon" is not a time (expected HH:MM)'),
        (5, "has a time but no event"),
    ]


def test_nothing_to_add_is_an_error():
    with pytest.raises(PasteError):
        parse_timeline("\n\n| Time | Event |\n|---|---|\n", DAY)


@pytest.mark.django_db
def test_paste_box_adds_every_event_or_none(author_client, postmortem):
    url = reverse("postmortems:timeline_paste", args=[postmortem.incident.reference])
    form = author_client.get(url, **HTMX)
    assert "Times are UTC on 2026-03-02" in form.content.decode()

    bad = author_client.post(url, {"text": "14:02 fine\nbroken line"}, **HTMX)
    assert bad.status_code == 422
    assert "Line 2: does not start with a time" in bad.content.decode()
    assert "14:02 fine" in bad.content.decode()  # what was pasted stays
    assert not TimelineEvent.objects.exists()

    good = author_client.post(
        url,
        {"text": "14:02 Jane acknowledged alert\n| 14:01 | On-call paged | PagerDuty |"},
        **HTMX,
    )
    assert good.status_code == 200
    body = good.content.decode()
    assert body.index("Jane acknowledged alert") < body.index("On-call paged")  # 14:01 is next day
    events = list(TimelineEvent.objects.order_by("occurred_at"))
    assert [(e.occurred_at, e.actor) for e in events] == [
        (at(14, 2), ""),
        (at(14, 1, day=3), "PagerDuty"),
    ]
