"""Response metrics are derived from the incident's times, falling back to the timeline."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from incidents.models import Incident, TimelineEvent

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
K = TimelineEvent.Kind


def minutes(n):
    return timedelta(minutes=n)


def make_incident(team, **times):
    return Incident.objects.create(title="Outage", team=team, started_at=START, **times)


def add_event(incident, at, kind, description="event"):
    return TimelineEvent.objects.create(
        incident=incident, occurred_at=at, kind=kind, description=description
    )


def fresh(incident):
    """Reload, so cached timeline lookups do not hide what the database holds."""
    return Incident.objects.get(pk=incident.pk)


@pytest.mark.django_db
def test_metrics_from_the_incident_times(team):
    incident = make_incident(
        team,
        detected_at=START + minutes(1),
        acknowledged_at=START + minutes(3),
        mitigated_at=START + minutes(15),
        resolved_at=START + minutes(30),
    )
    assert incident.time_to_detect == minutes(1)
    assert incident.time_to_acknowledge == minutes(2)  # from detection, not from start
    assert incident.time_to_mitigate == minutes(15)
    assert incident.time_to_resolve == minutes(29)  # from detection: the response
    assert incident.duration == minutes(30)  # from the start: what users lived through


@pytest.mark.django_db
def test_missing_times_fall_back_to_timeline_events_of_the_matching_kind(team):
    incident = make_incident(team)
    add_event(incident, START + minutes(2), K.ALERT)
    add_event(incident, START + minutes(4), K.PAGE)  # a page is not an acknowledgement
    add_event(incident, START + minutes(5), K.ACKNOWLEDGE)
    add_event(incident, START + minutes(20), K.MITIGATION)
    add_event(incident, START + minutes(45), K.RESOLUTION)
    incident = fresh(incident)
    assert incident.time_to_detect == minutes(2)
    assert incident.time_to_acknowledge == minutes(3)
    assert incident.time_to_mitigate == minutes(20)
    assert incident.time_to_resolve == minutes(43)
    assert incident.duration == minutes(45)


@pytest.mark.django_db
def test_recorded_times_win_over_the_timeline(team):
    incident = make_incident(team, detected_at=START + minutes(1))
    add_event(incident, START + minutes(9), K.ALERT)
    assert fresh(incident).time_to_detect == minutes(1)


@pytest.mark.django_db
def test_events_entered_out_of_order_use_the_earliest_of_each_kind(team):
    incident = make_incident(team)
    add_event(incident, START + minutes(30), K.ALERT, "second alert, written down first")
    add_event(incident, START + minutes(50), K.RESOLUTION, "declared resolved")
    add_event(incident, START + minutes(7), K.ALERT, "first alert, added later")
    add_event(incident, START + minutes(40), K.RESOLUTION, "first resolution")
    incident = fresh(incident)
    assert incident.time_to_detect == minutes(7)
    assert incident.duration == minutes(40)
    assert [e.description for e in incident.timeline_events.all()] == [
        "first alert, added later",
        "second alert, written down first",
        "first resolution",
        "declared resolved",
    ]


@pytest.mark.django_db
def test_missing_milestones_give_no_metric(team):
    incident = make_incident(team)
    assert incident.duration is None
    assert incident.time_to_detect is None
    assert incident.time_to_acknowledge is None
    assert incident.time_to_mitigate is None
    assert incident.time_to_resolve is None
    # Acknowledged but never detected: time to acknowledge needs both ends.
    incident = make_incident(team, acknowledged_at=START + minutes(4))
    assert incident.time_to_acknowledge is None


@pytest.mark.django_db
def test_an_event_before_the_start_gives_no_negative_metric(team):
    incident = make_incident(team)
    add_event(incident, START - minutes(5), K.ALERT, "alert fired before users noticed")
    assert fresh(incident).time_to_detect is None


@pytest.mark.django_db
def test_times_in_other_timezones_are_compared_as_instants(team):
    new_york = timezone(timedelta(hours=-5))
    kolkata = timezone(timedelta(hours=5, minutes=30))
    incident = Incident.objects.create(
        title="Cross-timezone outage",
        team=team,
        started_at=datetime(2026, 3, 2, 9, 0, tzinfo=new_york),  # 14:00 UTC
        detected_at=datetime(2026, 3, 2, 19, 40, tzinfo=kolkata),  # 14:10 UTC
        resolved_at=datetime(2026, 3, 2, 15, 15, tzinfo=UTC),
    )
    incident = fresh(incident)
    assert incident.started_at == START
    assert incident.time_to_detect == minutes(10)
    assert incident.duration == minutes(75)


@pytest.mark.django_db
def test_an_incident_across_midnight(team):
    incident = make_incident(team, resolved_at=START + timedelta(hours=11, minutes=5))
    assert incident.duration == timedelta(hours=11, minutes=5)


@pytest.mark.django_db
def test_clean_refuses_times_before_the_start_and_resolved_without_time(team):
    incident = Incident(
        title="Bad times",
        team=team,
        started_at=START,
        detected_at=START - minutes(1),
        mitigated_at=START + minutes(20),
        resolved_at=START + minutes(10),
    )
    with pytest.raises(ValidationError) as error:
        incident.full_clean()
    assert "detected_at" in error.value.message_dict
    assert "resolved before it was mitigated" in str(error.value.message_dict["resolved_at"])

    unresolved = Incident(
        title="No end", team=team, started_at=START, status=Incident.Status.RESOLVED
    )
    with pytest.raises(ValidationError) as error:
        unresolved.full_clean()
    assert "needs the time it was resolved" in str(error.value.message_dict["resolved_at"])


@pytest.mark.django_db
def test_the_database_refuses_a_resolution_before_the_start(team):
    with pytest.raises(IntegrityError):
        make_incident(team, resolved_at=START - minutes(1))


@pytest.mark.django_db
def test_references_are_numbered_per_year_of_the_start(team):
    first = make_incident(team)
    second = make_incident(team)
    next_year = Incident.objects.create(
        title="New year", team=team, started_at=datetime(2027, 1, 1, 0, 5, tzinfo=UTC)
    )
    assert first.reference == "INC-2026-0001"
    assert second.reference == "INC-2026-0002"
    assert next_year.reference == "INC-2027-0001"
    assert Incident.objects.with_reference("INC-2026-0002").get() == second
    assert not Incident.objects.with_reference("INC-2026-2").exists()
    assert not Incident.objects.with_reference("nonsense").exists()


@pytest.mark.django_db
def test_a_taken_number_is_skipped_not_duplicated(team, monkeypatch):
    make_incident(team)
    # Simulate a concurrent writer that read the same "last number" before we saved.
    real_filter = Incident.objects.filter
    calls = {"n": 0}

    def stale_filter(*args, **kwargs):
        queryset = real_filter(*args, **kwargs)
        if kwargs == {"year": 2026} and calls["n"] == 0:
            calls["n"] += 1
            return real_filter(pk=-1)  # "no incidents yet this year": picks number 1 again
        return queryset

    monkeypatch.setattr(Incident.objects, "filter", stale_filter)
    second = make_incident(team)
    assert second.reference == "INC-2026-0002"
    assert calls["n"] == 1


@pytest.mark.django_db
def test_duration_and_time_to_resolve_measure_different_spans(team):
    """Duration is what users lived through (from the start); time to resolve is the response
    once someone knew (from the first alert). They differ by the time to detect."""
    incident = make_incident(team, detected_at=START + minutes(12), resolved_at=START + minutes(50))
    assert incident.duration == minutes(50)
    assert incident.time_to_resolve == minutes(38)
    assert incident.duration == incident.time_to_detect + incident.time_to_resolve
    # Never detected (no time, no alert event): no time to resolve, the duration still stands.
    undetected = make_incident(team, resolved_at=START + minutes(50))
    assert fresh(undetected).time_to_resolve is None
    assert fresh(undetected).duration == minutes(50)


@pytest.mark.django_db
def test_the_page_says_how_each_span_is_measured(author_client, postmortem):
    from django.core.cache import cache
    from django.urls import reverse

    incident = postmortem.incident
    Incident.objects.filter(pk=incident.pk).update(detected_at=START + minutes(10))
    url = reverse("postmortems:section", args=[incident.reference, "incident_times"])
    body = author_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert '<dfn title="How long users were affected: start → resolved.">Duration</dfn>' in body
    assert '<dfn title="first alert → resolved">Time to resolve</dfn>' in body
    assert "<dd>30 min</dd>" in body and "<dd>20 min</dd>" in body
    assert "are equal here" not in body
    Incident.objects.filter(pk=incident.pk).update(detected_at=START)
    cache.clear()  # the section's markup is cached by version; update() bumped none
    body = author_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Duration and time to resolve are equal here" in body
