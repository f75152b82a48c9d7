"""The sections of a postmortem and the three document layouts teams write today.

A *section* is a piece of the document edited as one unit: either a group of Postmortem fields
(``fields``) or, with no fields, a list of rows (timeline events, five whys, contributing
factors, action items, follow-ups; see editing.ROW_SECTIONS). A *layout* mirrors one of the
seed templates: which sections show, in which order, under which headings, with which guiding
prompt. The page, the editor and the Markdown export
all read the layout, so switching template never touches content.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    fields: tuple[str, ...] = ()


SECTIONS = {
    section.key: section
    for section in (
        Section("summary", "Executive summary", fields=("executive_summary",)),
        Section(
            "impact",
            "Impact",
            fields=(
                "users_affected",
                "user_scope",
                "support_tickets",
                "revenue_impact",
                "slo_target",
                "impact_summary",
            ),
        ),
        Section("timeline", "Timeline"),
        Section("root_cause", "Root cause", fields=("root_cause", "trigger")),
        Section("five_whys", "The five whys"),
        Section("contributing_factors", "Contributing factors"),
        Section("why_not_caught", "Why it wasn't caught", fields=("why_not_caught",)),
        Section(
            "detection", "Detection", fields=("detection_method", "alert_name", "detection_notes")
        ),
        Section("response", "Response", fields=("response_notes",)),
        Section(
            "resolution", "Resolution", fields=("resolution_short_term", "resolution_long_term")
        ),
        Section("action_items", "Action items"),
        Section("went_well", "What went well", fields=("went_well",)),
        Section("went_wrong", "What went wrong", fields=("went_wrong",)),
        Section("prevention", "Prevention", fields=("prevention",)),
        Section("lessons_learned", "Lessons learned", fields=("lessons_learned",)),
        Section("communication_log", "Communication", fields=("communication_log",)),
        Section(
            "supporting_info",
            "Supporting information",
            fields=("supporting_info",),
        ),
        Section("acknowledgments", "Acknowledgments", fields=("acknowledgments",)),
        Section("follow_ups", "Follow-ups"),
        Section("additional_sections", "Additional sections"),
    )
}


@dataclass(frozen=True)
class Placement:
    """A section as one layout shows it: its heading and the prompt that guides the writer."""

    key: str
    title: str
    prompt: str = ""

    @property
    def section(self) -> Section:
        return SECTIONS[self.key]


@dataclass(frozen=True)
class Group:
    """A second-level heading of the document holding one or more sections."""

    title: str
    placements: tuple[Placement, ...]

    @property
    def is_single(self) -> bool:
        """A group holding one section of the same name is printed as one heading."""
        return len(self.placements) == 1 and self.placements[0].title == self.title


@dataclass(frozen=True)
class Layout:
    key: str
    document_title: str  # "Post-Mortem: {title}"
    groups: tuple[Group, ...]
    timeline_columns: tuple[str, ...]
    action_item_columns: tuple[str, ...]
    action_items_by_term: bool = False
    closing: str = ""
    placements: tuple[Placement, ...] = field(init=False)

    def __post_init__(self) -> None:
        flat = tuple(p for group in self.groups for p in group.placements)
        object.__setattr__(self, "placements", flat)

    def placement(self, key: str) -> Placement | None:
        return next((p for p in self.placements if p.key == key), None)

    @property
    def section_keys(self) -> list[str]:
        return [p.key for p in self.placements]


def _group(title: str, *placements: tuple[str, ...]) -> Group:
    return Group(title, tuple(Placement(*p) for p in placements))


FULL = Layout(
    key="full",
    document_title="Post-Mortem: {title}",
    groups=(
        _group(
            "Executive Summary",
            (
                "summary",
                "Executive Summary",
                "What happened: a one-paragraph summary of the incident. Impact: users, "
                "duration, business. Root cause: in one sentence. Resolution: how it was fixed.",
            ),
        ),
        _group(
            "Incident Details",
            (
                "timeline",
                "Timeline",
                "Times in UTC. Alert, page, acknowledgement, each diagnosis step, decisions, "
                "the fix, and when the incident was declared resolved.",
            ),
            (
                "impact",
                "Impact",
                "Users affected (scope, count, duration), services affected, business impact: "
                "revenue lost, SLA breach, customer complaints, reputation.",
            ),
        ),
        _group(
            "Root Cause Analysis",
            (
                "five_whys",
                "The Five Whys",
                "Ask why until you reach a cause the system can fix, not a person to blame.",
            ),
            (
                "root_cause",
                "Root Cause",
                "The root cause in one or two sentences, and what triggered it.",
            ),
            (
                "contributing_factors",
                "Contributing Factors",
                "Technical, process and human factors that made the incident possible or worse.",
            ),
        ),
        _group(
            "Detection and Response",
            (
                "detection",
                "Detection",
                "How it was detected, which alert and its trigger, alert latency, false "
                "positive rate. Detection quality: what was good, what to improve.",
            ),
            (
                "response",
                "Response",
                "Response timeline against targets, what worked well, what could be improved.",
            ),
        ),
        _group(
            "Resolution",
            (
                "resolution",
                "Short-term Fix",
                "Immediate steps that restored service, then what prevents immediate recurrence.",
            ),
            (
                "action_items",
                "Long-term Prevention",
                "Action items with owners and deadlines.",
            ),
        ),
        _group(
            "Lessons Learned",
            ("went_well", "What Went Well", "Monitoring, response, communication, collaboration."),
            (
                "went_wrong",
                "What Went Wrong",
                "Gaps in systems and processes, not people: what failed and why.",
            ),
            (
                "prevention",
                "Preventable?",
                "Was it preventable? How: technical, process and cultural improvements.",
            ),
            ("lessons_learned", "Key Lessons", "What the organisation now knows that it didn't."),
        ),
        _group(
            "Supporting Information",
            (
                "supporting_info",
                "Supporting Information",
                "Related incidents, related documentation, availability metrics and MTTR.",
            ),
        ),
        _group(
            "Acknowledgments",
            ("acknowledgments", "Acknowledgments", "Thanks to the people who helped."),
        ),
        _group(
            "Follow-up Check-ins",
            ("follow_ups", "Follow-up Check-ins", "Dated check-ins on action item progress."),
        ),
        _group(
            "Additional Sections",
            (
                "additional_sections",
                "Additional Sections",
                "Anything the template has no place for, under its own heading.",
            ),
        ),
    ),
    timeline_columns=("Time (UTC)", "Event", "Actor"),
    action_item_columns=("#", "Action", "Priority", "Owner", "Due Date", "Status"),
    closing=(
        "**Remember**: Incidents are learning opportunities. The goal is not to find fault, "
        "but to improve our systems and processes."
    ),
)

INCIDENT_POSTMORTEM = Layout(
    key="incident_postmortem",
    document_title="Postmortem: {title}",
    groups=(
        _group(
            "Incident Summary",
            (
                "summary",
                "Incident Summary",
                "What happened, in a few sentences anyone in the company can follow.",
            ),
        ),
        _group(
            "Timeline",
            (
                "timeline",
                "Timeline",
                "All times in UTC. Mark key decision points; they are shown in bold.",
            ),
        ),
        _group(
            "Root Cause Analysis",
            (
                "root_cause",
                "Root Cause",
                "The specific change or condition that caused the incident, with the evidence.",
            ),
            (
                "why_not_caught",
                "Why It Wasn't Caught",
                "Testing, review, rollout and monitoring gaps that let it reach production.",
            ),
            (
                "contributing_factors",
                "Contributing Factors",
                "Time pressure, context switches, library changes, missing documentation…",
            ),
        ),
        _group(
            "What Went Well",
            (
                "went_well",
                "What Went Well",
                "Strengths in the response and the tools and processes that were effective.",
            ),
        ),
        _group(
            "What Went Wrong",
            ("went_wrong", "What Went Wrong", "Gaps and issues, and the processes that failed."),
        ),
        _group(
            "Lessons Learned",
            ("lessons_learned", "Lessons Learned", "Technical insights and process insights."),
        ),
        _group(
            "Action Items",
            (
                "action_items",
                "Action Items",
                "Immediate (this week), short-term (this month), long-term (this quarter); every "
                "item with an owner and a due date.",
            ),
        ),
        _group(
            "Metrics and Impact",
            (
                "impact",
                "Business Impact",
                "Revenue loss, affected users, support tickets, customer satisfaction, SLO "
                "impact and error budget.",
            ),
            (
                "response",
                "Response Effectiveness",
                "Responders, escalations, war room participants, communication channels.",
            ),
        ),
        _group(
            "Appendices",
            (
                "supporting_info",
                "Related Links",
                "Incident channel, dashboards, code changes, graphs, queries used in analysis.",
            ),
            (
                "communication_log",
                "Communication Timeline",
                "Internal and external updates, with times: status page, customer email.",
            ),
        ),
        _group(
            "Follow-up Check-ins",
            ("follow_ups", "Follow-up Check-ins", "Weekly check-ins on action item progress."),
        ),
        _group(
            "Additional Sections",
            (
                "additional_sections",
                "Additional Sections",
                "Anything the template has no place for, under its own heading.",
            ),
        ),
    ),
    timeline_columns=("Time", "Event", "Actor/System"),
    action_item_columns=("ID", "Action", "Owner", "Due Date", "Status"),
    action_items_by_term=True,
)

INCIDENT_REPORT = Layout(
    key="incident_report",
    document_title="Incident Report: {title}",
    groups=(
        _group(
            "Summary",
            (
                "summary",
                "Summary",
                "Brief one-paragraph description of what happened, impact, and current status.",
            ),
        ),
        _group(
            "Impact",
            (
                "impact",
                "Impact",
                "Users affected (scope, count, duration), services affected, business impact "
                "(revenue lost, SLA breach, customer complaints, reputation).",
            ),
        ),
        _group(
            "Timeline",
            (
                "timeline",
                "Timeline",
                "Detailed chronological timeline of events with timestamps, the action taken "
                "and by whom.",
            ),
        ),
        _group(
            "Root Cause",
            (
                "root_cause",
                "Root Cause",
                "What broke, why it broke, and what triggered it.",
            ),
            ("contributing_factors", "Contributing factors", "What made it possible or worse."),
        ),
        _group(
            "Detection",
            (
                "detection",
                "Detection",
                "How we detected it (alert, user report, internal, vendor), alert details, "
                "detection quality.",
            ),
        ),
        _group(
            "Response",
            (
                "response",
                "Response",
                "Immediate actions taken, what worked well, what could be improved.",
            ),
        ),
        _group(
            "Resolution",
            (
                "resolution",
                "Resolution",
                "Short-term fix (immediate) and long-term fix (to prevent recurrence).",
            ),
        ),
        _group(
            "Communication",
            (
                "communication_log",
                "Communication",
                "Internal communication (channel, participants, update cadence) and external "
                "communication (status page, customer email, social media).",
            ),
        ),
        _group(
            "Action Items",
            ("action_items", "Action Items", "Every item with an owner, priority and due date."),
        ),
        _group(
            "Lessons Learned",
            ("went_well", "What Went Well", "What helped."),
            ("went_wrong", "What Went Wrong", "What got in the way."),
            ("lessons_learned", "Lessons", "What to do differently to prevent recurrence."),
        ),
        _group(
            "Appendices",
            (
                "supporting_info",
                "Appendices",
                "Related incidents, related documentation, commands run.",
            ),
        ),
        _group(
            "Follow-up Check-ins",
            ("follow_ups", "Follow-up Check-ins", "Dated check-ins after the report."),
        ),
        _group(
            "Additional Sections",
            (
                "additional_sections",
                "Additional Sections",
                "Anything the template has no place for, under its own heading.",
            ),
        ),
    ),
    timeline_columns=("Time (UTC)", "Event", "Action Taken", "By Whom"),
    action_item_columns=("#", "Action", "Owner", "Priority", "Due Date", "Status"),
)

LAYOUTS = {layout.key: layout for layout in (FULL, INCIDENT_POSTMORTEM, INCIDENT_REPORT)}
