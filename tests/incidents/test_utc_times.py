"""Date-times are typed in UTC on a 24-hour clock, in every form: the incident form, the
document's time fields and timeline rows, the review meeting."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from incidents.models import Incident, TimelineEvent
from incidents.utctime import HTML_PATTERN, NotAUtcTime, format_utc, parse_utc
from tests.conftest import HTMX

AT = datetime(2026, 11, 29, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-11-29 14:30", AT),
        ("2026-11-29T14:30", AT),
        ("2026-11-29t14:30", AT),
        ("  2026-11-29   14:30  ", AT),
        ("2026-11-29 14:30:45", AT.replace(second=45)),
        ("2026-11-29T14:30:45.250", AT.replace(second=45)),
        ("2026-11-29 14:30Z", AT),
        ("2026-11-29T14:30:00Z", AT),
        ("2026-11-29 14:30 UTC", AT),
        ("2026-11-29 14:30 utc", AT),
        ("2026-11-29 14:30+00:00", AT),
        ("2026-1-5 9:05", datetime(2026, 1, 5, 9, 5, tzinfo=UTC)),
        ("2026-11-29 00:00", datetime(2026, 11, 29, 0, 0, tzinfo=UTC)),
        ("2026-11-29 23:59", datetime(2026, 11, 29, 23, 59, tzinfo=UTC)),
    ],
)
def test_the_accepted_spellings(text, expected):
    assert parse_utc(text) == expected
    assert parse_utc(text).tzinfo is UTC
    # The browser's pattern check lets through what the server accepts.
    assert re.fullmatch(HTML_PATTERN, text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2026-11-29",  # no time
        "14:30",  # no date
        "2026-11-29 2:30 PM",  # a 12-hour clock is not guessed
        "11/29/2026 14:30",
        "2026-11-29 14:30 PST",  # another zone is refused, not silently taken as UTC
        "2026-11-29 14:30+02:00",
        "2026-11-29 24:00",
        "2026-11-29 14:60",
        "2026-02-30 10:00",
    ],
)
def test_anything_else_is_refused_with_the_format(text):
    if not re.search(r"2[4-9]:|:[6-9]\d|02-30", text):  # in range is the server's to check
        assert not re.fullmatch(HTML_PATTERN, text)
    with pytest.raises(NotAUtcTime, match="YYYY-MM-DD HH:MM"):
        parse_utc(text)


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31)))
def test_what_an_input_shows_reads_back_as_the_same_time(moment):
    moment = moment.replace(microsecond=0, tzinfo=UTC)
    assert parse_utc(format_utc(moment)) == moment


def test_a_stored_time_in_another_zone_is_shown_in_utc():
    from datetime import timezone

    berlin = datetime(2026, 11, 29, 15, 30, tzinfo=timezone(timedelta(hours=1)))
    assert format_utc(berlin) == "2026-11-29 14:30"


def declare(client, team, **fields):
    data = {
        "title": "Checkout failing",
        "severity": "SEV1",
        "status": "investigating",
        "team": team.pk,
        "started_at": "2026-03-02 14:00",
        "template": "full",
        **fields,
    }
    return client.post(reverse("incidents:create"), data)


def utc_inputs(body):
    return re.findall(r'<input[^>]*class="utc-datetime"[^>]*>', body)


@pytest.mark.django_db
def test_the_incident_form_asks_for_utc_on_a_24_hour_clock(author_client, team):
    body = author_client.get(reverse("incidents:create")).content.decode()
    assert "datetime-local" not in body
    inputs = utc_inputs(body)
    assert len(inputs) == 6  # started, detected, acknowledged, mitigated, resolved, all clear
    for tag in inputs:
        assert 'type="text"' in tag
        assert 'placeholder="YYYY-MM-DD HH:MM"' in tag
        assert "pattern=" in tag
    assert body.count('<abbr class="utc-suffix"') == 6


@pytest.mark.django_db
@pytest.mark.parametrize(
    "typed",
    ["2026-03-02 14:00", "2026-03-02T14:00", "2026-03-02 14:00:00Z", "2026-03-02 14:00 UTC"],
)
def test_declaring_reads_each_spelling_as_utc(author_client, team, typed):
    response = declare(author_client, team, started_at=typed, detected_at="2026-03-02 14:03:30")
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert incident.started_at == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert incident.detected_at == datetime(2026, 3, 2, 14, 3, 30, tzinfo=UTC)


@pytest.mark.django_db
def test_a_12_hour_time_comes_back_422_with_what_was_typed(author_client, team):
    response = declare(author_client, team, started_at="2026-03-02 2:00 PM")
    body = response.content.decode()
    assert response.status_code == 422
    assert "Enter a date and time in UTC as YYYY-MM-DD HH:MM (24-hour clock)." in body
    assert 'value="2026-03-02 2:00 PM"' in body
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_the_document_shows_its_times_in_utc_24_hour(author_client, postmortem):
    incident = postmortem.incident
    url = reverse("postmortems:section", args=[incident.reference, "incident_times"])
    body = author_client.get(url + "?edit=1", **HTMX).content.decode()
    assert 'value="2026-03-02 14:00"' in body  # started
    assert 'value="2026-03-02 14:30"' in body  # resolved
    assert "datetime-local" not in body
    saved = author_client.post(
        url,
        {"version": 0, "started_at": "2026-03-02 14:00", "detected_at": "2026-03-02 16:04Z",
         "resolved_at": "2026-03-02T17:00"},
        **HTMX,
    )  # fmt: skip
    assert saved.status_code == 200
    incident.refresh_from_db()
    assert incident.detected_at == datetime(2026, 3, 2, 16, 4, tzinfo=UTC)


@pytest.mark.django_db
def test_a_timeline_row_takes_a_utc_time_and_refuses_a_12_hour_one(author_client, postmortem):
    incident = postmortem.incident
    url = reverse("postmortems:row_new", args=[incident.reference, "timeline"])
    bad = author_client.post(
        url,
        {"version": 0, "occurred_at": "2026-03-02 2:05 PM", "kind": "alert", "description": "x"},
        **HTMX,
    )
    assert bad.status_code == 422
    assert 'value="2026-03-02 2:05 PM"' in bad.content.decode()
    good = author_client.post(
        url,
        {"version": 0, "occurred_at": "2026-03-02 14:05", "kind": "alert", "description": "x"},
        **HTMX,
    )
    assert good.status_code == 200
    assert TimelineEvent.objects.get().occurred_at == datetime(2026, 3, 2, 14, 5, tzinfo=UTC)


@pytest.mark.django_db
def test_the_review_meeting_is_a_utc_input_too(author_client, postmortem):
    url = reverse("postmortems:section", args=[postmortem.incident.reference, "review_schedule"])
    body = author_client.get(url + "?edit=1", **HTMX).content.decode()
    assert len(utc_inputs(body)) == 1
    saved = author_client.post(
        url, {"version": 0, "review_meeting_at": "2026-03-05 09:30", "next_review_on": ""}, **HTMX
    )
    assert saved.status_code == 200
    postmortem.refresh_from_db()
    assert postmortem.review_meeting_at == datetime(2026, 3, 5, 9, 30, tzinfo=UTC)
