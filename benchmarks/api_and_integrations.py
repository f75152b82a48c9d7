"""Numbers for the API and the integrations.

    DATABASE_URL=postgres://... python benchmarks/api_and_integrations.py

Builds a throwaway test database and prints:
- queries and median time of the API's lists as they grow (the queries must not grow);
- what the outbox adds to a save: queries with no webhook, and with one that wants it;
- webhook deliveries per second to a receiver on this machine (one worker, sequential);
- Slack export parsing time for 5,000 and 50,000 messages.
"""

import io
import json
import os
import statistics
import sys
import threading
import time
import zipfile
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postmortems.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def build(rows):
    from django.contrib.auth import get_user_model

    from actionitems.models import ActionItem
    from incidents.models import Incident, Membership, Team, TimelineEvent
    from postmortems.models import Postmortem

    team = Team.objects.create(name=f"Team {rows}", slug=f"team-{rows}")
    user = get_user_model().objects.create_user(f"bench{rows}", first_name="Bench")
    Membership.objects.create(team=team, user=user, role=Membership.Role.MANAGER)
    incidents = [
        Incident.objects.create(
            title=f"Incident {n}", team=team, commander=user, started_at=START - timedelta(days=n)
        )
        for n in range(rows)
    ]
    for incident in incidents:
        Postmortem.objects.create(incident=incident)
    first = incidents[0]
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            incident=first, occurred_at=START + timedelta(minutes=n), description=f"Event {n}"
        )
        for n in range(rows)
    )
    ActionItem.objects.bulk_create(
        ActionItem(postmortem=first.postmortem, title=f"Item {n}", owner=user, position=n)
        for n in range(rows)
    )
    return team, user, first


def measure(client, url, **headers):
    with CaptureQueriesContext(connection) as queries:
        client.get(url, **headers)
    count = len(queries.captured_queries)
    timings = []
    for _ in range(15):
        began = time.perf_counter()
        client.get(url, **headers)
        timings.append((time.perf_counter() - began) * 1000)
    return count, statistics.median(timings)


def api_lists():
    from api.models import ApiToken

    print(f"{'rows':>6} {'API list':<34} {'queries':>8} {'median ms':>10}")
    for rows in (10, 100, 500):
        _team, user, incident = build(rows)
        _token, raw = ApiToken.issue(user, "bench")
        client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        ref = incident.reference
        for name, url in [
            ("incidents (page of 25)", "/api/v1/incidents/"),
            ("action items (page of 25)", "/api/v1/action-items/"),
            ("timeline (page of 25)", f"/api/v1/incidents/{ref}/timeline/"),
            ("incident detail", f"/api/v1/incidents/{ref}/"),
            ("sections (all, with rows)", f"/api/v1/incidents/{ref}/sections/"),
        ]:
            count, ms = measure(client, url)
            print(f"{rows:>6} {name:<34} {count:>8} {ms:>10.1f}")


def outbox_cost():
    from actionitems.models import ActionItem
    from integrations.models import EventKind
    from integrations.services import add_endpoint

    team, user, incident = build(1)
    postmortem = incident.postmortem

    def one_save():
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            began = time.perf_counter()
            ActionItem.objects.create(postmortem=postmortem, title="x", owner=user)
            elapsed = (time.perf_counter() - began) * 1000
            transaction.set_rollback(True)  # nothing is queued: on_commit never runs
        return len(queries.captured_queries), elapsed

    print("\naction item create (inside a transaction, rolled back)   queries  median ms")
    runs = [one_save() for _ in range(30)]
    print(f"  no webhook for the team                              {runs[0][0]:>8} "
          f"{statistics.median(r[1] for r in runs):>10.2f}")  # fmt: skip
    add_endpoint(team, "http://127.0.0.1:9/", [EventKind.ACTION_ITEM_CREATED], "", user)
    runs = [one_save() for _ in range(30)]
    print(f"  a webhook wants action_item.created                  {runs[0][0]:>8} "
          f"{statistics.median(r[1] for r in runs):>10.2f}")  # fmt: skip


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def delivery_rate(count=300):
    from integrations.delivery import attempt_delivery
    from integrations.models import Delivery, Event, EventKind
    from integrations.services import add_endpoint

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    team, user, _incident = build(2)
    endpoint, _secret = add_endpoint(
        team, f"http://127.0.0.1:{server.server_port}/", list(EventKind.values), "", user
    )
    events = Event.objects.bulk_create(
        Event(team=team, kind="incident.created", data={"team": team.slug, "n": n})
        for n in range(count)
    )
    ids = [d.pk for d in Delivery.objects.bulk_create(
        Delivery(event=event, endpoint=endpoint) for event in events
    )]  # fmt: skip
    began = time.perf_counter()
    outcomes = [attempt_delivery(pk).status for pk in ids]
    elapsed = time.perf_counter() - began
    server.shutdown()
    assert set(outcomes) == {"delivered"}, set(outcomes)
    print(f"\nwebhooks: {count} signed deliveries to a local receiver in {elapsed:.2f} s "
          f"({count / elapsed:.0f}/s for one worker process)")  # fmt: skip


def slack_parsing():
    from integrations.slack_import import parse_export

    for count in (5_000, 50_000):
        start = START.timestamp()
        days = {}
        for n in range(count):
            moment = datetime.fromtimestamp(start + n * 17, tz=UTC)
            days.setdefault(f"{moment:%Y-%m-%d}", []).append(
                {"type": "message", "ts": f"{start + n * 17:.6f}", "user": f"U{n % 50:03d}",
                 "text": f"Message {n} for <@U{(n + 1) % 50:03d}> &amp; <https://x.example/{n}|link>"}
            )  # fmt: skip
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("users.json", json.dumps(
                [{"id": f"U{n:03d}", "profile": {"real_name": f"User {n}"}} for n in range(50)]
            ))  # fmt: skip
            for day, messages in days.items():
                archive.writestr(f"incident/{day}.json", json.dumps(messages))
        began = time.perf_counter()
        records = parse_export(buffer.getvalue()).records
        elapsed = time.perf_counter() - began
        print(f"slack export: {len(records):>6} messages, {len(buffer.getvalue()) // 1024:>5} "
              f"KiB zip, parsed in {elapsed:.2f} s")  # fmt: skip


def main():
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.DEBUG = False
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print(f"database: {connection.vendor}")
        api_lists()
        outbox_cost()
        delivery_rate()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    slack_parsing()


if __name__ == "__main__":
    main()
