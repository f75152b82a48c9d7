"""The Markdown export holds every section and table row of the seed templates' examples."""

import re

import pytest

from actionitems.demo import (
    build_checkout_outage_postmortem,
    build_connection_pool_postmortem,
    ensure_people,
)
from postmortems.export import export_markdown
from postmortems.models import Postmortem

# Rows exactly as ../shared/seeds/template-full-postmortem.md writes them.
FULL_TIMELINE_ROWS = [
    '| 14:00 | Alert: "Database Connection Pool Exhausted" | Monitoring |',
    "| 14:02 | On-call engineer paged | PagerDuty |",
    "| 14:02 | Jane acknowledged alert | SRE (Jane) |",
    "| 14:05 | Confirmed database connections at max (100/100) | SRE (Jane) |",
    "| 14:08 | Checked application logs for connection usage | SRE (Jane) |",
    "| 14:10 | Identified connection leak in payment service | SRE (Jane) |",
    "| 14:12 | Decision: Restart payment service to free connections | SRE (Jane) |",
    "| 14:15 | Payment service restarted | SRE (Jane) |",
    "| 14:17 | Database connections dropped to 20/100 | SRE (Jane) |",
    "| 14:20 | Health checks passing, traffic restored | SRE (Jane) |",
    "| 14:25 | Monitoring for stability | SRE (Jane) |",
    "| 14:30 | Incident declared resolved | SRE (Jane) |",
    "| 15:00 | Developer identified code fix | Dev (Mike) |",
    "| 16:00 | Code fix deployed to production | Dev (Mike) |",
    "| 16:30 | Verified no recurrence after 1 hour | SRE (Jane) |",
]

# The seed's action item table; owners are people of the demo team, statuses our marks.
FULL_ACTION_ITEM_ROWS = [
    "| 1 | Add automated test for connection cleanup | P1 | Lisa Chen | 2025-10-27 | ✅ Done |",
    "| 2 | Add linter rule to check connection cleanup | P1 | Mike Alvarez | 2025-10-27 | ✅ Done |",
    "| 3 | Add connection timeout (30s) | P2 | Tom Becker | 2025-10-28 | ⏳ In progress |",
    "| 4 | Review all DB queries for connection leaks | P2 | Mike Alvarez | 2025-11-02 | 📅 Open |",
    "| 5 | Load test before high-traffic events | P3 | John Doe | 2025-11-10 | 📅 Open |",
    "| 6 | Create runbook: Connection Pool Issues | P3 | Jane Park | 2025-10-28 | ✅ Done |",
    "| 7 | Add circuit breaker to prevent cascades | P3 | Mike Alvarez | 2025-11-15 | 📅 Open |",
]

FULL_FIVE_WHYS = [
    "**1. Why did the application become unavailable?**\n"
    "→ Database connection pool was exhausted (100/100 connections in use)",
    "**2. Why was the connection pool exhausted?**\n"
    "→ Payment service had a connection leak (connections not being released)",
    "**3. Why were connections not being released?**\n"
    "→ Error handling path in payment service missing `conn.close()` in `finally` block",
    "**4. Why was the error path missing `conn.close()`?**\n"
    "→ Developer oversight during code review",
    "**5. Why didn't code review catch this?**\n"
    "→ No automated test or linter to check connection cleanup",
]

FULL_CONTRIBUTING_FACTORS = [
    "**Technical Factors**:\n"
    "1. Connection pool size too small (100 connections) for Black Friday traffic\n"
    "2. No connection timeout configured (connections held indefinitely)\n"
    "3. No monitoring alert for connection pool usage (only alerted at 100%)\n"
    "4. No circuit breaker to prevent cascade failures",
    "**Process Factors**:\n"
    "1. Code review missed connection leak\n"
    "2. No automated test for connection cleanup\n"
    "3. No load testing before high-traffic event (Black Friday)\n"
    "4. No runbook for connection pool exhaustion",
    "**Human Factors**:\n"
    "1. Developer unfamiliar with connection pool best practices\n"
    "2. Time pressure during feature development (rushed code review)",
]

# Headings in the order of the seed; "###" under the "##" group they belong to.
FULL_HEADINGS = [
    "# Post-Mortem: Application unavailable: database connection pool exhausted",
    "## Executive Summary",
    "## Incident Details",
    "### Timeline",
    "### Impact",
    "## Root Cause Analysis",
    "### The Five Whys",
    "### Root Cause",
    "### Contributing Factors",
    "## Detection and Response",
    "### Detection",
    "### Response",
    "## Resolution",
    "### Short-term Fix",
    "### Long-term Prevention",
    "## Lessons Learned",
    "### What Went Well",
    "### What Went Wrong",
    "### Preventable?",
    "### Key Lessons",
    "## Supporting Information",
    "## Acknowledgments",
    "## Follow-ups",
    "## Sign-off",
]


@pytest.fixture
def demo(db):
    return ensure_people("demo")


@pytest.fixture
def full_example(demo):
    return build_connection_pool_postmortem(*demo)


def headings(markdown):
    return [line for line in markdown.splitlines() if re.match(r"^#{1,3} ", line)]


def test_full_template_export_has_every_heading_in_order(full_example):
    assert headings(export_markdown(full_example)) == FULL_HEADINGS


def test_full_template_export_has_every_timeline_row(full_example):
    markdown = export_markdown(full_example)
    assert "| Time (UTC) | Event | Actor |" in markdown
    for row in FULL_TIMELINE_ROWS:
        assert row in markdown
    assert "**Total Duration**: 30 min" in markdown


def test_full_template_export_has_every_action_item_row(full_example):
    markdown = export_markdown(full_example)
    assert "| # | Action | Priority | Owner | Due Date | Status |" in markdown
    for row in FULL_ACTION_ITEM_ROWS:
        assert row in markdown


def test_full_template_export_has_five_whys_and_contributing_factors(full_example):
    markdown = export_markdown(full_example)
    for why in FULL_FIVE_WHYS:
        assert why in markdown
    for block in FULL_CONTRIBUTING_FACTORS:
        assert block in markdown


def test_full_template_export_has_summary_impact_root_cause_and_lessons(full_example):
    markdown = export_markdown(full_example)
    for expected in [
        "**Date of Incident**: 2025-10-26",
        "**Severity**: SEV1",
        "**What Happened**: On October 26, 2025, the application became unavailable",
        "**Root Cause**: Payment service had a connection leak",
        "- **Scope**: All users (100%)",
        "- **Count**: ~10,000 users",
        "- Frontend: down (unable to reach backend)",
        "- Authentication: not affected (separate service)",
        "- **Revenue Lost**: $5,000.00",
        "- **SLA Breach**: No (30 min < 43.2 min monthly budget for 99.9%)",
        "- **Customer Complaints**: 47 support tickets",
        "Connection leak in payment service error handling path, compounded by lack of",
        "**How Detected**: Automated monitoring alert",
        '**Alert**: "Database Connection Pool Exhausted"',
        "- **Time to acknowledge**: 2 min",
        "- **Time to resolve**: 30 min",
        "1. **Monitoring was effective**",
        "2. **No early warning**",
        "**YES** - This incident was preventable.",
        "Error paths deserve the same scrutiny",
        "[Connection Pool Best Practices](https://wiki.example.com/db-pool)",
        "- Jane (SRE) - Quick diagnosis and mitigation",
        "- [x] 2025-11-02: 1-week follow-up",
        "**Next Review**: 2025-11-26",
    ]:
        assert expected in markdown, expected


def test_empty_sections_stay_visible(incident, author):
    postmortem = Postmortem.objects.create(incident=incident)
    markdown = export_markdown(postmortem)
    assert "## Executive Summary\n\n_Not written yet._" in markdown
    assert "### Timeline\n\n_Not written yet._" in markdown


def test_table_cells_escape_pipes_and_newlines(full_example):
    event = full_example.incident.timeline_events.first()
    event.description = "Ran `a | b`\nthen more"
    event.save()
    markdown = export_markdown(Postmortem.objects.get(pk=full_example.pk))
    assert "| 14:00 | Ran `a \\| b` then more | Monitoring |" in markdown


def test_incident_postmortem_template_groups_action_items_by_term(demo):
    postmortem = build_checkout_outage_postmortem(*demo)
    markdown = export_markdown(postmortem)
    assert markdown.startswith("# Postmortem: Checkout outage")
    assert "| Time | Event | Actor/System |" in markdown
    assert "| 14:40 | **Decision: Rollback v2.5.3 deployment** | Incident Commander |" in markdown
    assert "| 17:30 | Hot-fix v2.5.4 with connection leak fix merged | Dev Team |" in markdown
    immediate = markdown.index("**Immediate (this week):**")
    short = markdown.index("**Short-term (this month):**")
    long = markdown.index("**Long-term (this quarter):**")
    assert immediate < short < long
    assert "| ID | Action | Owner | Due Date | Status |" in markdown
    assert "| 13 | Training: Resource management and connection pooling | Alice Johnson |" in (
        markdown
    )
    assert "### Why It Wasn't Caught" in markdown
    assert "**Duration**: 2 h 34 min (14:23 UTC - 16:57 UTC)" in markdown


def test_export_download(client, demo, full_example):
    _team, people, _services = demo
    client.force_login(people["jane"])
    response = client.get(full_example.get_export_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{full_example.incident.reference}-postmortem.md"'
    )
    assert FULL_TIMELINE_ROWS[0] in response.content.decode()
