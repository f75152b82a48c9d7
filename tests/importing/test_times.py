"""Times as people write them, read into UTC or refused with the reason; never guessed."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postmortems.importing.times import Clock, TimeRefused, read_date, read_time, zone_named

DAY = date(2026, 3, 2)


def at(hour, minute, second=0, day=2):
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("written", "utc", "rest"),
    [
        ("14:02 Jane acknowledged alert", at(14, 2), "Jane acknowledged alert"),
        ("2:02 PM Jane acknowledged alert", at(14, 2), "Jane acknowledged alert"),
        ("2:02pm x", at(14, 2), "x"),
        ("12:05 AM x", at(0, 5), "x"),
        ("12:05 PM x", at(12, 5), "x"),
        ("2:02 p.m. x", at(14, 2), "x"),
        ("14:02:33 x", at(14, 2, 33), "x"),
        ("[14:02] jane: restarting pods", at(14, 2), "jane: restarting pods"),
        ("[2:02 PM] x", at(14, 2), "x"),
        ("2026-03-04 14:02 x", at(14, 2, day=4), "x"),
        ("2026-03-04T14:02:00Z x", at(14, 2, day=4), "x"),
        ("14:02 UTC x", at(14, 2), "x"),
        ("14:02 Z x", at(14, 2), "x"),
        ("14:02 +02:00 x", at(12, 2), "x"),
        ("14:02 -0530 x", at(19, 32), "x"),
        ("14:02 PST Jane paged", at(22, 2), "Jane paged"),
        ("14:02 PDT x", at(21, 2), "x"),
        ("14:02 EST x", at(19, 2), "x"),
        ("14:02 EDT x", at(18, 2), "x"),
        ("14:02 CET x", at(13, 2), "x"),
        ("14:02 CEST x", at(12, 2), "x"),
        ("14:02 IST x", at(8, 32), "x"),
        ("14:02 DB team paged", at(14, 2), "DB team paged"),  # a word, not a zone
    ],
)
def test_times_are_read_into_utc(written, utc, rest):
    found = read_time(written, DAY)
    assert found.at == utc
    assert written[found.length :].strip(" ]") == rest


def test_the_original_and_the_zone_are_kept_for_the_preview():
    found = read_time("2:02 PM PST Jane paged", DAY)
    assert found.original == "2:02 PM PST"
    assert found.zone_note == "PST = Pacific Standard Time, UTC-08:00"


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("14:02 CST x", "CST is ambiguous"),
        ("14:02 BST x", "BST is ambiguous"),
        ("13:00 PM x", "13 does not go with PM"),
        ("25:00 x", "is not a time of day"),
        ("14:61 x", "is not a time of day"),
        ("2026-02-30 14:00 x", "2026-02-30 is not a date"),
    ],
)
def test_what_cannot_be_true_is_refused_with_the_reason(written, reason):
    with pytest.raises(TimeRefused, match=reason):
        read_time(written, DAY)


def test_a_line_without_a_leading_time_is_not_a_time():
    assert read_time("Jane at 14:02", DAY) is None
    assert read_time("no time here", DAY) is None


def test_a_paste_level_zone_applies_to_times_without_one():
    berlin = zone_named("Europe/Berlin")
    assert read_time("14:02 x", DAY, berlin).at == at(13, 2)
    assert read_time("14:02 UTC x", DAY, berlin).at == at(14, 2)  # a written zone wins
    summer = read_time("14:02 x", date(2026, 7, 1), berlin).at
    assert summer == datetime(2026, 7, 1, 12, 2, tzinfo=UTC)  # daylight saving, from zoneinfo
    with pytest.raises(TimeRefused, match="is not a time zone"):
        zone_named("Mars/Olympus")


def test_the_clock_rolls_over_midnight_and_follows_written_dates():
    clock = Clock(DAY)
    times = [
        clock.read(text).at for text in ("23:50 a", "00:10 b", "2026-03-05 09:00 c", "09:05 d")
    ]
    assert times == [at(23, 50), at(0, 10, day=3), at(9, 0, day=5), at(9, 5, day=5)]


@pytest.mark.parametrize(
    ("written", "day"),
    [
        ("2025-01-17", date(2025, 1, 17)),
        ("Jan 17, 2025", date(2025, 1, 17)),
        ("17 January 2025", date(2025, 1, 17)),
        ("January 17th, 2025", date(2025, 1, 17)),
        ("2025/01/17", date(2025, 1, 17)),
        ("17/01/2025", date(2025, 1, 17)),  # only one way to read it
        ("03/04/2025", None),  # March 4th or April 3rd: not guessed
        ("YYYY-MM-DD", None),
    ],
)
def test_dates_as_documents_write_them(written, day):
    assert read_date(written) == day


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
    ),
    st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: m - m % 15),
    st.sampled_from(["{t:%H:%M} {z}", "{t:%I:%M %p} {z}", "[{t:%H:%M:%S} {z}]"]),
)
def test_any_time_written_with_an_offset_reads_back_to_the_same_instant(moment, minutes, shape):
    moment = moment.replace(microsecond=0)
    if "%S" not in shape:
        moment = moment.replace(second=0)
    local = moment.astimezone(timezone(timedelta(minutes=minutes)))
    sign = "-" if minutes < 0 else "+"
    zone = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    written = shape.format(t=local, z=zone) + " event"
    assert read_time(written, local.date()).at == moment
