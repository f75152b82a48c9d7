"""Search and insights timings with 10,000 postmortems of realistic text.

    DATABASE_URL=postgres://... python benchmarks/search_insights.py [--postmortems 10000]

Builds a throwaway test database: four teams, one person in all of them (so every query
scopes over every document), 10,000 incidents over two years, each with a postmortem
written in full (summary, impact, root cause, five whys, factors, detection, response,
resolution, lessons...), a timeline, action items, follow-ups and comments, generated from
phrases of real postmortems. Rows are bulk-inserted and the search index built in batches
(its throughput is printed); then VACUUM ANALYZE, as autovacuum would have done.

Prints, for search, the median and p95 of the search service alone and of the whole page
(request to HTML) over a set of queries (words common and rare, phrases, exclusions,
filters); for /insights/, the same for a year month by month, two years week by week, and
one team; and the SQL queries each page makes. Targets: search p95 < 100 ms, insights
< 300 ms.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postmortems.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

# Each postmortem is about one thing (a component, how it failed, what set it off), told in
# the words of real postmortems; other components come up now and then, and the narrative
# (users, alerts, runbooks, rollbacks) is common to all. So technical words are selective,
# as in a real archive, and everyday words are not.
COMPONENTS = [
    "payment API", "checkout service", "Postgres primary", "database replica", "connection pool",
    "Redis cache", "Kafka cluster", "load balancer", "DNS resolver", "CDN edge", "auth service",
    "search index", "billing worker", "RabbitMQ queue", "Kubernetes node pool", "TLS certificate",
    "feature flag service", "object storage bucket", "ledger service", "notification service",
    "rate limiter", "API gateway", "service mesh sidecar", "Elasticsearch cluster", "scheduler",
    "image resizer", "recommendation model", "fraud scorer", "inventory service", "shipping quotes",
    "email sender", "SMS provider", "webhook dispatcher", "GraphQL layer", "mobile push gateway",
    "session store", "config server", "secrets vault", "CI runners", "artifact registry",
    "VPN concentrator", "NAT gateway", "Memcached tier", "ClickHouse warehouse", "ETL pipeline",
    "tax calculator", "currency converter", "identity provider", "SAML bridge", "audit log writer",
]  # fmt: skip
FAILURES = [
    "ran out of connections", "exhausted its memory", "returned 503 errors", "timed out",
    "was saturated", "dropped messages", "fell behind on replication", "crash-looped",
    "served stale data", "rejected valid tokens", "hit its rate limit", "lost its leader",
    "filled its disk", "leaked file descriptors", "deadlocked under load", "throttled writes",
    "corrupted a batch", "double-charged customers", "ran a full table scan", "split brain",
]  # fmt: skip
TRIGGERS = [
    "a deploy of version 2.{n}.{m}", "a traffic spike from a flash sale", "a config change",
    "an expired certificate", "a schema migration", "a noisy neighbour", "a retry storm",
    "a dependency upgrade", "a cloud provider outage", "a cron job at midnight",
    "a missing index", "a feature flag rollout", "a region failover", "a bad cache key",
    "a kernel upgrade", "a DNS TTL change", "a vendor API change", "clock skew",
]  # fmt: skip
NARRATIVE = [
    "Error rates rose from 0.1% to {p}% within minutes.",
    "About {k} thousand users could not complete their purchase.",
    "The on-call engineer was paged after {d} minutes.",
    "Latency at the 99th percentile stayed above {d} seconds.",
    "The runbook did not cover this failure mode.",
    "A rollback restored service while the team investigated.",
    "Alerts fired but were routed to a muted channel.",
    "Capacity planning had not accounted for seasonal peaks.",
    "Customer support received {k}00 tickets.",
    "The fix was verified in staging before it was rolled out.",
    "The status page was updated every 30 minutes.",
    "Nobody on call had touched this system before.",
]  # fmt: skip
ASIDES = [
    "The retry policy multiplied the load on the {c}.",
    "Monitoring covered the {c} but not its dependencies.",
    "The {c} was unaffected but its dashboards went blank.",
    "A similar warning from the {c} had been ignored a week earlier.",
]  # fmt: skip
LESSONS = [
    "Load test before high-traffic events.", "Alert on saturation, not only on errors.",
    "Keep runbooks next to the alerts that need them.", "Canary every deploy for 30 minutes.",
    "Set timeouts on every outbound call.", "Review connection pool sizes quarterly.",
    "Practise failovers in game days.", "Make rollbacks one click.",
]  # fmt: skip
TAGS = ["database", "deploy", "capacity", "third-party", "network", "config", "security",
        "cache", "queue", "dns"]  # fmt: skip
ACTORS = ["PagerDuty", "Monitoring", "Jane (SRE)", "Mike (on-call)", "Incident commander"]


class Story:
    """What one incident was about, and sentences that tell it."""

    def __init__(self, rng):
        self.rng = rng
        self.component = rng.choice(COMPONENTS)
        self.failure = rng.choice(FAILURES)
        self.trigger = rng.choice(TRIGGERS).format(n=rng.randint(1, 9), m=rng.randint(0, 20))

    @property
    def title(self):
        return f"{self.component[0].upper()}{self.component[1:]} {self.failure}"

    def sentence(self):
        rng = self.rng
        values = {"p": rng.randint(5, 80), "k": rng.randint(1, 90), "d": rng.randint(2, 40)}
        roll = rng.random()
        if roll < 0.35:
            return f"The {self.component} {self.failure} after {self.trigger}."
        if roll < 0.5:
            return rng.choice(ASIDES).format(c=rng.choice(COMPONENTS))
        return rng.choice(NARRATIVE).format(**values)


def sentence(rng, story=None):
    return (story or Story(rng)).sentence()


def paragraph(rng, sentences=3, story=None):
    story = story or Story(rng)
    return " ".join(story.sentence() for _ in range(sentences))


QUERIES = [
    "database", "connection pool", '"connection pool"', "kafka replication",
    "certificate expired", "retry storm", "flash sale checkout", "rollback",
    "memory -redis", "dns or cdn", "runbook alert muted", "deadlocked",
    "canary deploy", "rate limit", "schema migration index", "stale data cache",
    "users", "zanzibar",  # everywhere; nowhere
]  # fmt: skip
FILTERED = [("database", {"severity": "SEV1"}), ("deploy", {"tag": "deploy"}),
            ("timeout", {"started_from": "2026-01-01"})]  # fmt: skip


def build(count, seed=2026):
    """Every row bulk-inserted (no signals), then the index built in batches."""
    from django.contrib.auth import get_user_model

    from actionitems.models import ActionItem
    from incidents.models import (
        Incident,
        IncidentService,
        IncidentTag,
        Membership,
        Service,
        Team,
        TimelineEvent,
    )
    from insights.indexing import reindex_incidents
    from postmortems.models import (
        Comment,
        ContributingFactor,
        FiveWhy,
        FollowUp,
        Postmortem,
        ReviewEvent,
    )

    rng = random.Random(seed)
    user = get_user_model().objects.create_user("bench", first_name="Bench")
    teams = [Team.objects.create(name=f"Team {n}", slug=f"team-{n}") for n in range(4)]
    for team in teams:
        Membership.objects.create(team=team, user=user, role=Membership.Role.MANAGER)
    services = {
        team.pk: [Service.objects.create(team=team, name=c.title()) for c in COMPONENTS[:12]]
        for team in teams
    }
    began = time.perf_counter()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    incidents, stories = [], []
    for n in range(count):
        story = Story(rng)
        stories.append(story)
        started = start + timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
        resolved = started + timedelta(minutes=rng.randint(5, 600)) if rng.random() > 0.03 else None
        detected = started + timedelta(minutes=rng.randint(0, 30)) if rng.random() > 0.3 else None
        incidents.append(
            Incident(
                year=started.year,
                number=n + 1,
                title=story.title,
                severity=rng.choice(["SEV1", "SEV2", "SEV2", "SEV3", "SEV3", "SEV3"]),
                status="resolved" if resolved else "investigating",
                team=rng.choice(teams),
                started_at=started,
                detected_at=detected,
                acknowledged_at=(detected + timedelta(minutes=rng.randint(1, 20)))
                if detected and rng.random() > 0.4
                else None,
                resolved_at=resolved,
            )
        )
    Incident.objects.bulk_create(incidents, batch_size=2000)
    postmortems, impacts, tags, events = [], [], [], []
    story_of = {}
    for incident, story in zip(incidents, stories, strict=True):
        story_of[incident.pk] = story
        team_services = services[incident.team_id]
        for service in rng.sample(team_services, k=rng.randint(1, 3)):
            impacts.append(
                IncidentService(
                    incident=incident, service=service, impact=rng.choice(["down", "degraded"])
                )
            )
        for name in rng.sample(TAGS, k=rng.randint(0, 3)):
            tags.append(IncidentTag(incident=incident, name=name))
        for k in range(10):
            events.append(
                TimelineEvent(
                    incident=incident,
                    occurred_at=incident.started_at + timedelta(minutes=3 * k),
                    description=story.sentence(),
                    actor=rng.choice(ACTORS),
                    kind=rng.choice(
                        ["alert", "acknowledge", "investigate", "action", "mitigation"]
                    ),
                    position=k,
                )
            )
        postmortems.append(
            Postmortem(
                incident=incident,
                status=rng.choice(["draft", "in_review", "approved", "published", "published"]),
                executive_summary=paragraph(rng, story=story, sentences=3),
                impact_summary=paragraph(rng, story=story, sentences=2),
                root_cause=paragraph(rng, story=story, sentences=2),
                trigger=story.sentence(),
                why_not_caught=paragraph(rng, story=story, sentences=1),
                detection_notes=paragraph(rng, story=story, sentences=1),
                response_notes=paragraph(rng, story=story, sentences=2),
                resolution_short_term=paragraph(rng, story=story, sentences=1),
                resolution_long_term=paragraph(rng, story=story, sentences=1),
                went_well=paragraph(rng, story=story, sentences=1),
                went_wrong=paragraph(rng, story=story, sentences=2),
                lessons_learned=" ".join(rng.sample(LESSONS, k=3)),
                communication_log=paragraph(rng, story=story, sentences=1),
            )
        )
    IncidentService.objects.bulk_create(impacts, batch_size=5000)
    IncidentTag.objects.bulk_create(tags, batch_size=5000)
    TimelineEvent.objects.bulk_create(events, batch_size=5000)
    Postmortem.objects.bulk_create(postmortems, batch_size=1000)
    rows = {FiveWhy: [], ContributingFactor: [], ActionItem: [], FollowUp: [], Comment: []}
    review_events = []
    for pm in postmortems:
        story = story_of[pm.incident_id]
        for k in range(5):
            rows[FiveWhy].append(
                FiveWhy(
                    postmortem=pm,
                    question=f"Why did {story.sentence()[4:60]}?",
                    answer=story.sentence(),
                    position=k,
                )
            )
        for k in range(3):
            rows[ContributingFactor].append(
                ContributingFactor(
                    postmortem=pm,
                    category=rng.choice(["technical", "process", "human"]),
                    description=story.sentence(),
                    position=k,
                )
            )
        for k in range(4):
            closed = rng.random() < 0.6
            created = pm.incident.started_at + timedelta(days=1)
            person = rng.random() < 0.5
            rows[ActionItem].append(
                ActionItem(
                    postmortem=pm,
                    title=rng.choice(LESSONS),
                    description=story.sentence(),
                    owner=user if person else None,
                    owner_name="" if person else "Platform team",
                    due_date=(created + timedelta(days=rng.randint(3, 60))).date(),
                    status="done" if closed else "open",
                    completed_at=created + timedelta(days=rng.randint(1, 90)) if closed else None,
                    position=k,
                )
            )
        for k in range(2):
            rows[FollowUp].append(
                FollowUp(
                    postmortem=pm,
                    due_on=pm.incident.started_at.date() + timedelta(days=7 * (k + 1)),
                    title="Check action items",
                    notes=story.sentence(),
                )
            )
            rows[Comment].append(
                Comment(
                    postmortem=pm,
                    section=rng.choice(["root_cause", "impact", "summary"]),
                    author=user,
                    body=story.sentence(),
                )
            )
        resolved = pm.incident.resolved_at
        if resolved and pm.status in ("approved", "published"):
            review_events.append(
                ReviewEvent(postmortem=pm, kind="status", to_status="approved", actor=user)
            )
            if pm.status == "published":
                review_events.append(
                    ReviewEvent(postmortem=pm, kind="status", to_status="published", actor=user)
                )
    for model, objects in rows.items():
        model.objects.bulk_create(objects, batch_size=5000)
    ReviewEvent.objects.bulk_create(review_events, batch_size=5000)
    with connection.cursor() as cursor:  # approvals 1-30 days after resolution, publication later
        cursor.execute(
            "UPDATE postmortems_reviewevent e "
            "SET at = i.resolved_at + (random() * 30 + 1) * interval '1 day' "
            "FROM postmortems_postmortem p JOIN incidents_incident i ON i.id = p.incident_id "
            "WHERE e.postmortem_id = p.id AND i.resolved_at IS NOT NULL"
        )
    print(f"built {count} postmortems in {time.perf_counter() - began:.0f} s")

    began = time.perf_counter()
    written = reindex_incidents([i.pk for i in incidents], batch_size=250)
    seconds = time.perf_counter() - began
    print(
        f"indexed {written} search entries in {seconds:.0f} s ({count / seconds:.0f} documents/s)"
    )
    with connection.cursor() as cursor:  # as autovacuum would have, after a bulk load
        cursor.execute("VACUUM ANALYZE")
    return user, teams


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(function, repeat):
    timings = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        timings.append((time.perf_counter() - began) * 1000)
    return timings


def report(name, timings, queries=None):
    extra = f" {queries:>8}" if queries is not None else ""
    print(
        f"{name:<44} {statistics.median(timings):>8.1f} {percentile(timings, 0.95):>8.1f}"
        f" {max(timings):>8.1f}{extra}"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postmortems", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    # No setup_test_environment(): its template instrumentation would be measured too.
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.DEBUG = False
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from incidents.filters import IncidentFilter
        from incidents.models import Incident
        from insights.models import SearchEntry
        from insights.search import search

        load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
        print(f"database: {connection.vendor}; {os.cpu_count()} CPUs, load average {load}")
        user, teams = build(args.postmortems)
        print(f"search entries: {SearchEntry.objects.count()}")
        client = Client()
        client.force_login(user)
        as_user = SimpleNamespace(user=user)

        print(f"\n{'search (ms)':<44} {'median':>8} {'p95':>8} {'max':>8} {'queries':>8}")
        service_times, page_times = [], []
        for query in QUERIES:
            visible = Incident.objects.visible_to(user)

            def run_service(query=query, visible=visible):
                chosen = IncidentFilter({}, queryset=visible, request=as_user)
                results = search(query, chosen.qs, 1, 10)
                list(results.results)

            times = timed(run_service, args.repeat)
            service_times += times
            with CaptureQueriesContext(connection) as captured:
                client.get("/search/", {"q": query})
            queries = len(captured.captured_queries)  # now: the next request empties the log
            chosen = IncidentFilter({}, queryset=visible, request=as_user)
            count = search(query, chosen.qs, 1, 10).page.paginator.count
            page = timed(lambda query=query: client.get("/search/", {"q": query}), args.repeat)
            page_times += page
            report(f"  {query} ({count} documents)", page, queries)
        for query, filters in FILTERED:
            page = timed(
                lambda q=query, f=filters: client.get("/search/", {"q": q, **f}), args.repeat
            )
            page_times += page
            report(f"  {query} with {filters}", page)
        report("search service, all queries", service_times)
        report("search page, all queries", page_times)
        p95 = percentile(page_times, 0.95)
        print(f"search page p95: {p95:.1f} ms (target < 100 ms): {'OK' if p95 < 100 else 'SLOW'}")

        print(f"\n{'insights (ms)':<44} {'median':>8} {'p95':>8} {'max':>8} {'queries':>8}")
        pages = [
            ("last 12 months by month", {}),
            (
                "2025-2026 by week",
                {"started_from": "2025-01-01", "started_to": "2026-12-31", "by": "week"},
            ),
            ("one team, 12 months", {"team": teams[0].pk}),
            ("SEV1, tag database", {"severity": "SEV1", "tag": "database"}),
        ]
        worst = 0.0
        for name, params in pages:
            with CaptureQueriesContext(connection) as captured:
                client.get("/insights/", params)
            queries = len(captured.captured_queries)
            times = timed(lambda p=params: client.get("/insights/", p), args.repeat)
            worst = max(worst, percentile(times, 0.95))
            report(f"  {name}", times, queries)
        incidents = Incident.objects.count()
        print(
            f"insights p95 (worst page) with {incidents} incidents: {worst:.1f} ms "
            f"(target < 300 ms): {'OK' if worst < 300 else 'SLOW'}"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
