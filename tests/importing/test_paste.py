"""The timeline paste box: the import's parser, a preview of every line, then one confirm."""

import html
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from incidents.models import TimelineEvent
from tests.conftest import HTMX

pytestmark = pytest.mark.django_db


def at(hour, minute, day=2):
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def paste(author_client, postmortem):
    url = reverse("postmortems:timeline_paste", args=[postmortem.incident.reference])

    def post(text, confirm=False, zone="UTC"):
        data = {"text": text, "zone": zone, **({"confirm": "1"} if confirm else {})}
        return author_client.post(url, data, **HTMX)

    return post


def events():
    return list(
        TimelineEvent.objects.order_by("occurred_at", "position").values_list(
            "occurred_at", "description", "actor", "action_taken", "notes", "kind"
        )
    )


def test_the_form_says_which_day_undated_times_are_on(author_client, postmortem):
    url = reverse("postmortems:timeline_paste", args=[postmortem.incident.reference])
    body = author_client.get(url, **HTMX).content.decode()
    assert "Undated times are on 2026-03-02" in body
    assert 'name="zone"' in body


def test_preview_shows_each_line_and_writes_nothing(paste):
    response = paste("2:02 PM Jane acknowledged alert\n14:02 PST Jane paged\nno time here")
    body = response.content.decode()
    assert response.status_code == 200
    assert "2 of 3 lines will be added" in body
    assert "2:02 PM → <time" in body and "2026-03-02 14:02 UTC" in body
    assert "14:02 PST (PST = Pacific Standard Time, UTC-08:00)" in body
    assert "2026-03-02 22:02 UTC" in body
    assert "does not start with a time" in body
    assert not TimelineEvent.objects.exists()


def test_confirm_adds_the_accepted_lines_in_utc(paste):
    response = paste(
        "2:02 PM Jane acknowledged alert\n[14:30] mike: restarting pods\n14:02 PST Jane paged\n"
        "bad line",
        confirm=True,
    )
    assert response.status_code == 200
    assert events() == [
        (at(14, 2), "Jane acknowledged alert", "", "", "", "acknowledge"),
        (at(14, 30), "restarting pods", "mike", "", "", "action"),
        (at(22, 2), "Jane paged", "", "", "", "page"),
    ]


def test_tables_are_read_by_their_header_names_in_any_order(paste):
    text = (
        "| Time (UTC) | Action | Person | Notes |\n"
        "|---|---|---|---|\n"
        "| 14:05 | Restarted the pool | Jane | took 2 min |\n"
        "| 14:09 | Status page updated | Mike | |\n"
    )
    paste(text, confirm=True)
    assert events() == [
        (at(14, 5), "Restarted the pool", "Jane", "", "took 2 min", "action"),
        (at(14, 9), "Status page updated", "Mike", "", "", "communication"),
    ]


def test_a_table_with_an_event_and_an_action_column_keeps_both(paste):
    text = (
        "| By Whom | Event | Time (UTC) | Action Taken | Ticket |\n"
        "|---|---|---|---|---|\n"
        "| SRE (Jane) | Restarted payment service | 14:15 | systemctl restart | OPS-1 |\n"
    )
    paste(text, confirm=True)
    assert events() == [
        (
            at(14, 15),
            "Restarted payment service",
            "SRE (Jane)",
            "systemctl restart",
            "Ticket: OPS-1",
            "action",
        )
    ]


def test_a_timeline_with_sub_headings_and_labelled_bullets(paste):
    text = (
        "### Detection\n"
        "- **First Alert:** 14:30 - Prometheus alert: error rate above 5%\n"
        "- 14:32 UTC — On-call paged\n"
        "### Resolution\n"
        "- **14:50** Rollback finished\n"
    )
    response = paste(text)
    assert "3 of 5 lines will be added" in response.content.decode()
    paste(text, confirm=True)
    assert [(e[0], e[1]) for e in events()] == [
        (at(14, 30), "**First Alert:** Prometheus alert: error rate above 5%"),
        (at(14, 32), "On-call paged"),
        (at(14, 50), "Rollback finished"),
    ]


def test_refused_lines_say_why(paste):
    body = html.unescape(
        paste("14:02 CST paged\n13:00 PM hm\n| soon | x |\n14:09").content.decode()
    )
    assert "CST is ambiguous" in body
    assert "13 does not go with PM" in body
    assert "has a time but no event" in body
    assert '"soon" is not a time' in body


def test_nothing_readable_is_a_422_with_the_text_kept(paste):
    response = paste("just words\nmore words")
    assert response.status_code == 422
    body = response.content.decode()
    assert "No line could be read as an event" in body
    assert "just words" in body
    assert not TimelineEvent.objects.exists()
    assert paste("just words", confirm=True).status_code == 422


def test_events_already_in_the_timeline_are_not_added_twice(paste, postmortem):
    TimelineEvent.objects.create(
        incident=postmortem.incident, occurred_at=at(14, 2), description="Jane paged"
    )
    body = paste("14:02 Jane paged\n14:03 Mike joined").content.decode()
    assert "already in the timeline" in body
    paste("14:02 Jane paged\n14:03 Mike joined", confirm=True)
    assert [e[1] for e in events()] == ["Jane paged", "Mike joined"]


def test_the_zone_picker_converts_times_written_without_a_zone(paste):
    paste("14:02 Paged\n22:05 UTC Acknowledged", confirm=True, zone="America/Los_Angeles")
    assert [e[0] for e in events()] == [at(22, 2), at(22, 5)]


def test_an_unknown_zone_is_a_form_error(paste):
    response = paste("14:02 Paged", zone="Mars/Olympus")
    assert response.status_code == 422
    assert "is not a time zone" in response.content.decode()


def test_midnight_rolls_over_and_written_dates_win(paste):
    paste("23:50 Paged\n00:10 Restarted\n2026-03-05 09:00 UTC Review", confirm=True)
    assert [e[0] for e in events()] == [at(23, 50), at(0, 10, day=3), at(9, 0, day=5)]


def test_at_most_500_events_at_a_time(paste):
    text = "\n".join(f"{n // 60 % 24:02d}:{n % 60:02d} event {n}" for n in range(501))
    response = paste(text)
    assert response.status_code == 422
    assert "Paste at most 500 events at a time" in response.content.decode()


def test_another_teams_member_cannot_paste(client, outsider, postmortem):
    client.force_login(outsider)
    url = reverse("postmortems:timeline_paste", args=[postmortem.incident.reference])
    assert client.post(url, {"text": "14:02 x", "confirm": "1"}, **HTMX).status_code == 404
    assert not TimelineEvent.objects.exists()
