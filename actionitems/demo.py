"""Demo content: the worked examples of the three seed templates as real postmortems.

Used by `manage.py seed_demo` and by the tests, which check that a postmortem built from the
full template's example exports every section and table row of it.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from incidents.models import (
    Incident,
    IncidentLink,
    IncidentService,
    IncidentTag,
    Membership,
    Service,
    Team,
    TimelineEvent,
)
from postmortems import review
from postmortems.models import (
    ContributingFactor,
    FiveWhy,
    FollowUp,
    Postmortem,
    ReviewEvent,
    ReviewRequest,
)

from .models import ActionItem

DEMO_TEAM = "Payments Platform"

# username: (first name, last name, role in the demo team)
DEMO_PEOPLE = {
    "jane": ("Jane", "Park", Membership.Role.MEMBER),
    "mike": ("Mike", "Alvarez", Membership.Role.MEMBER),
    "tom": ("Tom", "Becker", Membership.Role.MEMBER),
    "lisa": ("Lisa", "Chen", Membership.Role.MEMBER),
    "john": ("John", "Doe", Membership.Role.MEMBER),
    "alice": ("Alice", "Johnson", Membership.Role.MEMBER),
    "jsmith": ("Jane", "Smith", Membership.Role.MEMBER),
    "sarah": ("Sarah", "Okafor", Membership.Role.MANAGER),
}

K = TimelineEvent.Kind


def at(day, hhmm):
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=UTC)


def ensure_people(password):
    """The demo team, its services and people; every demo user gets `password`."""
    User = get_user_model()
    team, _ = Team.objects.get_or_create(name=DEMO_TEAM, defaults={"slug": "payments"})
    people = {}
    for username, (first, last, role) in DEMO_PEOPLE.items():
        user, _ = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
        )
        user.set_password(password)
        user.save(update_fields=["password"])
        Membership.objects.update_or_create(team=team, user=user, defaults={"role": role})
        people[username] = user
    services = {
        name: Service.objects.get_or_create(team=team, name=name)[0]
        for name in (
            "Frontend",
            "Backend API",
            "Database",
            "Authentication",
            "Payment processing",
            "Checkout Service",
            "Product Catalog",
        )
    }
    return team, people, services


def add_timeline(incident, day, rows, author):
    """rows: (HH:MM, event, actor, kind, key decision?, action taken)."""
    events = []
    for position, row in enumerate(rows):
        hhmm, description, actor, kind, *rest = row
        is_key = rest[0] if rest else False
        action_taken = rest[1] if len(rest) > 1 else ""
        events.append(
            TimelineEvent(
                incident=incident,
                occurred_at=at(day, hhmm),
                description=description,
                actor=actor,
                kind=kind,
                is_key_decision=is_key,
                action_taken=action_taken,
                position=position,
                created_by=author,
            )
        )
    TimelineEvent.objects.bulk_create(events)


def add_action_items(postmortem, rows):
    """rows: (title, priority, owner, due date, status, category, term)."""
    ActionItem.objects.bulk_create(
        ActionItem(
            postmortem=postmortem,
            title=title,
            priority=priority,
            owner=owner,
            due_date=due,
            status=status,
            category=category,
            term=term,
            position=position,
            completed_at=timezone.now() if status in ActionItem.CLOSED_STATUSES else None,
        )
        for position, (title, priority, owner, due, status, category, term) in enumerate(rows)
    )


def add_service_impacts(incident, services, impacts):
    IncidentService.objects.bulk_create(
        IncidentService(incident=incident, service=services[name], impact=impact, note=note)
        for name, impact, note in impacts
    )


def sign_off(postmortem, author, reviewers, when, publish=False):
    """Take a postmortem through review the way its people did, then date the record."""
    for reviewer, role in reviewers:
        review.add_reviewer(postmortem, reviewer, role, author)
    review.request_review(postmortem, author)
    for reviewer, _role in reviewers:
        request = postmortem.review_requests.get(reviewer=reviewer)
        review.decide(request, reviewer, ReviewRequest.Decision.APPROVED, "Looks good.")
    if publish:
        review.publish(postmortem, author)
    for hours, event in enumerate(postmortem.review_events.order_by("pk")):
        ReviewEvent.objects.filter(pk=event.pk).update(at=when + timedelta(hours=hours))
    postmortem.review_requests.update(requested_at=when, decided_at=when + timedelta(hours=3))
    postmortem.refresh_from_db()


S = ActionItem.Status
C = ActionItem.Category
T = ActionItem.Term
F = ContributingFactor.Category
I = IncidentService.Impact  # noqa: E741


def build_connection_pool_postmortem(team, people, services):
    """The worked example of template-full-postmortem.md, as written there."""
    day = date(2025, 10, 26)
    jane, mike, tom, lisa, john = (people[u] for u in ("jane", "mike", "tom", "lisa", "john"))
    incident = Incident.objects.create(
        title="Application unavailable: database connection pool exhausted",
        severity=Incident.Severity.SEV1,
        status=Incident.Status.RESOLVED,
        team=team,
        commander=jane,
        started_at=at(day, "14:00"),
        detected_at=at(day, "14:00"),
        acknowledged_at=at(day, "14:02"),
        mitigated_at=at(day, "14:15"),
        resolved_at=at(day, "14:30"),
        created_by=jane,
    )
    add_service_impacts(
        incident,
        services,
        [
            ("Frontend", I.DOWN, "unable to reach backend"),
            ("Backend API", I.DEGRADED, "connection pool exhausted"),
            ("Database", I.DEGRADED, "saturated - all connections in use"),
            ("Authentication", I.UNAFFECTED, "separate service"),
            ("Payment processing", I.UNAFFECTED, "queued transactions"),
        ],
    )
    add_timeline(
        incident,
        day,
        [
            ("14:00", 'Alert: "Database Connection Pool Exhausted"', "Monitoring", K.ALERT),
            ("14:02", "On-call engineer paged", "PagerDuty", K.PAGE),
            ("14:02", "Jane acknowledged alert", "SRE (Jane)", K.ACKNOWLEDGE),
            (
                "14:05",
                "Confirmed database connections at max (100/100)",
                "SRE (Jane)",
                K.INVESTIGATE,
            ),
            ("14:08", "Checked application logs for connection usage", "SRE (Jane)", K.INVESTIGATE),
            ("14:10", "Identified connection leak in payment service", "SRE (Jane)", K.INVESTIGATE),
            (
                "14:12",
                "Decision: Restart payment service to free connections",
                "SRE (Jane)",
                K.DECISION,
                True,
            ),
            ("14:15", "Payment service restarted", "SRE (Jane)", K.MITIGATION),
            ("14:17", "Database connections dropped to 20/100", "SRE (Jane)", K.INVESTIGATE),
            ("14:20", "Health checks passing, traffic restored", "SRE (Jane)", K.ACTION),
            ("14:25", "Monitoring for stability", "SRE (Jane)", K.ACTION),
            ("14:30", "Incident declared resolved", "SRE (Jane)", K.RESOLUTION),
            ("15:00", "Developer identified code fix", "Dev (Mike)", K.ACTION),
            ("16:00", "Code fix deployed to production", "Dev (Mike)", K.ACTION),
            ("16:30", "Verified no recurrence after 1 hour", "SRE (Jane)", K.ACTION),
        ],
        jane,
    )
    postmortem = Postmortem.objects.create(
        incident=incident,
        template=Postmortem.Template.FULL,
        executive_summary=(
            "**What Happened**: On October 26, 2025, the application became unavailable for "
            "30 minutes due to database connection pool exhaustion.\n\n"
            "**Impact**: All users were unable to access the application from 14:00-14:30 UTC. "
            "Approximately 10,000 users affected.\n\n"
            "**Root Cause**: Payment service had a connection leak (connections not properly "
            "closed in error handling path), which exhausted the database connection pool during "
            "high traffic.\n\n"
            "**Resolution**: Application was restarted to release connections (immediate fix), "
            "and the connection leak was fixed in code (permanent fix)."
        ),
        user_scope="All users (100%)",
        users_affected=10000,
        support_tickets=47,
        revenue_impact=Decimal(5000),
        slo_target=Decimal("99.9"),
        impact_summary=(
            "30 minutes complete outage. Revenue lost is an estimate based on 30 min downtime. "
            "47 support tickets and 12 social media mentions.\n\n"
            "**Reputation**: Minor (quickly resolved, transparent communication)."
        ),
        root_cause=(
            "Connection leak in payment service error handling path, compounded by lack of "
            "automated testing for connection cleanup."
        ),
        trigger="High payment volume during the Black Friday sale.",
        detection_method=Postmortem.DetectionMethod.AUTOMATED_ALERT,
        alert_name="Database Connection Pool Exhausted",
        detection_notes=(
            "- **Trigger**: `SELECT count(*) FROM pg_stat_activity >= 100`\n"
            "- **Alert latency**: <1 minute (excellent)\n"
            "- **False positive rate**: 0% (first time this alert fired)\n\n"
            "**Detection Quality**:\n\n"
            "- ✅ **Good**: Alert fired quickly (<1 min after issue started)\n"
            "- ❌ **To Improve**: No early warning (should alert at 80%, not 100%)"
        ),
        response_notes=(
            "**What Worked Well**:\n\n"
            "- ✅ Monitoring detected issue immediately\n"
            "- ✅ Clear escalation path (on-call responded in 2 min)\n"
            "- ✅ Good communication (updates every 10 min)\n"
            "- ✅ Quick diagnosis (root cause found in 10 min)\n\n"
            "**What Could Be Improved**:\n\n"
            "- ❌ No runbook for this scenario (had to figure out on the spot)\n"
            "- ❌ No early warning alert (only alerted when 100% full)\n"
            "- ❌ Connection pool too small (should have been sized for traffic)"
        ),
        resolution_short_term=(
            "**Immediate** (Restore service):\n\n"
            "1. Restarted payment service to release connections "
            "(`systemctl restart payment-service`); service restored in 2 minutes\n"
            "2. Monitored connection pool for 30 minutes; connections stayed <50%, no "
            "recurrence\n\n"
            "**Short-term** (Prevent immediate recurrence):\n\n"
            "1. Fixed connection leak in payment service code: added `finally` block with "
            "`conn.close()`, deployed hotfix at 16:00 UTC, verified no leak with load test\n"
            "2. Increased connection pool size: `max_connections` from 100 to 200\n"
            "3. Added connection pool monitoring alert at 80% usage (early warning)"
        ),
        resolution_long_term="Tracked as action items below, with owners and deadlines.",
        went_well=(
            "1. **Monitoring was effective**: alert fired within 1 minute of issue; clear "
            "symptoms (connection pool full)\n"
            "2. **Response was fast**: on-call responded in 2 minutes, root cause identified in "
            "10 minutes, service restored in 15 minutes\n"
            "3. **Communication was clear**: updates every 10 minutes, status page updated "
            "promptly, customer support informed\n"
            "4. **Team collaboration**: SRE diagnosed, Developer fixed, DBA scaled; clear roles "
            "and responsibilities"
        ),
        went_wrong=(
            "1. **Connection leak in production**: code review missed the leak; no automated "
            "test or linter; developer unfamiliar with best practices\n"
            "2. **No early warning**: alert only fired at 100% (too late); should alert at 80%\n"
            "3. **Capacity planning gap**: connection pool too small for Black Friday; no load "
            "testing before high-traffic event\n"
            "4. **No runbook**: had to figure out diagnosis on the fly; a runbook would have "
            "saved 5-10 minutes\n"
            "5. **No circuit breaker**: could have prevented full outage; should fail "
            "gracefully, not cascade"
        ),
        prevention=(
            "**YES** - This incident was preventable.\n\n"
            "1. ✅ Automated test for connection cleanup → Would have caught leak\n"
            "2. ✅ Linter rule for connection cleanup → Would have caught in CI\n"
            "3. ✅ Load testing before Black Friday → Would have found pool too small\n"
            "4. ✅ Connection pool monitoring at 80% → Would have given early warning\n"
            "5. ✅ Code review focus on error paths → Would have caught missing `finally`\n\n"
            "**Cultural Improvements**: this post-mortem focuses on systems, not individuals. "
            "Encourage raising concerns; share post-mortems org-wide; hold regular incident "
            "review meetings."
        ),
        lessons_learned=(
            "- Connection pools are a critical resource that needs explicit monitoring and "
            "alerting before exhaustion.\n"
            "- Error paths deserve the same scrutiny in review and tests as success paths.\n"
            "- Capacity must be reviewed before high-traffic events, not after."
        ),
        supporting_info=(
            "**Related Documentation**:\n\n"
            "- [Database Architecture](https://wiki.example.com/db-arch)\n"
            "- [Connection Pool Best Practices](https://wiki.example.com/db-pool)\n"
            "- [Incident Response Process](https://wiki.example.com/incident-response)\n\n"
            "**Metrics**:\n\n"
            "- Availability: monthly uptime target 99.9% (43.2 min downtime allowed); this "
            "month actual 99.93% (30 min downtime); within SLA\n"
            "- MTTR: this incident 30 minutes; team average 45 minutes"
        ),
        acknowledgments=(
            "- Jane (SRE) - Quick diagnosis and mitigation\n"
            "- Mike (Developer) - Fast code fix\n"
            "- Tom (DBA) - Connection pool scaling\n"
            "- Customer Support team - Handling user complaints"
        ),
        next_review_on=date(2025, 11, 26),
    )
    postmortem.authors.add(jane, mike)
    FiveWhy.objects.bulk_create(
        FiveWhy(postmortem=postmortem, position=n, question=q, answer=a)
        for n, (q, a) in enumerate(
            [
                (
                    "Why did the application become unavailable?",
                    "Database connection pool was exhausted (100/100 connections in use)",
                ),
                (
                    "Why was the connection pool exhausted?",
                    "Payment service had a connection leak (connections not being released)",
                ),
                (
                    "Why were connections not being released?",
                    "Error handling path in payment service missing `conn.close()` in "
                    "`finally` block",
                ),
                (
                    "Why was the error path missing `conn.close()`?",
                    "Developer oversight during code review",
                ),
                (
                    "Why didn't code review catch this?",
                    "No automated test or linter to check connection cleanup",
                ),
            ]
        )
    )
    ContributingFactor.objects.bulk_create(
        ContributingFactor(postmortem=postmortem, category=category, description=text, position=n)
        for n, (category, text) in enumerate(
            [
                (F.TECHNICAL, "Connection pool size too small (100 connections) for Black Friday traffic"),
                (F.TECHNICAL, "No connection timeout configured (connections held indefinitely)"),
                (F.TECHNICAL, "No monitoring alert for connection pool usage (only alerted at 100%)"),
                (F.TECHNICAL, "No circuit breaker to prevent cascade failures"),
                (F.PROCESS, "Code review missed connection leak"),
                (F.PROCESS, "No automated test for connection cleanup"),
                (F.PROCESS, "No load testing before high-traffic event (Black Friday)"),
                (F.PROCESS, "No runbook for connection pool exhaustion"),
                (F.HUMAN, "Developer unfamiliar with connection pool best practices"),
                (F.HUMAN, "Time pressure during feature development (rushed code review)"),
            ]
        )
    )  # fmt: skip
    add_action_items(
        postmortem,
        [
            ("Add automated test for connection cleanup", "P1", lisa, date(2025, 10, 27), S.DONE, C.PREVENT, T.IMMEDIATE),
            ("Add linter rule to check connection cleanup", "P1", mike, date(2025, 10, 27), S.DONE, C.PREVENT, T.IMMEDIATE),
            ("Add connection timeout (30s)", "P2", tom, date(2025, 10, 28), S.IN_PROGRESS, C.PREVENT, T.SHORT_TERM),
            ("Review all DB queries for connection leaks", "P2", mike, date(2025, 11, 2), S.OPEN, C.PREVENT, T.SHORT_TERM),
            ("Load test before high-traffic events", "P3", john, date(2025, 11, 10), S.OPEN, C.DETECT, T.SHORT_TERM),
            ("Create runbook: Connection Pool Issues", "P3", jane, date(2025, 10, 28), S.DONE, C.RESPOND, T.IMMEDIATE),
            ("Add circuit breaker to prevent cascades", "P3", mike, date(2025, 11, 15), S.OPEN, C.RECOVER, T.LONG_TERM),
        ],
    )  # fmt: skip
    FollowUp.objects.create(
        postmortem=postmortem,
        due_on=date(2025, 11, 2),
        title="1-week follow-up",
        notes="Leak fixed, 80% alert live, runbook published. Connection timeout in progress.",
        completed_at=at(date(2025, 11, 2), "10:00"),
    )
    FollowUp.objects.create(
        postmortem=postmortem,
        due_on=date(2025, 11, 26),
        title="1-month follow-up",
        notes="Check the circuit breaker and the query review.",
    )
    postmortem.review_meeting_at = at(date(2025, 10, 28), "15:00")
    postmortem.save(update_fields=["review_meeting_at"])
    sign_off(
        postmortem,
        jane,
        [
            (mike, ReviewRequest.Role.ENGINEERING_LEAD),
            (people["sarah"], ReviewRequest.Role.MANAGER),
        ],
        when=at(date(2025, 10, 27), "10:00"),
        publish=True,
    )
    return postmortem


def build_checkout_outage_postmortem(team, people, services):
    """The worked example of template-incident-postmortem.md."""
    day = date(2025, 1, 15)
    john, jsmith, alice, jane = (people[u] for u in ("john", "jsmith", "alice", "jane"))
    incident = Incident.objects.create(
        title="Checkout outage: connection leak in v2.5.3",
        severity=Incident.Severity.SEV1,
        status=Incident.Status.RESOLVED,
        team=team,
        commander=john,
        started_at=at(day, "14:23"),
        resolved_at=at(day, "16:57"),
        created_by=john,
    )
    add_service_impacts(
        incident,
        services,
        [
            ("Checkout Service", I.DOWN, "complete outage"),
            ("Product Catalog", I.DEGRADED, "degraded performance"),
            ("Authentication", I.DEGRADED, "intermittent failures"),
        ],
    )
    add_timeline(
        incident,
        day,
        [
            ("14:15", "Deploy v2.5.3 to production (10% canary)", "CI/CD Pipeline", K.ACTION),
            ("14:23", "First alerts: checkout error rate elevated", "Monitoring System", K.ALERT, True),
            ("14:25", "On-call engineer paged", "PagerDuty", K.PAGE),
            ("14:28", "Engineer acknowledges alert, begins investigation", "John Doe (SRE)", K.ACKNOWLEDGE),
            ("14:32", "Error rate continues climbing, checkout success rate at 85%", "Monitoring", K.ALERT),
            ("14:35", "Incident declared SEV-2, war room opened", "John Doe", K.COMMUNICATION, True),
            ("14:37", "Checking recent deployments, suspect canary rollout", "Incident Team", K.INVESTIGATE),
            ("14:40", "Decision: Rollback v2.5.3 deployment", "Incident Commander", K.DECISION, True),
            ("14:42", "Rollback initiated", "Jane Smith (Dev)", K.ACTION),
            ("14:47", "Rollback completed, but errors persist", "CI/CD", K.ACTION),
            ("14:50", "Elevated to SEV-1: Full checkout outage", "Incident Commander", K.DECISION, True),
            ("14:52", "Database team engaged, connection pool analysis begins", "DB Team", K.INVESTIGATE),
            ("14:58", "Identified: DB connection pool exhausted (all 100 connections in use)", "Alice Johnson (DBA)", K.INVESTIGATE),
            ("15:05", "Attempted connection pool expansion to 200", "DB Team", K.ACTION),
            ("15:08", "Expansion helped briefly, but pool exhausted again", "Monitoring", K.ALERT),
            ("15:12", "Root cause identified: Connection leak in v2.5.3 code", "Dev Team", K.INVESTIGATE, True),
            ("15:15", "Analysis: Rollback didn't help because leaked connections persisted", "Incident Team", K.INVESTIGATE),
            ("15:18", "Decision: Restart all checkout service pods to clear connections", "Incident Commander", K.DECISION, True),
            ("15:20", "Rolling restart initiated (3 pods at a time)", "SRE Team", K.ACTION),
            ("15:35", "All pods restarted, connection count normalizing", "Monitoring", K.MITIGATION),
            ("15:42", "Checkout success rate recovering: 50% → 75% → 95%", "Monitoring", K.ACTION),
            ("15:55", "Checkout success rate stable at 99.5%", "Monitoring", K.ACTION),
            ("16:05", "User-facing systems validated, no errors", "Incident Team", K.ACTION),
            ("16:20", "Extended monitoring period (30 minutes)", "Incident Commander", K.ACTION),
            ("16:50", "All metrics within normal ranges", "Monitoring", K.ACTION),
            ("16:57", "Incident resolved, SEV-1 closed", "Incident Commander", K.RESOLUTION, True),
            ("17:30", "Hot-fix v2.5.4 with connection leak fix merged", "Dev Team", K.ACTION),
        ],
        john,
    )  # fmt: skip
    postmortem = Postmortem.objects.create(
        incident=incident,
        template=Postmortem.Template.INCIDENT_POSTMORTEM,
        executive_summary=(
            "On January 15, 2025, we deployed v2.5.3 of the checkout service which introduced a "
            "database connection leak. The leak caused connections to remain open after "
            "transactions completed, gradually exhausting the connection pool. Once exhausted, "
            "all new checkout requests failed, resulting in a complete outage.\n\n"
            "**User Impact:** 100% of checkout attempts failed; estimated 15,000 affected users; "
            "$125,000 in lost revenue; 2,500 support tickets created."
        ),
        user_scope="100% of checkout attempts failed",
        users_affected=15000,
        support_tickets=2500,
        revenue_impact=Decimal(125000),
        slo_target=Decimal("99.9"),
        impact_summary=(
            "- Customer Satisfaction Score: dropped from 4.5 to 3.2 (temporary)\n"
            "- Error budget: fully exhausted (used 100% in a single incident); 1 week of error "
            "budget freeze (no risky deployments)"
        ),
        root_cause=(
            "A code change in the payment processing module (PR #1234) failed to properly close "
            "database connections in error-handling paths:\n\n"
            "```python\n"
            "# Problematic code in v2.5.3\n"
            "def process_payment(payment_data):\n"
            "    conn = get_db_connection()\n"
            "    try:\n"
            "        result = execute_payment(conn, payment_data)\n"
            "        return result\n"
            "    except PaymentError as e:\n"
            "        log_error(e)\n"
            "        return None\n"
            "    # Connection not closed on error path!\n"
            "```"
        ),
        trigger="Deployment of v2.5.3 to production (10% canary rolled to 100% in 8 minutes).",
        why_not_caught=(
            "1. **Testing Gap:** Integration tests didn't verify connection cleanup\n"
            "2. **Code Review Miss:** Reviewers focused on business logic, not resource "
            "management\n"
            "3. **Canary Too Fast:** 10% canary rolled to 100% in 8 minutes (should be slower)\n"
            "4. **Monitoring Gap:** No alert for connection pool utilization\n"
            "5. **Deployment Process:** No load testing in staging with realistic traffic "
            "patterns"
        ),
        response_notes=(
            "- Responders: 12 engineers across 4 teams\n"
            "- Escalations: 2 (SEV-2 → SEV-1, then to VP Engineering)\n"
            "- War Room Participants: Average 8 concurrent participants\n"
            "- Communication Channels: Slack (primary), Zoom (secondary)"
        ),
        went_well=(
            "**Strengths in Response:**\n\n"
            "1. **Fast Detection:** Automated monitoring alerted within 8 minutes of deployment\n"
            "2. **Clear Communication:** War room established quickly, stakeholders informed\n"
            "3. **Team Coordination:** Cross-functional team assembled and worked effectively\n"
            "4. **Quick Diagnosis:** DB team identified connection pool issue within 20 minutes\n"
            "5. **Decisive Action:** Incident commander made clear decisions under pressure\n"
            "6. **Documentation:** Timeline documented in real-time during incident\n\n"
            "**Effective Tools/Processes:**\n\n"
            "- PagerDuty escalation worked correctly\n"
            "- Grafana dashboards provided quick visibility\n"
            "- Slack war room kept everyone aligned\n"
            "- Runbooks for rollback were accurate\n"
            "- Database monitoring tools essential for diagnosis"
        ),
        went_wrong=(
            "**Gaps and Issues:**\n\n"
            "1. **Slow Rollback Decision:** Took 17 minutes to decide on rollback (should be "
            "faster)\n"
            "2. **Rollback Ineffective:** Didn't realize leaked connections would persist after "
            "rollback\n"
            "3. **Inadequate Canary:** Canary rollout too fast to catch gradual leak\n"
            "4. **Missing Monitoring:** No alerts for DB connection pool utilization\n"
            "5. **Test Coverage:** Integration tests didn't validate resource cleanup\n"
            "6. **Load Testing:** Staging environment didn't simulate production load\n\n"
            "**Process Failures:**\n\n"
            "- Code review didn't catch resource leak\n"
            '- PR template missing "resource management" checklist\n'
            "- No requirement for load testing before production\n"
            "- Canary deployment policy not enforced (should be slower)"
        ),
        lessons_learned=(
            "**Technical Insights:**\n\n"
            "1. Connection pools are a critical resource requiring explicit monitoring\n"
            "2. Resource leaks may not manifest immediately (gradual exhaustion)\n"
            "3. Rollback doesn't fix resource exhaustion without process restart\n"
            "4. Error paths in code require equal scrutiny as success paths\n"
            "5. ORM behavior changes can have subtle, dangerous effects\n\n"
            "**Process Insights:**\n\n"
            "1. Faster canary rollouts increase risk without proportional speed benefit\n"
            "2. Code review checklists should include resource management\n"
            "3. Load testing in staging is essential for database-intensive changes\n"
            "4. Connection pool monitoring must trigger alerts before exhaustion\n"
            "5. Runbooks should account for stateful resource issues (not just code rollback)"
        ),
        communication_log=(
            "- 14:35 - Internal: Engineering team notified\n"
            "- 14:50 - External: Status page updated (investigating)\n"
            "- 15:20 - External: Status page updated (implementing fix)\n"
            "- 16:57 - External: Status page updated (resolved)\n"
            "- 18:00 - External: Customer email with explanation and apology"
        ),
        supporting_info=(
            "- Incident Slack Channel: #incident-2025-001\n"
            "- Monitoring Dashboard: https://grafana.example.com/d/incident-001\n"
            "- Code Change (PR #1234): https://github.com/org/repo/pull/1234\n"
            "- Hot-fix (PR #1250): https://github.com/org/repo/pull/1250\n"
            "- Database Metrics: https://datadog.com/dashboard/db-connections\n\n"
            "**SQL Queries for Analysis:**\n\n"
            "```sql\n"
            "-- Identify leaked connections\n"
            "SELECT pid, state, state_change, query_start, NOW() - query_start AS duration\n"
            "FROM pg_stat_activity\n"
            "WHERE state != 'idle' AND NOW() - query_start > INTERVAL '5 minutes';\n"
            "```"
        ),
    )
    postmortem.authors.add(john, jsmith)
    ContributingFactor.objects.bulk_create(
        ContributingFactor(postmortem=postmortem, category=category, description=text, position=n)
        for n, (category, text) in enumerate(
            [
                (F.PROCESS, "**Time Pressure:** Feature rushed to meet deadline"),
                (F.HUMAN, "**Context Switch:** Changes made during on-call rotation handoff"),
                (F.TECHNICAL, "**Library Update:** New ORM version changed connection handling behavior"),
                (F.PROCESS, "**Documentation:** Connection management best practices not documented"),
            ]
        )
    )  # fmt: skip
    d = date
    add_action_items(
        postmortem,
        [
            ("Add DB connection pool monitoring and alerting (alert at 75%)", "P1", alice, d(2025, 1, 17), S.DONE, C.DETECT, T.IMMEDIATE),
            ("Deploy hot-fix v2.5.4 with connection leak fix", "P0", jsmith, d(2025, 1, 16), S.DONE, C.RECOVER, T.IMMEDIATE),
            ("Add integration test for connection cleanup", "P1", jsmith, d(2025, 1, 19), S.DONE, C.PREVENT, T.IMMEDIATE),
            ("Update code review checklist to include resource management", "P2", john, d(2025, 1, 18), S.DONE, C.PREVENT, T.IMMEDIATE),
            ("Implement automated load testing in CI pipeline", "P2", people["lisa"], d(2025, 1, 30), S.DONE, C.PREVENT, T.SHORT_TERM),
            ("Slow down canary rollout policy (10% for 30 min minimum)", "P2", john, d(2025, 1, 25), S.DONE, C.PREVENT, T.SHORT_TERM),
            ("Add connection pool metrics to all service dashboards", "P2", jane, d(2025, 1, 28), S.DONE, C.DETECT, T.SHORT_TERM),
            ("Document connection management best practices", "P3", people["mike"], d(2025, 2, 5), S.DONE, C.PREVENT, T.SHORT_TERM),
            ("Implement circuit breaker pattern for database connections", "P2", people["mike"], d(2025, 2, 10), S.DONE, C.RECOVER, T.SHORT_TERM),
            ("Upgrade staging environment to match production scale", "P3", people["tom"], d(2025, 3, 15), S.DONE, C.PREVENT, T.LONG_TERM),
            ("Implement automated resource leak detection in CI", "P3", jsmith, d(2025, 3, 30), S.WONT_DO, C.PREVENT, T.LONG_TERM),
            ("Chaos engineering: Test connection pool exhaustion scenarios", "P3", jane, d(2025, 4, 1), S.DONE, C.RESPOND, T.LONG_TERM),
            ("Training: Resource management and connection pooling", "P3", alice, d(2025, 4, 15), S.DONE, C.PREVENT, T.LONG_TERM),
        ],
    )  # fmt: skip
    sign_off(
        postmortem,
        john,
        [
            (alice, ReviewRequest.Role.ENGINEERING_LEAD),
            (people["sarah"], ReviewRequest.Role.MANAGER),
        ],
        when=at(date(2025, 1, 16), "16:00"),
    )
    return postmortem


def build_flash_sale_report(team, people, services, today):
    """The worked example of template-incident-report.md, set three days ago so that the demo
    has a draft waiting for its authors and action items coming due."""
    day = today - timedelta(days=3)
    jane, mike, tom, lisa, john = (people[u] for u in ("jane", "mike", "tom", "lisa", "john"))
    incident = Incident.objects.create(
        title="API unavailable during flash sale: connection pool exhausted",
        severity=Incident.Severity.SEV2,
        status=Incident.Status.RESOLVED,
        team=team,
        commander=jane,
        started_at=at(day, "14:00"),
        detected_at=at(day, "14:00"),
        acknowledged_at=at(day, "14:02"),
        mitigated_at=at(day, "14:15"),
        resolved_at=at(day, "14:30"),
        created_by=jane,
    )
    add_service_impacts(
        incident,
        services,
        [
            ("Backend API", I.DOWN, "all requests failing"),
            ("Database", I.DEGRADED, "connection pool exhausted"),
            ("Frontend", I.DOWN, "unable to reach the API"),
        ],
    )
    add_timeline(
        incident,
        day,
        [
            ("14:00", 'First alert: "Database connection pool exhausted"', "Monitoring", K.ALERT, False, "Alert triggered"),
            ("14:02", "On-call engineer paged", "SRE (Jane)", K.ACKNOWLEDGE, False, "Acknowledged alert"),
            ("14:05", "Confirmed database connections at max (100/100)", "SRE (Jane)", K.INVESTIGATE, False, "Checked pg_stat_activity"),
            ("14:10", "Identified connection leak in payment service", "SRE (Jane)", K.INVESTIGATE, False, "Reviewed application logs"),
            ("14:15", "Restarted payment service", "SRE (Jane)", K.MITIGATION, True, "systemctl restart payment"),
            ("14:20", "Database connections normalized (20/100)", "SRE (Jane)", K.ACTION, False, "Monitored connections"),
            ("14:25", "Health checks passing", "SRE (Jane)", K.ACTION, False, "Verified /health endpoint"),
            ("14:30", "Incident resolved", "SRE (Jane)", K.RESOLUTION, False, "Declared incident resolved"),
        ],
        jane,
    )  # fmt: skip
    postmortem = Postmortem.objects.create(
        incident=incident,
        template=Postmortem.Template.INCIDENT_REPORT,
        executive_summary=(
            f"On {day:%Y-%m-%d} at 14:00 UTC, the API service became unavailable due to database "
            "connection pool exhaustion. All users were unable to access the application. The "
            "issue was resolved at 14:30 UTC by restarting the payment service, which held the "
            "leaked connections. Total downtime: 30 minutes."
        ),
        user_scope="All users",
        users_affected=8200,
        support_tickets=31,
        slo_target=Decimal("99.95"),
        impact_summary="**Reputation**: Tweet at 14:10 acknowledging the issue; no press coverage.",
        root_cause=(
            "**What broke**: Payment service had a connection leak (connections not released "
            "after query).\n\n"
            "**Why it broke**: Missing `conn.close()` in error handling path."
        ),
        trigger="High payment volume (flash sale).",
        detection_method=Postmortem.DetectionMethod.AUTOMATED_ALERT,
        alert_name="Database Connection Pool Exhausted",
        detection_notes=(
            "- Alert triggered at: 14:00 UTC\n"
            "- Time to detection: <1 minute (automated)\n"
            "- Time to acknowledgment: 2 minutes\n\n"
            "**Good**: Alert fired quickly (<1 min). **To Improve**: Need alert BEFORE pool "
            "exhausted (at 80% usage)."
        ),
        response_notes=(
            "**What Worked Well**\n\n"
            "- Monitoring detected issue quickly\n"
            "- Clear runbook for connection pool issues\n"
            "- SRE responded within 2 minutes\n\n"
            "**What Could Be Improved**\n\n"
            "- No automated tests for connection cleanup\n"
            "- No early warning alert (only alerted when 100% full)"
        ),
        resolution_short_term=(
            "- Restarted payment service to release connections\n"
            "- Manually monitored connection pool for 30 minutes"
        ),
        resolution_long_term="See the action items: leak fix, tests, pool size, alerting.",
        communication_log=(
            "### Internal Communication\n\n"
            f"- **Incident channel**: #incident-{day:%Y%m%d}-db-pool\n"
            "- **Participants**: SRE (Jane), DevOps (John), Manager (Sarah)\n"
            "- **Updates posted**: Every 10 minutes\n\n"
            "### External Communication\n\n"
            "- **Status page**: Updated at 14:05, 14:20, 14:30\n"
            "- **Customer email**: Sent at 15:00 (post-incident)\n"
            "- **Social media**: Tweet at 14:10 acknowledging issue"
        ),
        went_well=(
            "- ✅ Monitoring detected issue immediately\n"
            "- ✅ Clear escalation path (on-call responded quickly)\n"
            "- ✅ Runbook helped identify issue faster"
        ),
        went_wrong=(
            "- ❌ Connection leak made it to production (code review miss)\n"
            "- ❌ Connection pool too small for high-traffic event"
        ),
        lessons_learned="",
        supporting_info=(
            "**Commands Run**\n\n"
            "```bash\n"
            "SELECT count(*) FROM pg_stat_activity;\n"
            "systemctl restart payment-service\n"
            "```"
        ),
    )
    postmortem.authors.add(jane, john)
    ContributingFactor.objects.bulk_create(
        [
            ContributingFactor(
                postmortem=postmortem,
                category=F.TECHNICAL,
                description="Database connection pool size too small (100 connections)",
                position=0,
            ),
            ContributingFactor(
                postmortem=postmortem,
                category=F.TECHNICAL,
                description="No connection timeout configured",
                position=1,
            ),
        ]
    )
    add_action_items(
        postmortem,
        [
            ("Fix connection leak in payment service", "P1", mike, today - timedelta(days=2), S.DONE, C.PREVENT, T.IMMEDIATE),
            ("Add automated test for connection cleanup", "P1", lisa, today - timedelta(days=1), S.OPEN, C.PREVENT, T.IMMEDIATE),
            ("Increase connection pool size (100 → 200)", "P2", tom, today + timedelta(days=1), S.IN_PROGRESS, C.PREVENT, T.IMMEDIATE),
            ("Add connection pool monitoring (>80%)", "P2", jane, today + timedelta(days=2), S.OPEN, C.DETECT, T.SHORT_TERM),
            ("Add connection timeout (30s)", "P3", tom, today + timedelta(days=7), S.OPEN, C.PREVENT, T.SHORT_TERM),
            ("Review all queries for connection leaks", "P3", mike, today + timedelta(days=14), S.OPEN, C.PREVENT, T.SHORT_TERM),
            ("Load test for peak sale traffic", "P3", john, None, S.OPEN, C.DETECT, T.LONG_TERM),
        ],
    )  # fmt: skip
    # Still a draft: the checklist shows what is missing; the review meeting is booked.
    postmortem.review_meeting_at = at(today + timedelta(days=2), "15:00")
    postmortem.save(update_fields=["review_meeting_at"])
    review.add_reviewer(postmortem, people["sarah"], ReviewRequest.Role.MANAGER, jane)
    return postmortem


@transaction.atomic
def seed_demo(password, today=None):
    """Create the demo team, people and incidents; safe to run twice."""
    today = today or timezone.localdate()
    team, people, services = ensure_people(password)
    if Incident.objects.filter(team=team).exists():
        return team, people, []
    # Created in the order they happened, so that references count up with time.
    checkout = build_checkout_outage_postmortem(team, people, services)
    earlier = Incident.objects.create(
        title="Database connection pool exhausted",
        severity=Incident.Severity.SEV2,
        status=Incident.Status.RESOLVED,
        team=team,
        started_at=at(date(2025, 9, 15), "09:40"),
        resolved_at=at(date(2025, 9, 15), "10:25"),
        created_by=people["tom"],
    )
    full = build_connection_pool_postmortem(team, people, services)
    tags = {
        checkout.incident: ["deploy", "database", "connection-leak"],
        earlier: ["database", "capacity"],
        full.incident: ["database", "capacity", "config"],
    }
    IncidentLink.objects.create(
        incident=full.incident, related=earlier, note="Same pool, exhausted a month before"
    )
    report = build_flash_sale_report(team, people, services, today)
    IncidentLink.objects.create(
        incident=report.incident, related=full.incident, note="Pool sizing came up again"
    )
    IncidentLink.objects.create(incident=report.incident, related=earlier)
    tags[report.incident] = ["database", "capacity", "traffic-spike"]
    for incident, names in tags.items():
        for name in names:  # one by one: the search index listens to each save
            IncidentTag.objects.create(incident=incident, name=name)
    for postmortem in (full, checkout, report):
        # Postmortems are written the day after; the demo should read that way.
        written = postmortem.incident.started_at + timedelta(days=1)
        Postmortem.objects.filter(pk=postmortem.pk).update(created_at=written)

    other_team, _ = Team.objects.get_or_create(name="Search", defaults={"slug": "search"})
    User = get_user_model()
    ravi, _ = User.objects.get_or_create(
        username="ravi",
        defaults={"first_name": "Ravi", "last_name": "Rao", "email": "ravi@example.com"},
    )
    ravi.set_password(password)
    ravi.save(update_fields=["password"])
    Membership.objects.get_or_create(
        team=other_team, user=ravi, defaults={"role": Membership.Role.MANAGER}
    )
    Incident.objects.create(
        title="Search results stale after index rebuild",
        severity=Incident.Severity.SEV3,
        status=Incident.Status.MONITORING,
        team=other_team,
        commander=ravi,
        started_at=at(today - timedelta(days=1), "08:10"),
        created_by=ravi,
    )
    return team, people, [full, checkout, report]
