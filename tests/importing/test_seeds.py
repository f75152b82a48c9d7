"""Every seed template imports whole: what landed where, and nothing lost in any layout.

The seeds are damaged the way real exports are (Mac Roman and Windows-1252 mojibake, one
file with its line breaks lost), which the importer repairs and lists.
"""

import re
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from postmortems.export import export_markdown
from postmortems.importing.service import plan_import, write_import
from postmortems.importing.text import repair
from postmortems.layouts import LAYOUTS

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
pytestmark = pytest.mark.django_db


def seed(name):
    path = SEEDS / name
    if not path.exists():
        pytest.skip(f"{path} is not on this machine")
    return path.read_text(encoding="utf-8")


@pytest.fixture
def imported(team, author, teammate):
    def load(name):
        plan = plan_import(seed(name), team=team)
        return plan, write_import(plan, by=author)

    return load


def words(text):
    text = re.sub(r"[*_`|#>\[\]()]", " ", text)
    pattern = r"[A-Za-z0-9][A-Za-z0-9'./:-]*[A-Za-z0-9]|[A-Za-z0-9]"
    return Counter(word.lower() for word in re.findall(pattern, text))


# What an import changes on purpose: roles after names that matched an account ("Mike (Dev)"
# is Mike Alvarez), statuses this app names otherwise ("Planned" is Open), a duration written
# out in words ("2 hours 34 minutes" is "2 h 34 min"), and item numbers the export counts
# again.
NORMALISED = {"sre", "dev", "planned", "complete", "not", "started", "pending", "hours",
              "minutes", "3", "4", "5"}  # fmt: skip


@pytest.mark.parametrize(
    "name",
    [
        "template-full-postmortem.md",
        "template-incident-postmortem.md",
        "template-incident-report.md",
    ],
)
def test_nothing_written_is_lost_in_any_layout(imported, name):
    _plan, incident = imported(name)
    source = words(repair(seed(name))[0])
    own = export_markdown(incident.postmortem)
    lost = {w: n - words(own)[w] for w, n in source.items() if words(own)[w] < n}
    assert set(lost) <= NORMALISED, lost
    for layout in LAYOUTS.values():
        exported = words(export_markdown(incident.postmortem, layout))
        missing = {w for w, n in source.items() if exported[w] == 0}
        # Other layouts name their headings and columns their own way; the content stays.
        headings = {"post-mortem", "postmortem", "report", "executive", "action", "items",
                    "id", "date", "due", "actor/system", "actor", "owner", "business",
                    "effectiveness", "appendices", "related", "links", "by", "whom",
                    "created", "analysis", "detection", "improve", "short-term",
                    "preventable", "supporting", "information", "of", "and", "the", "utc",
                    "fix", "communication", "metrics"}  # fmt: skip
        closing = set(words(LAYOUTS["full"].closing))
        assert missing <= NORMALISED | headings | closing, (layout.key, missing)


def test_full_postmortem_lands_where_it_belongs(imported):
    plan, incident = imported("template-full-postmortem.md")
    postmortem = incident.postmortem
    assert postmortem.template == "full"
    assert incident.title == "[Incident Title]"
    events = list(incident.timeline_events.all())
    assert len(events) == 15
    assert (events[0].description, events[0].actor, events[0].kind) == (
        'Alert: "Database Connection Pool Exhausted"', "Monitoring", "alert")  # fmt: skip
    assert postmortem.five_whys.first().question == ("Why did the application become unavailable?")
    assert postmortem.five_whys.all()[4].answer == (
        "No automated test or linter to check connection cleanup"
    )
    assert "compounded by lack of automated testing" in postmortem.root_cause
    factors = Counter(postmortem.contributing_factors.values_list("category", flat=True))
    assert factors == {"technical": 4, "process": 4, "human": 2}
    services = {s.service.name: (s.impact, s.note) for s in incident.service_impacts.all()}
    assert services["Frontend"] == ("down", "unable to reach backend")
    assert services["Database"] == ("degraded", "saturated - all connections in use")
    assert services["Authentication"] == ("unaffected", "separate service")
    items = list(postmortem.action_items.all())
    assert len(items) == 7
    assert [(i.owner_display, i.due_date, i.status, i.priority) for i in items[:3]] == [
        ("Lisa (QA)", date(2025, 10, 27), "done", "P1"),
        ("Mike Alvarez", date(2025, 10, 27), "done", "P1"),
        ("Tom (DBA)", date(2025, 10, 28), "in_progress", "P2"),
    ]
    assert items[1].owner is not None and items[0].owner is None  # Mike has an account
    assert "```\nWhat Happened: On October 26, 2025" in postmortem.executive_summary
    assert "#### Prevention Strategies\n\n##### Technical Improvements" in postmortem.prevention
    additional = {s.title: s for s in postmortem.additional_sections.all()}
    assert additional["Recommendations"].after == "prevention"
    assert "#### Immediate (This Week)\n\n- [x] Fix connection leak" in (
        additional["Recommendations"].body
    )
    assert "**Total Duration**: 30 minutes (outage)" in additional["Timeline notes"].body
    assert "- [x] Manager: Sarah - YYYY-MM-DD" in additional["Sign-off notes"].body
    assert len(plan.document.repairs) == 62  # Mac Roman check marks and arrows, repaired
    assert "✅ Frontend" in str(plan.document.repairs[0])


def test_incident_postmortem_lands_where_it_belongs(imported):
    plan, incident = imported("template-incident-postmortem.md")
    postmortem = incident.postmortem
    assert postmortem.template == "incident_postmortem"
    assert incident.external_id == "INC-2025-001"
    assert incident.started_at == datetime(2025, 1, 15, 14, 23, tzinfo=UTC)
    assert incident.resolved_at == datetime(2025, 1, 15, 16, 57, tzinfo=UTC)
    assert (incident.severity, incident.status) == ("SEV1", "resolved")
    events = list(incident.timeline_events.all())
    assert len(events) == 27
    assert sum(e.is_key_decision for e in events) == 7
    assert events[0].description == "Deploy v2.5.3 to production (10% canary)"
    assert "50% → 75% → 95%" in events[20].description  # repaired mojibake
    items = list(postmortem.action_items.all())
    assert Counter(i.term for i in items) == {
        "immediate": 4, "short_term": 5, "long_term": 4}  # fmt: skip
    assert [(i.title, i.owner_display, i.status) for i in items[2:4]] == [
        ("Add integration test for connection cleanup", "Dev Team", "in_progress"),
        ("Update code review checklist to include resource management", "John (SRE)", "done"),
    ]
    assert items[5].status == "open"  # "Not Started"
    assert "# Problematic code in v2.5.3\ndef process_payment" in postmortem.root_cause
    assert "**Root Cause (Brief):**" in postmortem.root_cause
    assert postmortem.why_not_caught.startswith("1. **Testing Gap:**")
    assert postmortem.contributing_factors.count() == 4
    assert "**C. Communication Timeline:**\n\n- 14:35 - Internal" in postmortem.communication_log
    assert "SELECT\n  pid," in postmortem.supporting_info
    assert postmortem.response_notes.startswith("- Responders: 12 engineers across 4 teams")
    services = [s.service.name for s in incident.service_impacts.all()]
    assert services == ["Checkout Service", "Product Catalog", "User Authentication"]
    titles = [s.title for s in postmortem.additional_sections.all()]
    for title in ("Requirements", "Postmortem Principles", "Postmortem Best Practices"):
        assert title in titles
    details = postmortem.additional_sections.get(title="Document details").body
    assert "**Severity:** `SEV-1 (Critical)` | `SEV-2 (High)`" in details
    assert len(plan.document.repairs) == 15


def test_incident_report_lands_where_it_belongs(imported):
    plan, incident = imported("template-incident-report.md")
    postmortem = incident.postmortem
    assert postmortem.template == "incident_report"
    assert plan.document.repairs[0].kind == "line breaks"
    events = list(incident.timeline_events.all())
    assert [(e.description, e.action_taken, e.actor) for e in events[:2]] == [
        ('First alert: "Database connection pool exhausted"', "Alert triggered", "Monitoring"),
        ("On-call engineer paged", "Acknowledged alert", "SRE (Jane)"),
    ]
    items = list(postmortem.action_items.all())
    assert len(items) == 7
    assert [i.owner_display for i in items[:2]] == ["Mike Alvarez", "QA (Lisa)"]
    assert {i.status for i in items} == {"open"}  # "Pending"
    assert postmortem.trigger == "High payment volume (Black Friday sale)"
    assert "**What broke**: Payment service had connection leak" in postmortem.root_cause
    assert "#### How We Detected\n\n- [X] Automated monitoring alert" in (
        postmortem.detection_notes
    )
    assert "#### Metrics" in postmortem.impact_summary
    assert "#### Internal Communication" in postmortem.communication_log
    additional = {s.title: s for s in postmortem.additional_sections.all()}
    assert "1. **Code Quality**: Add linter rule" in (
        additional["Action Items to Prevent Recurrence"].body
    )
    assert "# Check connection pool" in additional["Commands Run"].body
    assert postmortem.created_at.date() == date(2025, 10, 26)  # "Report Date"
