from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from incidents.models import Incident
from postmortems.models import Postmortem, error_budget_minutes

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("slo", "minutes"),
    [("99.9", "43.2"), ("99.99", "4.32"), ("99.5", "216"), ("99", "432"), ("99.95", "21.6")],
)
def test_error_budget_over_thirty_days(slo, minutes):
    assert error_budget_minutes(Decimal(slo)) == Decimal(minutes)


def test_error_budget_over_another_period():
    assert error_budget_minutes(Decimal("99.9"), period=timedelta(days=7)) == Decimal("10.08")


def test_no_slo_no_budget():
    assert error_budget_minutes(None) is None


def postmortem_for(team, downtime_minutes, slo):
    incident = Incident.objects.create(
        title="Outage",
        team=team,
        started_at=START,
        resolved_at=START + timedelta(minutes=downtime_minutes)
        if downtime_minutes is not None
        else None,
    )
    return Postmortem.objects.create(incident=incident, slo_target=slo)


@pytest.mark.django_db
def test_sla_breached_when_downtime_exceeds_the_budget(team):
    within = postmortem_for(team, 30, Decimal("99.9"))
    assert within.sla_breached is False
    assert within.error_budget_consumed_percent.quantize(Decimal("0.1")) == Decimal("69.4")

    beyond = postmortem_for(team, 154, Decimal("99.9"))
    assert beyond.sla_breached is True

    exactly = postmortem_for(team, 216, Decimal("99.5"))
    assert exactly.sla_breached is False


@pytest.mark.django_db
def test_sla_unknown_without_slo_or_without_resolution(team):
    assert postmortem_for(team, 30, None).sla_breached is None
    assert postmortem_for(team, None, Decimal("99.9")).sla_breached is None
