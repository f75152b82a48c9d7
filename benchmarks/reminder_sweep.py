"""The follow-up sweep against 100,000 action items in PostgreSQL.

    DATABASE_URL=postgres://... python benchmarks/reminder_sweep.py [items]

Builds a throwaway test database, creates the action items across 1,000 postmortems and 200
owners (a third overdue, a tenth due within two days, the rest later or done), then runs the
daily sweep twice, a minute apart (the second finds everything recorded and queues nothing),
and prints wall time and SQL queries of each; then again with the owners spread over eight
time zones (reminders wait for 08:00 on each clock) and half the teams on a cadence of their
own. Queueing is stubbed: this measures deciding and recording. Sending is measured apart,
for 500 emails through Django's in-memory backend.
"""

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postmortems.settings")

import django

django.setup()

import time_machine  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)


def build(items):
    from django.contrib.auth import get_user_model

    from actionitems.models import ActionItem
    from incidents.models import Incident, Membership, Team
    from postmortems.models import Postmortem

    User = get_user_model()
    teams = Team.objects.bulk_create(Team(name=f"Team {n}", slug=f"team-{n}") for n in range(20))
    owners = User.objects.bulk_create(
        User(username=f"owner{n}", email=f"owner{n}@example.com") for n in range(200)
    )
    Membership.objects.bulk_create(
        Membership(team=teams[n % 20], user=owner, role="manager" if n < 20 else "member")
        for n, owner in enumerate(owners)
    )
    incidents = [
        Incident(title=f"Incident {n}", team=teams[n % 20], year=2026, number=n + 1,
                 started_at=NOW - timedelta(days=60), resolved_at=NOW - timedelta(days=59))
        for n in range(1000)
    ]  # fmt: skip
    incidents = Incident.objects.bulk_create(incidents)
    postmortems = Postmortem.objects.bulk_create(
        Postmortem(incident=incident, status="published") for incident in incidents
    )
    today = NOW.date()

    def due(n):
        if n % 3 == 0:
            return today - timedelta(days=1 + n % 20)  # overdue, some past escalation
        if n % 10 == 1:
            return today + timedelta(days=n % 3)  # due soon
        return today + timedelta(days=30)

    batch = []
    for n in range(items):
        done = n % 7 == 6
        batch.append(
            ActionItem(
                postmortem=postmortems[n % 1000],
                title=f"Item {n}",
                owner=owners[n % 200],
                due_date=due(n),
                status="done" if done else "open",
                completed_at=NOW if done else None,
                position=n,
            )
        )
        if len(batch) == 5000:
            ActionItem.objects.bulk_create(batch)
            batch = []
    ActionItem.objects.bulk_create(batch)


def spread_clocks():
    """Owners in eight time zones and half the teams with a cadence of their own."""
    from django.contrib.auth import get_user_model

    from actionitems.models import EmailPreference, Notification, TeamFollowUpSettings
    from incidents.models import Team

    zones = ["UTC", "Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney",
             "America/New_York", "America/Los_Angeles", "Pacific/Auckland"]  # fmt: skip
    users = get_user_model().objects.order_by("pk")
    EmailPreference.objects.bulk_create(
        EmailPreference(user=user, timezone=zones[n % len(zones)]) for n, user in enumerate(users)
    )
    cadences = [
        {"reminder_cadence": "weekdays"},
        {"reminder_cadence": "every_n_days", "reminder_every_days": 3},
        {"heads_up_days": 5, "escalate_after_days": 3},
    ]
    TeamFollowUpSettings.objects.bulk_create(
        TeamFollowUpSettings(team=team, **cadences[n % len(cadences)])
        for n, team in enumerate(Team.objects.order_by("pk")[:10])
    )
    Notification.objects.all().delete()


def timed_sweep(at):
    from actionitems.tasks import run_sweeps

    with (
        time_machine.travel(at, tick=True),
        mock.patch("actionitems.tasks.send_notification.delay"),
        CaptureQueriesContext(connection) as queries,
    ):
        began = time.perf_counter()
        result = run_sweeps()
        elapsed = time.perf_counter() - began
    return result, elapsed, len(queries.captured_queries)


def timed_sending(count):
    from actionitems.models import Notification
    from actionitems.tasks import send_notification
    from postmortems.celery import app

    app.conf.task_always_eager = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ids = list(Notification.objects.filter(status="pending").values_list("pk", flat=True)[:count])
    with time_machine.travel(NOW, tick=True), CaptureQueriesContext(connection) as queries:
        began = time.perf_counter()
        for pk in ids:
            send_notification(pk)
        elapsed = time.perf_counter() - began
    return len(ids), elapsed, len(queries.captured_queries)


def main():
    items = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    settings.DEBUG = False
    settings.REMINDER_HOURS = (8, 18)  # production's working hours on each owner's clock
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
        for size in (1_000, items):
            from actionitems.models import ActionItem, Notification

            Notification.objects.all().delete()
            ActionItem.objects.all().delete()
            began = time.perf_counter()
            if size == 1_000:
                build(size)
            else:
                from incidents.models import Incident, Team

                Incident.objects.all().delete()
                Team.objects.all().delete()
                from django.contrib.auth import get_user_model

                get_user_model().objects.all().delete()
                build(size)
            print(f"\n{size:,} action items created in {time.perf_counter() - began:.1f} s")
            for label, at in (("first sweep", NOW), ("a minute later", NOW + timedelta(minutes=1))):
                result, elapsed, queries = timed_sweep(at)
                print(
                    f"{label:>15}: {elapsed:6.2f} s, {queries:4} queries, "
                    f"{result['owed']:,} reminders owed, {result['queued']:,} queued to send"
                )
        spread_clocks()
        print("\nthe same, owners in 8 time zones, 10 teams with a cadence of their own:")
        for label, at in (("first sweep", NOW), ("a minute later", NOW + timedelta(minutes=1))):
            result, elapsed, queries = timed_sweep(at)
            print(
                f"{label:>15}: {elapsed:6.2f} s, {queries:4} queries, "
                f"{result['owed']:,} reminders owed, {result['queued']:,} queued to send"
            )
        sent, elapsed, queries = timed_sending(500)
        print(
            f"\nsending: {sent} emails in {elapsed:.2f} s "
            f"({elapsed / sent * 1000:.1f} ms and {queries / sent:.0f} queries each)"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
