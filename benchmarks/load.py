"""Load benchmark: long postmortems under concurrent load, against gunicorn and PostgreSQL.

    DATABASE_URL=postgres://user:pass@127.0.0.1:5432/postmortem_studio \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/11 \\
    .venv/bin/python benchmarks/load.py [--port 8137] [--workers 2] [--concurrency 4]

What it does, in one run:

1. Creates (drops first) the database <DATABASE_URL's name>_bench, migrates it, collects the
   static files, and builds the documents: a SEV1 postmortem with 500 timeline events and 100
   action items; one with 500 rows in each of five lists (2,500 rows); one with a 5,000-event
   timeline; and, for the growth table, documents of 10, 100, 500 and 2,500 rows.
2. Counts each endpoint's SQL queries in this process (Django's test client, DEBUG off), and
   splits its time into SQL, template rendering and the rest of Python.
3. Starts gunicorn (DEBUG off, --workers, sync) on 127.0.0.1:--port, and drives each endpoint
   for --seconds with --concurrency requests in flight (a bounded asyncio client, httpx),
   and the bare /healthz view before each of them and after the last (the load of a shared
   machine drifts: each endpoint is compared with the bare view measured around it).
4. Prints one table: endpoint, queries, median and p95 latency, bytes (HTML and on the wire),
   requests/s, and the ratio to /healthz's requests/s; then the cost growth table
   (one request at a time, 10 / 100 / 500 / 2,500 rows), which shows a regression to O(rows).

With BENCH_REDIS_URL the web processes share a Redis cache and sessions, as in production
(docker-compose); that Redis database is flushed first. Only 127.0.0.1 is ever contacted.
The load client runs on the same machine as gunicorn and PostgreSQL and takes some of the CPU:
compare endpoints by their ratio to /healthz, measured under the same conditions.
"""

import argparse
import asyncio
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
GROWTH_SIZES = (10, 100, 500, 2500)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8137)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0, help="per endpoint")
    parser.add_argument("--growth-requests", type=int, default=25)
    return parser.parse_args()


def bench_environment():
    """The environment of this process and of gunicorn: production settings on localhost."""
    source = os.environ.get("DATABASE_URL", "")
    if not source.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (its name + _bench is used).")
    parts = urlsplit(source)
    bench_url = os.environ.get("BENCH_DATABASE_URL") or urlunsplit(
        parts._replace(path=parts.path + "_bench")
    )
    env = {
        **os.environ,
        "DATABASE_URL": bench_url,
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_hex(32),
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "postmortems.settings",
    }
    env.pop("REDIS_URL", None)
    if os.environ.get("BENCH_REDIS_URL"):
        env["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
    return env


def recreate_database(url):
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"\w+", name):
        sys.exit(f"Unexpected database name {name!r}")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


# Building the documents.


def build_document(team, owner, title, *, timeline=0, items=0, whys=0, factors=0, follow_ups=0):
    from actionitems.models import ActionItem
    from incidents.models import Incident, TimelineEvent
    from postmortems.models import ContributingFactor, FiveWhy, FollowUp, Postmortem

    incident = Incident.objects.create(
        title=title,
        team=team,
        commander=owner,
        severity="SEV1",
        status="resolved",
        started_at=START,
        detected_at=START + timedelta(minutes=4),
        resolved_at=START + timedelta(hours=30),
    )
    postmortem = Postmortem.objects.create(
        incident=incident,
        executive_summary="Checkout failed for most users for 2 hours.\n\nA pool leak.",
        root_cause="A connection leak in the **payment service** error path.",
        impact_summary="Most checkouts failed.",
        users_affected=48_000,
        lessons_learned="Pools need alerts.\n\nError paths need tests.",
        went_well="Paging worked.",
        went_wrong="The runbook was out of date.",
    )
    postmortem.authors.add(owner)
    kinds = ["alert", "page", "acknowledge", "investigate", "action", "communication"]
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            incident=incident,
            occurred_at=START + timedelta(seconds=20 * n),
            kind=kinds[n % len(kinds)],
            description=f"[{n}] `pod-{n % 7}` restarted; error rate at **{n % 90}%**, see "
            f"[dashboard](https://grafana.example.com/d/{n})",
            actor=["Monitoring", "SRE (Jane)", "PagerDuty", "Mike"][n % 4],
            action_taken="Restarted the pod" if n % 5 == 0 else "",
            is_key_decision=n % 50 == 0,
            position=n,
        )
        for n in range(timeline)
    )
    ActionItem.objects.bulk_create(
        ActionItem(
            postmortem=postmortem,
            title=f"Action {n}: alert on pool usage above {n % 100}%",
            owner=owner,
            due_date=START.date() + timedelta(days=n % 60),
            priority=["P0", "P1", "P2", "P3"][n % 4],
            position=n,
        )
        for n in range(items)
    )
    FiveWhy.objects.bulk_create(
        FiveWhy(postmortem=postmortem, question=f"Why {n}?", answer="Because.", position=n)
        for n in range(whys)
    )
    ContributingFactor.objects.bulk_create(
        ContributingFactor(
            postmortem=postmortem, category="technical", description=f"Factor {n}", position=n
        )
        for n in range(factors)
    )
    FollowUp.objects.bulk_create(
        FollowUp(postmortem=postmortem, due_on=START.date(), title=f"Check {n}")
        for n in range(follow_ups)
    )
    return incident


def build(viewers=20):
    from django.contrib.auth import get_user_model

    from incidents.models import Membership, Team

    users = get_user_model().objects
    team = Team.objects.create(name="Payments", slug="payments")
    owner = users.create_user("jane", first_name="Jane", last_name="Park")
    Membership.objects.create(team=team, user=owner, role=Membership.Role.MANAGER)
    people = [owner]
    for n in range(viewers - 1):
        person = users.create_user(f"viewer{n}", first_name=f"Viewer {n}")
        Membership.objects.create(team=team, user=person)
        people.append(person)
    documents = {
        "small": build_document(team, owner, "Small", timeline=8, items=3, whys=3, factors=2),
        "sev1": build_document(
            team, owner, "SEV1", timeline=500, items=100, whys=5, factors=4, follow_ups=2
        ),
        "2500": build_document(
            team,
            owner,
            "2,500 rows",
            timeline=500,
            items=500,
            whys=500,
            factors=500,
            follow_ups=500,
        ),
        "5000": build_document(team, owner, "5,000 events", timeline=5000, items=20),
    }
    for size in GROWTH_SIZES:
        documents[f"growth{size}"] = build_document(
            team, owner, f"{size} rows", timeline=size * 3 // 5, items=size // 5,
            whys=size // 10, factors=size // 10,
        )  # fmt: skip
    return people, documents


def sessions_for(people):
    """A session cookie per person, and one CSRF secret (cookie and header)."""
    from django.test import Client

    cookies = {}
    for person in people:
        client = Client()
        client.force_login(person)
        cookies[person.username] = client.cookies["sessionid"].value
    from django.utils.crypto import get_random_string

    return cookies, get_random_string(32)  # the unmasked form of a CSRF token


# The endpoints. A request is made from a "slot" (one of the concurrent clients), which keeps
# its own state: the version it saved last, the ETag it holds.


class Endpoint:
    def __init__(
        self, name, path, method="GET", *, headers=None, data=None, after=None, viewers=False
    ):
        self.name = name
        self.path = path  # str or callable(slot) -> str
        self.method = method
        self.headers = headers or {}  # dict or callable(slot) -> dict
        self.data = data  # callable(slot) -> dict, for POSTs
        self.after = after  # callable(slot, response)
        self.viewers = viewers  # each request as the next of the viewers (presence)


def rebased_version(response):
    """The version a 409 rebased the form on (someone else saved meanwhile)."""
    found = re.search(r'name="version" value="(\d+)"', response.text)
    return int(found[1]) if response.status_code == 409 and found else None


def endpoints(documents, people):
    """Each endpoint, with what it needs per slot."""
    sev1, small, big, huge = (documents[k] for k in ("sev1", "small", "2500", "5000"))
    ref = sev1.reference
    events = list(sev1.timeline_events.order_by("occurred_at", "position", "pk")[100:140])
    htmx = {"HX-Request": "true"}
    fields = ["executive_summary", "lessons_learned", "went_well", "went_wrong"]
    keys = {"executive_summary": "summary"}

    current = {}  # the versions the load starts from (the in-process measurement saved too)

    def refresh():
        from postmortems.models import Postmortem

        for label, incident in (("small", small), ("big", big)):
            versions = Postmortem.objects.get(incident=incident).section_versions
            for field in fields:
                current[label, field] = versions.get(keys.get(field, field), 0)
        for event in events:
            event.refresh_from_db(fields=["version"])

    def save(incident, label):
        def data(slot):
            field = fields[slot.number % len(fields)]
            slot.runs += 1
            version = slot.versions.get((label, field), current.get((label, field), 0))
            return {"version": version, field: f"Run {slot.runs}."}

        def path(slot):
            field = fields[slot.number % len(fields)]
            return f"/incidents/{incident.reference}/sections/{keys.get(field, field)}/"

        def after(slot, response):
            field = fields[slot.number % len(fields)]
            key = keys.get(field, field)
            found = re.search(rf'value="{key}:(\d+)"', response.text)
            if found:
                slot.versions[label, field] = int(found[1])
            elif rebased_version(response) is not None:
                slot.versions[label, field] = rebased_version(response)

        return path, data, after

    def row_save():
        def path(slot):
            return f"/incidents/{ref}/rows/timeline/{events[slot.number].pk}/"

        def headers(slot):
            return {**htmx, "HX-Target": f"row-timeline-{events[slot.number].pk}"}

        def data(slot):
            event = events[slot.number]
            slot.runs += 1
            return {
                "version": slot.row_version.get(event.pk, event.version),
                "occurred_at": event.occurred_at.strftime("%Y-%m-%dT%H:%M"),
                "kind": event.kind,
                "description": f"{event.description} (edit {slot.runs})",
                "actor": event.actor,
            }

        def after(slot, response):
            event = events[slot.number]
            if response.status_code == 200:
                slot.row_version[event.pk] = slot.row_version.get(event.pk, event.version) + 1
            elif rebased_version(response) is not None:
                slot.row_version[event.pk] = rebased_version(response)

        return path, headers, data, after

    def poll(conditional):
        # Sections nobody changes during the run (the saves go to other documents): a poll
        # that brings a changed section back is a different request (see the growth table).
        seen = "&".join(
            f"seen={key}%3A0" for key in ["summary", "root_cause", "lessons_learned", "went_wrong"]
        )

        def headers(slot):
            etag = slot.etags.get(slot.viewer) if conditional else None
            return {**htmx, "If-None-Match": etag} if etag else htmx

        def after(slot, response):
            if response.status_code == 200:
                slot.etags[slot.viewer] = response.headers.get("ETag")

        return f"/incidents/{ref}/presence/?{seen}", headers, after

    def fragment(conditional):
        def headers(slot):
            if conditional and slot.etag:
                return {**htmx, "If-None-Match": slot.etag}
            return htmx

        def after(slot, response):
            if response.status_code == 200:
                slot.etag = response.headers.get("ETag")

        return f"/incidents/{ref}/sections/root_cause/", headers, after

    first = sev1.timeline_events.order_by("occurred_at", "position", "pk")[49]
    from postmortems.editing import ROW_SECTIONS

    cursor = quote(ROW_SECTIONS["timeline"].cursor(first))
    small_save, big_save = save(small, "small"), save(big, "big")
    row = row_save()
    poll_full, poll_304 = poll(False), poll(True)
    fragment_full, fragment_304 = fragment(False), fragment(True)
    return refresh, [
        Endpoint("document page, 500 events + 100 items", f"/incidents/{ref}/"),
        Endpoint("document page, 2,500 rows", f"/incidents/{big.reference}/"),
        Endpoint("document page, 5,000-event timeline", f"/incidents/{huge.reference}/"),
        Endpoint(
            "section fragment GET",
            fragment_full[0],
            headers=fragment_full[1],
            after=fragment_full[2],
        ),
        Endpoint(
            "section fragment GET, 304",
            fragment_304[0],
            headers=fragment_304[1],
            after=fragment_304[2],
        ),
        Endpoint(
            "next 50 timeline rows",
            f"/incidents/{ref}/sections/timeline/rows/?after={cursor}",
            headers=htmx,
        ),
        Endpoint(
            "section save, small document",
            small_save[0],
            "POST",
            headers=htmx,
            data=small_save[1],
            after=small_save[2],
        ),
        Endpoint(
            "section save, 2,500-row document",
            big_save[0],
            "POST",
            headers=htmx,
            data=big_save[1],
            after=big_save[2],
        ),
        Endpoint("timeline row save", row[0], "POST", headers=row[1], data=row[2], after=row[3]),
        Endpoint(
            "presence poll, 20 viewers",
            poll_full[0],
            headers=poll_full[1],
            after=poll_full[2],
            viewers=True,
        ),
        Endpoint(
            "presence poll, 20 viewers, 304",
            poll_304[0],
            headers=poll_304[1],
            after=poll_304[2],
            viewers=True,
        ),
    ]


class Slot:
    def __init__(self, number, cookies, people, concurrency=1):
        self.number = number
        self.cookies = cookies
        self.people = people
        self.concurrency = concurrency
        self.turn = 0
        self.viewer = people[0].username
        self.versions = {}
        self.row_version = {}
        self.runs = 0
        self.etag = None
        self.etags = {}

    def session(self, endpoint):
        """The session cookie of the next request: the document's author, or (presence) each
        viewer in turn."""
        if endpoint.viewers:
            person = self.people[(self.number + self.concurrency * self.turn) % len(self.people)]
            self.turn += 1
            self.viewer = person.username
        return self.cookies[self.viewer]


def resolve(value, slot):
    return value(slot) if callable(value) else value


# In-process measurements: queries, and where the time goes.


class TimeSplit:
    """Wall time of requests split into SQL, template rendering (without the SQL run while
    rendering: lazy querysets) and the rest of Python."""

    def __init__(self):
        self.sql = self.sql_in_templates = self.templates = 0.0
        self.depth = 0

    def __enter__(self):
        from django.db import connection
        from django.template.backends.django import Template

        split = self
        self._original = Template.render

        def render(template, *args, **kwargs):
            split.depth += 1
            began = time.perf_counter()
            try:
                return split._original(template, *args, **kwargs)
            finally:
                split.depth -= 1
                if split.depth == 0:
                    split.templates += time.perf_counter() - began

        def timed(execute, sql, params, many, context):
            began = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                took = time.perf_counter() - began
                split.sql += took
                if split.depth:
                    split.sql_in_templates += took

        Template.render = render
        self._wrapper = connection.execute_wrapper(timed)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc):
        from django.template.backends.django import Template

        Template.render = self._original
        self._wrapper.__exit__(*exc)


def measure_in_process(endpoint, cookies, csrf, people, runs=10):
    """(queries, "SQL n% · templates n% · Python n%") from Django's test client."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    slot = Slot(0, cookies, people)
    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies["csrftoken"] = csrf

    def request():
        client.cookies["sessionid"] = slot.session(endpoint)
        headers = {**resolve(endpoint.headers, slot), "X-CSRFToken": csrf}
        extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
        path = resolve(endpoint.path, slot)
        if endpoint.method == "POST":
            response = client.post(path, endpoint.data(slot), **extra)
        else:
            response = client.get(path, **extra)
        response.text = response.content.decode()
        if endpoint.after:
            endpoint.after(slot, response)
        return response

    request()  # warm (and take the ETag a 304 needs)
    with CaptureQueriesContext(connection) as queries:
        request()
    count = len(queries.captured_queries)
    total = 0.0
    with TimeSplit() as split:
        for _ in range(runs):
            began = time.perf_counter()
            request()
            total += time.perf_counter() - began
    templates = max(split.templates - split.sql_in_templates, 0.0)
    python = max(total - split.sql - templates, 0.0)
    parts = [("SQL", split.sql), ("templates", templates), ("Python", python)]
    return count, " · ".join(f"{name} {100 * t / total:.0f}%" for name, t in parts)


# Load.


async def drive(endpoint, base, cookies, csrf, people, concurrency, seconds):
    import httpx

    latencies, html_bytes, wire_bytes, errors = [], [], [], 0
    deadline = time.perf_counter() + seconds

    async def worker(number):
        nonlocal errors
        slot = Slot(number, cookies, people, concurrency)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            while time.perf_counter() < deadline:
                client.cookies.set("sessionid", slot.session(endpoint))
                client.cookies.set("csrftoken", csrf)
                headers = {**resolve(endpoint.headers, slot), "X-CSRFToken": csrf}
                path = resolve(endpoint.path, slot)
                data = endpoint.data(slot) if endpoint.data else None
                began = time.perf_counter()
                response = await client.request(endpoint.method, path, headers=headers, data=data)
                latencies.append(time.perf_counter() - began)
                if response.status_code not in (200, 304):
                    errors += 1
                html_bytes.append(len(response.content))
                wire_bytes.append(response.num_bytes_downloaded)
                if endpoint.after:
                    endpoint.after(slot, response)

    began = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "median": statistics.median(latencies) * 1000,
        "p95": latencies[int(len(latencies) * 0.95) - 1] * 1000,
        "html": statistics.median(html_bytes),
        "wire": statistics.median(wire_bytes),
        "rps": len(latencies) / elapsed,
        "errors": errors,
        "requests": len(latencies),
    }


def start_gunicorn(env, port, workers):
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "postmortems.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    import httpx

    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop(process)
    sys.exit("gunicorn did not start")


def stop(process):
    with_group = os.getpgid(process.pid)
    os.killpg(with_group, signal.SIGTERM)
    process.wait(timeout=20)


def kb(value):
    return f"{value / 1024:.1f}"


def print_table(rows):
    header = (
        f"{'endpoint':<40} {'queries':>7} {'median ms':>9} {'p95 ms':>7} {'KB html':>8} "
        f"{'KB gzip':>8} {'req/s':>7} {'vs healthz':>10}  time in-process"
    )
    print(header)
    print("-" * len(header))
    for name, queries, result, split in rows:
        print(
            f"{name:<40} {queries:>7} {result['median']:>9.1f} {result['p95']:>7.1f} "
            f"{kb(result['html']):>8} {kb(result['wire']):>8} {result['rps']:>7.0f} "
            f"{100 * result['ratio']:>9.1f}%  {split}"
            + (f"  ({result['errors']} errors)" if result["errors"] else "")
        )


def growth(documents, cookies, people, requests):
    """One request at a time, in this process, per document size: median ms and queries."""
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies["sessionid"] = cookies[people[0].username]
    names = ["page", "fragment", "section save", "row save", "poll 304"]
    print(f"{'rows':>6}  " + "  ".join(f"{name:>16}" for name in names))
    for size in GROWTH_SIZES:
        cells = growth_row(client, documents[f"growth{size}"], size, requests)
        print(f"{size:>6}  " + "  ".join(f"{cell:>16}" for cell in cells))


def growth_row(client, incident, size, requests):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    htmx = {"HTTP_HX_REQUEST": "true"}
    ref = incident.reference
    event = incident.timeline_events.order_by("pk")[size // 10]
    state = {"version": 0, "row": event.version, "etag": None, "n": 0}

    def page():
        return client.get(f"/incidents/{ref}/")

    def fragment():
        return client.get(f"/incidents/{ref}/sections/root_cause/", **htmx)

    def save():
        state["n"] += 1
        response = client.post(
            f"/incidents/{ref}/sections/lessons_learned/",
            {"version": state["version"], "lessons_learned": f"Run {state['n']}"},
            **htmx,
        )
        found = re.search(r'value="lessons_learned:(\d+)"', response.content.decode())
        state["version"] = int(found[1]) if found else state["version"]
        return response

    def row_save():
        state["n"] += 1
        data = {
            "version": state["row"],
            "occurred_at": event.occurred_at.strftime("%Y-%m-%dT%H:%M"),
            "kind": event.kind,
            "description": f"Edit {state['n']}",
            "actor": event.actor,
        }
        target = f"row-timeline-{event.pk}"
        response = client.post(
            f"/incidents/{ref}/rows/timeline/{event.pk}/", data, HTTP_HX_TARGET=target, **htmx
        )
        state["row"] += response.status_code == 200
        return response

    def poll():
        extra = {"HTTP_IF_NONE_MATCH": state["etag"]} if state["etag"] else {}
        response = client.get(f"/incidents/{ref}/presence/?seen=summary%3A0", **htmx, **extra)
        state["etag"] = response.get("ETag", state["etag"])
        return response

    cells = []
    for call in (page, fragment, save, row_save, poll):
        call()
        with CaptureQueriesContext(connection) as queries:
            call()
        count = len(queries.captured_queries)  # now: the next request resets the log
        timings = []
        for _ in range(requests):
            began = time.perf_counter()
            call()
            timings.append((time.perf_counter() - began) * 1000)
        cells.append(f"{statistics.median(timings):>7.1f} ms {count:>2} q")
    return cells


def main():
    args = parse_args()
    env = bench_environment()
    os.environ.update(env)
    recreate_database(env["DATABASE_URL"])

    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    if env.get("REDIS_URL"):
        cache.clear()
    began = time.perf_counter()
    people, documents = build()
    cookies, csrf = sessions_for(people)
    print(
        f"Built the documents in {time.perf_counter() - began:.1f} s. "
        f"PostgreSQL, DEBUG off, gunicorn --workers {args.workers} (sync), "
        f"{args.concurrency} requests in flight, {args.seconds:.0f} s per endpoint, "
        f"cache: {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}, "
        f"sessions: {settings.SESSION_ENGINE.rsplit('.', 1)[-1]}, {os.cpu_count()} CPUs."
    )
    refresh, targets = endpoints(documents, people)
    measured = {e.name: measure_in_process(e, cookies, csrf, people) for e in targets}
    refresh()  # the load's saves start from the versions the measurement left

    process = start_gunicorn(env, args.port, args.workers)
    base = f"http://127.0.0.1:{args.port}"
    try:
        healthz = Endpoint("bare view (/healthz)", "/healthz")

        def run(endpoint):
            return asyncio.run(
                drive(endpoint, base, cookies, csrf, people, args.concurrency, args.seconds)
            )

        run(Endpoint("warm-up", targets[0].path))
        # /healthz before every endpoint and after the last: each endpoint is compared with
        # the bare view measured right around it (the load of a shared machine drifts).
        bare = [run(healthz)]
        results = []
        for endpoint in targets:
            result = run(endpoint)
            bare.append(run(healthz))
            result["ratio"] = result["rps"] / ((bare[-2]["rps"] + bare[-1]["rps"]) / 2)
            queries, split = measured[endpoint.name]
            results.append((endpoint.name, queries, result, split))
    finally:
        stop(process)
    keys = ("median", "p95", "html", "wire", "rps")
    mean = {key: statistics.mean(b[key] for b in bare) for key in keys}
    print()
    print_table([("bare view (/healthz)", 1, {**mean, "errors": 0, "ratio": 1.0}, ""), *results])
    rates = [b["rps"] for b in bare]
    print(
        f"\n/healthz measured {len(bare)} times, around each endpoint: {min(rates):.0f} to "
        f"{max(rates):.0f} req/s; each ratio is to the mean of the two measured around it."
    )
    print("\nCost growth, one request at a time in-process (median ms, queries):")
    growth(documents, cookies, people, args.growth_requests)


if __name__ == "__main__":
    main()
