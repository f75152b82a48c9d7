"""The dashboard's SQL agrees with the app's Python: percentiles with percentile_cont, the
response times with what each incident's page shows (incidents.models)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.models import Incident, TimelineEvent
from insights.sql import Minutes, percentile_cont
from tests.conftest import skip_or_fail

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
DB_EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def test_percentile_cont_interpolates_between_the_nearest_values():
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([7.0], 0.9) == 7.0
    assert percentile_cont([120.0, 180.0], 0.5) == 150.0
    assert percentile_cont([120.0, 180.0], 0.9) == pytest.approx(174.0)
    assert percentile_cont([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5


@pytest.mark.postgres
@pytest.mark.django_db
@DB_EXAMPLES
@given(
    values=st.lists(
        st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=30
    ),
    fraction=st.sampled_from([0.0, 0.25, 0.5, 0.9, 1.0]),
)
def test_percentile_cont_is_postgresqls(values, fraction):
    if connection.vendor != "postgresql":
        skip_or_fail("compares with PostgreSQL's percentile_cont")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(%s) WITHIN GROUP (ORDER BY x) FROM unnest(%s::float8[]) x",
            [fraction, values],
        )
        (expected,) = cursor.fetchone()
    assert percentile_cont(values, fraction) == pytest.approx(expected, rel=1e-9, abs=1e-9)


minutes = st.integers(min_value=-30, max_value=600)


@pytest.mark.django_db
@DB_EXAMPLES
@given(
    recorded=st.fixed_dictionaries(
        {
            name: st.none() | minutes.filter(lambda m: m >= 0)
            for name in Incident.MILESTONE_EVENT_KINDS
        }
    ),
    events=st.lists(
        st.tuples(
            st.sampled_from(["alert", "acknowledge", "mitigation", "resolution", "other"]), minutes
        ),
        max_size=6,
    ),
)
def test_milestones_and_minutes_in_sql_are_what_the_incident_page_shows(team, recorded, events):
    incident = Incident.objects.create(
        title="x",
        team=team,
        started_at=START,
        **{
            name: START + timedelta(minutes=m) if m is not None else None
            for name, m in recorded.items()
        },
    )
    for kind, offset in events:
        TimelineEvent.objects.create(
            incident=incident,
            occurred_at=START + timedelta(minutes=offset),
            kind=kind,
            description="e",
        )
    row = (
        Incident.objects.filter(pk=incident.pk)
        .with_milestones()
        .annotate(
            ttd=Minutes("detected_time", "started_at"),
            tta=Minutes("acknowledged_time", "detected_time"),
            ttr=Minutes("resolved_time", "detected_time"),
            impact=Minutes("resolved_time", "started_at"),
        )
        .get()
    )
    page = Incident.objects.prefetch_related("timeline_events").get(pk=incident.pk)
    assert row.detected_time == page.detected
    assert row.acknowledged_time == page.acknowledged
    assert row.resolved_time == page.resolved

    for sql, python in [
        (row.ttd, page.time_to_detect),
        (row.tta, page.time_to_acknowledge),
        (row.ttr, page.time_to_resolve),
        (row.impact, page.duration),
    ]:
        if python is None:
            assert sql is None
        else:
            assert sql == pytest.approx(python.total_seconds() / 60)
    incident.delete()
