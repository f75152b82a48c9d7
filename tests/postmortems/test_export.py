"""The Markdown export holds every field and row, in the shape of the postmortem's template."""

import re

import pytest
from django.core.management import call_command

from actionitems.models import ActionItem
from incidents.models import Incident, TimelineEvent
from postmortems.demo import WRITTEN_ON, demo_documents, seed_demo
from postmortems.export import export_markdown
from postmortems.layouts import LAYOUTS
from postmortems.models import AdditionalSection, FiveWhy, FollowUp, Postmortem

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
    "## Follow-up Check-ins",
    "## Sign-off",
]


@pytest.fixture
def demo(db):
    """The demo, loaded on the day its files were written, so its dates are theirs."""
    _team, people, postmortems = seed_demo("demo", today=WRITTEN_ON)
    return people, {pm.template: pm for pm in postmortems}


def headings(markdown):
    return [line for line in markdown.splitlines() if re.match(r"^#{1,3} ", line)]


RELATED = re.compile(r"\*\*Related Incidents\*\*:\n(?:- [^\n]*\n)+\n")


def test_each_demo_postmortem_exports_exactly_as_its_file(demo):
    """The demo's links between incidents are made after all are imported (the files cannot
    name incidents that do not exist yet): apart from those, the export is the file."""
    _people, by_template = demo
    files = {path.name: path.read_text() for path in demo_documents()}
    exported = {
        "1-checkout-outage.md": export_markdown(by_template["incident_postmortem"]),
        "2-connection-pool-exhausted.md": export_markdown(by_template["full"]),
        "3-flash-sale-api-errors.md": export_markdown(by_template["incident_report"]),
    }
    assert all(RELATED.search(text) for text in exported.values())
    assert {name: RELATED.sub("", text) for name, text in exported.items()} == files


def test_full_template_export_has_every_heading_in_order(demo):
    _people, by_template = demo
    assert headings(export_markdown(by_template["full"])) == FULL_HEADINGS


def test_action_items_export_priority_category_status_owner_and_notes(demo):
    _people, by_template = demo
    postmortem = by_template["full"]
    item = postmortem.action_items.first()
    item.tracker_url = "https://jira.example.com/browse/PAY-1"
    item.description = "Covers the error path.\nAnd the retry path."
    item.save()
    item2 = postmortem.action_items.all()[1]
    item2.owner, item2.owner_name = None, "QA Team"
    item2.save()
    markdown = export_markdown(Postmortem.objects.get(pk=postmortem.pk))
    assert (
        "| # | Action | Priority | Owner | Due Date | Status | Category | Term | Tracker | Notes |"
        in markdown
    )
    assert (
        "| 1 | Add automated test for connection cleanup | P1 | Lisa Chen | 2026-11-04 | ✅ Done "
        "| Prevent | Immediate (this week) | https://jira.example.com/browse/PAY-1 "
        "| Covers the error path.<br>And the retry path. |" in markdown
    )
    assert "| 2 | Add linter rule to check connection cleanup | P1 | QA Team |" in markdown


def test_incident_postmortem_layout_groups_action_items_by_term(demo):
    _people, by_template = demo
    markdown = export_markdown(by_template["incident_postmortem"])
    assert markdown.startswith("# Postmortem: Checkout outage")
    assert "| Time | Event | Actor/System |" in markdown
    assert "| 14:40 | **Decision: Rollback v2.5.3 deployment** | Incident Commander |" in markdown
    immediate = markdown.index("**Immediate (this week):**")
    short = markdown.index("**Short-term (this month):**")
    long = markdown.index("**Long-term (this quarter):**")
    assert immediate < short < long
    assert "| ID | Action | Owner | Due Date | Status | Priority | Category |" in markdown
    assert "**Duration**: 2 h 34 min (14:23 UTC - 16:57 UTC)" in markdown


def test_what_a_layout_has_no_place_for_goes_under_additional_sections(demo):
    """The incident postmortem template has no five whys, detection, resolution, prevention
    or communication log: exported in that layout, they are kept at the end."""
    _people, by_template = demo
    full = by_template["full"]
    markdown = export_markdown(full, LAYOUTS["incident_postmortem"])
    closing = markdown[markdown.index("## Additional Sections") : markdown.index("## Sign-off")]
    for heading in ("### The five whys", "### Detection", "### Resolution", "### Prevention"):
        assert heading in closing
    assert "**1. Why did the application become unavailable?**" in closing
    assert "**How Detected**: Automated monitoring alert" in closing
    assert "**YES** - This incident was preventable." in closing


def test_full_layout_keeps_the_communication_log_and_additional_sections(demo):
    _people, by_template = demo
    report = by_template["incident_report"]
    AdditionalSection.objects.create(
        postmortem=report, title="Customer quotes", body="> It was down.", after="timeline"
    )
    markdown = export_markdown(Postmortem.objects.get(pk=report.pk), LAYOUTS["full"])
    assert "### Communication\n\n#### Internal Communication" in markdown
    timeline = markdown.index("### Timeline")
    quotes = markdown.index("### Customer quotes\n\n> It was down.")
    impact = markdown.index("### Impact")
    assert timeline < quotes < impact


def test_follow_ups_keep_their_line_breaks_and_done_state(demo):
    _people, by_template = demo
    postmortem = by_template["full"]
    FollowUp.objects.filter(postmortem=postmortem).delete()
    FollowUp.objects.create(
        postmortem=postmortem,
        due_on=WRITTEN_ON,
        title="Quarterly check",
        notes="First line.\n\n- a point\n- another",
    )
    markdown = export_markdown(Postmortem.objects.get(pk=postmortem.pk))
    assert (
        "- [ ] 2026-11-29: Quarterly check\n  First line.\n\n  - a point\n  - another" in markdown
    )


def test_incident_times_commander_and_external_id_are_exported(demo):
    _people, by_template = demo
    report = by_template["incident_report"]
    incident = report.incident
    incident.external_id = "PD-1"
    incident.all_clear_at = incident.resolved_at.replace(hour=15)
    incident.save()
    markdown = export_markdown(Postmortem.objects.get(pk=report.pk))
    for line in (
        "**Incident ID**: `PD-1`",
        "**Detected**: 14:00 UTC",
        "**Acknowledged**: 14:02 UTC",
        "**Mitigated**: 14:15 UTC",
        "**All Clear**: 15:30 UTC",
        "**Incident Commander**: Jane Park",
    ):
        assert line in markdown


def test_empty_sections_stay_visible(incident, author):
    postmortem = Postmortem.objects.create(incident=incident)
    markdown = export_markdown(postmortem)
    assert "## Executive Summary\n\n_Not written yet._" in markdown
    assert "### Timeline\n\n_Not written yet._" in markdown


def test_table_cells_escape_pipes_and_keep_line_breaks(postmortem):
    TimelineEvent.objects.create(
        incident=postmortem.incident,
        occurred_at=postmortem.incident.started_at,
        description="Ran `a | b`\nthen more",
        actor="Jane",
    )
    markdown = export_markdown(postmortem)
    assert "| 14:00 | Ran `a \\| b`<br>then more | Jane |" in markdown


def test_a_kind_the_words_do_not_say_gets_a_column(postmortem):
    incident = postmortem.incident
    TimelineEvent.objects.create(incident=incident, occurred_at=incident.started_at,
                                 description="Paged the DBA", kind="page")  # fmt: skip
    assert "Kind" not in export_markdown(postmortem)
    TimelineEvent.objects.create(incident=incident, occurred_at=incident.started_at,
                                 description="Rolled the dice", kind="decision")  # fmt: skip
    assert "| Time (UTC) | Event | Actor | Kind |" in export_markdown(postmortem)


def test_five_whys_answers_keep_their_paragraphs(postmortem):
    FiveWhy.objects.create(postmortem=postmortem, question="Why?", answer="One.\n\nTwo.")
    assert "**1. Why?**\n→ One.\n\nTwo." in export_markdown(postmortem)


def test_export_download(client, demo):
    people, by_template = demo
    full = by_template["full"]
    client.force_login(people["jane"])
    response = client.get(full.get_export_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{full.incident.reference}-postmortem.md"'
    )
    assert '| 14:00 | Alert: "Database Connection Pool Exhausted" | Monitoring |' in (
        response.content.decode()
    )


def test_export_command_prints_the_markdown_in_any_layout(demo, capsys):
    _people, by_template = demo
    reference = by_template["full"].incident.reference
    call_command("export_postmortem", reference, layout="incident_report")
    out = capsys.readouterr().out
    assert out.startswith("# Incident Report: Application unavailable")
    assert ActionItem.objects.filter(postmortem=by_template["full"]).count() == 7
    assert Incident.objects.filter(postmortem__isnull=False).count() == 3
