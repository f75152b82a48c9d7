"""Each team's cadence and each person's clock: how often, how early, and never at night."""

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from hypothesis import given
from hypothesis import strategies as st

from actionitems.cadence import DAILY, EVERY_N_DAYS, WEEKDAYS, Cadence, awake, weekday_number
from actionitems.models import ActionItem, EmailPreference, TeamFollowUpSettings
from actionitems.tasks import run_sweeps, sweep_weekly_digests
from postmortems.models import Postmortem

NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)  # Thursday
DUE = date(2026, 3, 11)


# The rules, on plain dates.


def reminder_days(cadence, due, first, last):
    """The days (from first to last) an overdue reminder is owed, one per distinct period."""
    seen, days = set(), []
    day = first
    while day <= last:
        period = cadence.overdue_period(due, day)
        if period is not None and period not in seen:
            seen.add(period)
            days.append(day)
        day += timedelta(days=1)
    return days


def test_daily_reminders_start_the_day_after_the_due_date():
    days = reminder_days(Cadence(), DUE, DUE - timedelta(days=3), DUE + timedelta(days=4))
    assert days == [DUE + timedelta(days=n) for n in range(1, 5)]


def test_every_three_days():
    cadence = Cadence(reminder=EVERY_N_DAYS, every_days=3)
    days = reminder_days(cadence, DUE, DUE, DUE + timedelta(days=10))
    assert days == [date(2026, 3, 12), date(2026, 3, 15), date(2026, 3, 18), date(2026, 3, 21)]


def test_weekdays_only():
    days = reminder_days(Cadence(reminder=WEEKDAYS), DUE, DUE, date(2026, 3, 18))
    assert [d.strftime("%a") for d in days] == ["Thu", "Fri", "Mon", "Tue", "Wed"]


@given(
    reminder=st.sampled_from([DAILY, EVERY_N_DAYS, WEEKDAYS]),
    every=st.integers(min_value=2, max_value=30),
    due=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    span=st.integers(min_value=0, max_value=90),
)
def test_reminders_never_come_before_the_item_is_late_and_never_twice_a_day(
    reminder, every, due, span
):
    cadence = Cadence(reminder=reminder, every_days=every if reminder == EVERY_N_DAYS else 1)
    last = due + timedelta(days=span)
    days = reminder_days(cadence, due, due - timedelta(days=5), last)
    assert all(day > due for day in days)
    assert len(days) == len(set(days))
    late_days = span  # the days after the due date up to `last`
    if reminder == DAILY:
        assert len(days) == late_days
    elif reminder == EVERY_N_DAYS:
        assert len(days) == -(-late_days // every)  # ceil
        assert all((b - a).days == every for a, b in pairwise(days))
    else:
        assert all(day.weekday() < 5 for day in days)


def test_escalation_heads_up_and_digest_rules():
    cadence = Cadence(escalate_after_days=3, heads_up_days=5, digest_weekday=4, digest_hour=16)
    assert not cadence.escalates(DUE, DUE + timedelta(days=2))
    assert cadence.escalates(DUE, DUE + timedelta(days=3))
    assert cadence.heads_up(DUE, DUE - timedelta(days=5)) and cadence.heads_up(DUE, DUE)
    assert not cadence.heads_up(DUE, DUE - timedelta(days=6))
    assert not Cadence(heads_up_days=0).heads_up(DUE, DUE)
    friday = datetime(2026, 3, 13, 15, 59)
    assert cadence.digest_week(friday) is None
    assert cadence.digest_week(friday.replace(hour=16)) == "2026-W11"
    assert cadence.digest_week(datetime(2026, 3, 15, 23, 0)) == "2026-W11"  # caught up Sunday
    assert cadence.digest_week(datetime(2026, 3, 16, 9, 0)) is None  # next week, not yet


def test_day_names_as_the_environment_gives_them():
    assert [weekday_number(v) for v in ("mon", "Sunday", "1", "0", "7", 3)] == [0, 6, 0, 6, 6, 2]
    with pytest.raises(ValueError):
        weekday_number("someday")


def test_working_hours_on_the_persons_clock():
    assert not awake(datetime(2026, 3, 12, 7, 59), (8, 18))
    assert awake(datetime(2026, 3, 12, 8, 0), (8, 18))
    assert not awake(datetime(2026, 3, 12, 18, 0), (8, 18))


# The sweeps, with team settings and time zones.


@pytest.fixture
def postmortem(postmortem):
    postmortem.status = Postmortem.Status.PUBLISHED
    postmortem.save()
    return postmortem


def hourly(hours, start=datetime(2026, 3, 12, 0, 0, tzinfo=UTC)):
    return [start + timedelta(hours=hour) for hour in range(hours)]


def daily(days, start=NOW):
    return [start + timedelta(days=day) for day in range(days)]


def sends_over(moments, task=run_sweeps):
    """Run the sweep at each moment; return (moment, recipient) of each email."""
    sent = []
    for moment in moments:
        mail.outbox.clear()
        with time_machine.travel(moment, tick=False):
            task()
        sent += [(moment, message.to[0]) for message in mail.outbox]
    return sent


@pytest.mark.django_db
def test_nobody_is_reminded_at_night_on_their_own_clock(postmortem, make_user, team, settings):
    settings.REMINDER_HOURS = (8, 18)  # production's default
    zones = ["UTC", "Asia/Tokyo", "America/Los_Angeles", "Australia/Adelaide", "Pacific/Kiritimati"]
    owners = {}
    for n, zone in enumerate(zones):
        owner = make_user(f"owner{n}", team)
        EmailPreference.objects.create(user=owner, timezone=zone)
        ActionItem.objects.create(postmortem=postmortem, title=f"Item {n}", owner=owner,
                                  due_date=date(2026, 3, 10))  # fmt: skip
        owners[owner.email] = ZoneInfo(zone)
    sent = sends_over(hourly(48))
    for address, zone in owners.items():
        local = [moment.astimezone(zone) for moment, to in sent if to == address]
        assert all(8 <= moment.hour < 18 for moment in local), (address, local)
        # The first sweep of each day of theirs, at 08:00 (or when the sweeps began).
        assert all(moment.hour == 8 for moment in local[1:]), (address, local)
        days = [moment.date() for moment in local]
        assert len(days) == len(set(days)) >= 2  # one a day, every day


@pytest.mark.django_db
def test_a_team_reminding_every_three_days_on_weekdays_is_obeyed(postmortem, author, team):
    TeamFollowUpSettings.objects.create(team=team, reminder_cadence=EVERY_N_DAYS,
                                        reminder_every_days=3)  # fmt: skip
    ActionItem.objects.create(postmortem=postmortem, title="Rotate keys", owner=author,
                              due_date=DUE)  # fmt: skip
    days = [moment.date() for moment, _ in sends_over(daily(8))]
    assert days == [date(2026, 3, 12), date(2026, 3, 15), date(2026, 3, 18)]

    TeamFollowUpSettings.objects.filter(team=team).update(reminder_cadence=WEEKDAYS)
    days = [moment.date() for moment, _ in sends_over(daily(5, start=NOW + timedelta(days=8)))]
    assert [d.strftime("%a %d") for d in days] == ["Fri 20", "Mon 23", "Tue 24"]


@pytest.mark.django_db
def test_heads_up_and_escalation_days_come_from_the_team(postmortem, author, manager, team):
    TeamFollowUpSettings.objects.create(team=team, heads_up_days=5, escalate_after_days=2)
    ActionItem.objects.create(postmortem=postmortem, title="Soon", owner=author,
                              due_date=date(2026, 3, 17))  # fmt: skip
    ActionItem.objects.create(postmortem=postmortem, title="Late", owner=author,
                              due_date=date(2026, 3, 10))  # fmt: skip
    mail.outbox.clear()
    with time_machine.travel(NOW, tick=False):
        run_sweeps()
    got = sorted((m.to[0], m.subject.split(" (")[0]) for m in mail.outbox)
    assert got == [
        ("jane@example.com", "Action item: Late"),
        ("jane@example.com", "Action item: Soon"),  # 5 days ahead
        ("sarah@example.com", "Action item: Late"),  # 2 days overdue: escalated
    ]


@pytest.mark.django_db
def test_the_digest_comes_on_the_teams_day_and_hour_on_each_managers_clock(
    postmortem, author, manager, make_user, team
):
    from incidents.models import Membership

    other = make_user("ana", team, role=Membership.Role.MANAGER)
    EmailPreference.objects.create(user=other, timezone="America/New_York")
    TeamFollowUpSettings.objects.create(team=team, digest_weekday=4, digest_hour=16)  # Friday
    ActionItem.objects.create(postmortem=postmortem, title="Late", owner=author, due_date=DUE)
    week = [*daily(4, start=datetime(2026, 3, 9, 16, tzinfo=UTC)),  # Monday to Thursday
            *hourly(36, start=datetime(2026, 3, 13, tzinfo=UTC)),  # Friday hour by hour
            *daily(2, start=datetime(2026, 3, 14, 12, tzinfo=UTC))]  # fmt: skip
    sent = sends_over(week, task=sweep_weekly_digests)
    assert sent == [
        (datetime(2026, 3, 13, 16, 0, tzinfo=UTC), "sarah@example.com"),
        (datetime(2026, 3, 13, 20, 0, tzinfo=UTC), "ana@example.com"),  # 16:00 in New York
    ]


@pytest.mark.django_db
def test_members_may_turn_off_their_overdue_reminders_only_where_allowed(postmortem, author, team):
    EmailPreference.objects.create(user=author, overdue_reminders=False)
    ActionItem.objects.create(postmortem=postmortem, title="Late", owner=author, due_date=DUE)
    assert len(sends_over([NOW])) == 1  # the team keeps them on
    TeamFollowUpSettings.objects.create(team=team, members_may_mute_overdue=True)
    assert sends_over([NOW + timedelta(days=1)]) == []


# The team's settings page.


@pytest.mark.django_db
def test_a_manager_sets_the_teams_cadence(client, manager, team):
    client.force_login(manager)
    url = f"/action-items/teams/{team.slug}/email/"
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'value="daily" selected' in body or "selected>Every day" in body
    assert '<label for="id_digest_hour">' in body

    data = {"reminder_cadence": "every_n_days", "reminder_every_days": "1", "heads_up_days": "3",
            "escalate_after_days": "10", "digest_weekday": "4", "digest_hour": "25"}  # fmt: skip
    bad = client.post(url, data)
    assert bad.status_code == 422
    assert "Ensure this value is greater than or equal to 2." in bad.content.decode()
    assert 'value="25"' in bad.content.decode()  # the input is kept
    assert not TeamFollowUpSettings.objects.exists()

    saved = client.post(url, {**data, "reminder_every_days": "3", "digest_hour": "16"})
    assert saved.status_code == 302
    chosen = TeamFollowUpSettings.objects.get(team=team)
    assert chosen.cadence() == Cadence(
        reminder=EVERY_N_DAYS, every_days=3, heads_up_days=3, escalate_after_days=10,
        digest_weekday=4, digest_hour=16,
    )  # fmt: skip
    assert chosen.updated_by == manager


@pytest.mark.django_db
def test_only_the_teams_managers_change_its_cadence(client, author, outsider, team):
    url = f"/action-items/teams/{team.slug}/email/"
    client.force_login(author)
    assert client.get(url).status_code == 403
    assert client.post(url, {"reminder_cadence": "weekdays"}).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert not TeamFollowUpSettings.objects.exists()
