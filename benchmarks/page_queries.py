"""Queries and time per page as a document grows.

    DATABASE_URL=postgres://... python benchmarks/page_queries.py

Builds a throwaway test database, fills one postmortem with N rows in every list section
(timeline, five whys, factors, action items, comments), and prints for each page the number
of SQL queries and the median time of 20 requests through Django's test client. The numbers
of queries must not grow with N; the time shows what rendering costs.
"""

import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postmortems.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def build(rows):
    from django.contrib.auth import get_user_model

    from actionitems.models import ActionItem
    from incidents.models import Incident, Membership, Team, TimelineEvent
    from postmortems.models import Comment, ContributingFactor, FiveWhy, Postmortem

    team = Team.objects.create(name=f"Team {rows}", slug=f"team-{rows}")
    user = get_user_model().objects.create_user(f"bench{rows}", first_name="Bench")
    Membership.objects.create(team=team, user=user, role=Membership.Role.MANAGER)
    incident = Incident.objects.create(
        title="Benchmark", team=team, started_at=START, resolved_at=START + timedelta(hours=2)
    )
    postmortem = Postmortem.objects.create(
        incident=incident, root_cause="Leak", lessons_learned="x"
    )
    postmortem.authors.add(user)
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            incident=incident,
            occurred_at=START + timedelta(minutes=n),
            description=f"Event {n} **bold**",
        )
        for n in range(rows)
    )
    FiveWhy.objects.bulk_create(
        FiveWhy(postmortem=postmortem, question=f"Why {n}?", answer="Because") for n in range(rows)
    )
    ContributingFactor.objects.bulk_create(
        ContributingFactor(postmortem=postmortem, category="technical", description=f"Factor {n}")
        for n in range(rows)
    )
    ActionItem.objects.bulk_create(
        ActionItem(postmortem=postmortem, title=f"Item {n}", owner=user, position=n)
        for n in range(rows)
    )
    Comment.objects.bulk_create(
        Comment(postmortem=postmortem, section="root_cause", author=user, body=f"Comment {n}")
        for n in range(rows)
    )
    return user, incident


def measure(client, url, method="get", **kwargs):
    with CaptureQueriesContext(connection) as queries:
        getattr(client, method)(url, **kwargs)
    count = len(queries.captured_queries)  # read now: the next request resets the log
    timings = []
    for _ in range(20):
        began = time.perf_counter()
        getattr(client, method)(url, **kwargs)
        timings.append((time.perf_counter() - began) * 1000)
    return count, statistics.median(timings)


def main():
    # No setup_test_environment(): its template instrumentation would be measured too.
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.DEBUG = False
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print(f"database: {connection.vendor}")
        print(f"{'rows':>6} {'page':<28} {'queries':>8} {'median ms':>10}")
        for rows in (10, 100, 500):
            user, incident = build(rows)
            client = Client()
            client.force_login(user)
            ref = incident.reference
            pages = [
                ("incident + postmortem", f"/incidents/{ref}/", "get", {}),
                ("export.md", f"/incidents/{ref}/postmortem/export.md", "get", {}),
                ("incident list", "/incidents/", "get", {}),
                ("action item list", "/action-items/", "get", {}),
                ("my work", "/my-work/", "get", {}),
                (
                    "presence poll",
                    f"/incidents/{ref}/presence/",
                    "post",
                    {"data": {"seen": ["summary:0"]}, "HTTP_HX_REQUEST": "true"},
                ),
                (
                    "section fragment",
                    f"/incidents/{ref}/sections/root_cause/",
                    "get",
                    {"HTTP_HX_REQUEST": "true"},
                ),
            ]
            for name, url, method, kwargs in pages:
                count, ms = measure(client, url, method, **kwargs)
                print(f"{rows:>6} {name:<28} {count:>8} {ms:>10.1f}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
