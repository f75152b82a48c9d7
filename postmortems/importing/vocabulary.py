"""What headings, labels and table columns mean, whatever words a team uses for them.

Every name is compared after `normalize`: lower case, no Markdown emphasis, no emoji, no
numbering ("1.", "A.", "Appendix C:"), no trailing colon or question mark, and without a
trailing parenthesis ("Timeline (All times UTC)", "Short-term Fix (Immediate)").
"""

import re
import unicodedata

# Where a heading's content goes: a text field of the postmortem, or a part of the document
# read row by row (timeline, five_whys, contributing_factors, action_items, follow_ups,
# services), the header facts, or the sign-off record.
TEXT_FIELDS = {
    "executive_summary": "summary",
    "impact_summary": "impact",
    "root_cause": "root_cause",
    "trigger": "root_cause",
    "why_not_caught": "why_not_caught",
    "detection_notes": "detection",
    "response_notes": "response",
    "resolution_short_term": "resolution",
    "resolution_long_term": "resolution",
    "went_well": "went_well",
    "went_wrong": "went_wrong",
    "prevention": "prevention",
    "lessons_learned": "lessons_learned",
    "communication_log": "communication_log",
    "supporting_info": "supporting_info",
    "acknowledgments": "acknowledgments",
}
ROW_TARGETS = ("timeline", "five_whys", "contributing_factors", "action_items", "follow_ups")
SPECIAL_TARGETS = ("services", "sign_off", "header", "group")

SYNONYMS: dict[str, tuple[str, ...]] = {
    "executive_summary": (
        "summary", "executive summary", "incident summary", "overview", "tl dr", "tldr",
        "synopsis", "abstract", "incident overview", "summary of the incident",
        "what happened", "incident description", "description",
    ),
    "impact_summary": (
        "impact", "business impact", "customer impact", "user impact", "impact assessment",
        "impact analysis", "metrics and impact", "impact and metrics", "metrics",
        "users affected", "user impact and scope", "slo impact", "availability",
    ),
    "timeline": (
        "timeline", "incident timeline", "detailed timeline", "chronology", "sequence of events",
        "timeline of events", "event timeline", "chronological timeline",
    ),
    "root_cause": (
        "root cause", "root causes", "root cause analysis", "rca", "cause", "causes",
        "what broke", "technical root cause", "underlying cause", "root cause brief",
    ),
    "trigger": ("trigger", "what triggered it", "triggering event", "triggers"),
    "five_whys": (
        "five whys", "5 whys", "the five whys", "the 5 whys", "five whys analysis",
        "5 whys analysis",
    ),
    "contributing_factors": (
        "contributing factors", "contributing causes", "contributing factor", "factors",
    ),
    "why_not_caught": (
        "why it wasn t caught", "why it was not caught", "why wasn t it caught",
        "why didn t we catch it", "why it wasnt caught",
    ),
    "detection_notes": (
        "detection", "how we detected", "how detected", "how it was detected",
        "detection and alerting", "alerting",
    ),
    "response_notes": (
        "response", "incident response", "response effectiveness", "immediate actions taken",
        "immediate actions", "response actions",
    ),
    "resolution_short_term": (
        "resolution", "remediation", "recovery", "mitigation", "resolution and recovery",
        "short term fix", "immediate fix", "short term remediation",
        "mitigation steps", "fix",
    ),
    "resolution_long_term": (
        "long term fix", "permanent fix", "long term remediation",
    ),
    "action_items": (
        "action items", "follow ups", "followups", "follow up items", "action plan",
        "next steps", "remediation items", "corrective actions", "long term prevention",
        "tasks", "todo", "to do", "actions",
    ),
    "went_well": (
        "what went well", "went well", "what worked well", "what worked", "successes",
        "strengths", "things that went well", "the good",
    ),
    "went_wrong": (
        "what went wrong", "went wrong", "what could be improved", "what could have gone better",
        "what didn t go well", "what did not go well", "areas for improvement",
        "what could have been better", "challenges", "the bad", "where we got lucky",
    ),
    "prevention": (
        "prevention", "prevention strategies", "preventable", "preventability",
        "how it could have been prevented", "preventive measures", "preventive actions",
    ),
    "lessons_learned": (
        "lessons learned", "lessons", "key lessons", "learnings", "key learnings",
        "takeaways", "key takeaways", "lessons and takeaways",
    ),
    "communication_log": (
        "communication", "communications", "communication log", "communication timeline",
        "status page updates", "stakeholder communication", "customer communication",
        "communication plan",
    ),
    "supporting_info": (
        "supporting information", "supporting info", "appendix", "appendices", "related links",
        "links", "references", "related documentation", "resources", "attachments",
        "additional information", "additional info", "related incidents",
    ),
    "acknowledgments": ("acknowledgments", "acknowledgements", "thanks", "credits"),
    "follow_ups": (
        "follow up check ins", "check ins", "follow up reviews", "scheduled follow ups",
        "follow up schedule",
    ),
    "services": ("services affected", "affected services", "systems affected", "services"),
    "sign_off": (
        "sign off", "signoff", "sign offs", "approvals", "approval", "review and approval",
    ),
    "header": (
        "incident information", "incident info", "incident metadata", "metadata", "details",
        "incident facts", "key facts",
    ),
    # Headings that only hold other sections; their own words come back from the layout.
    "group": (
        "incident details", "root cause analysis and contributing factors",
        "detection and response", "additional sections", "resolution and prevention",
    ),
}  # fmt: skip

# Bold labels that start a block of another section when they stand alone on their line
# ("**Why It Wasn't Caught:**" inside Root Cause Analysis).
BLOCK_LABELS = {
    "why it wasn t caught": "why_not_caught",
    "why it was not caught": "why_not_caught",
    "contributing factors": "contributing_factors",
    "contributing factor": "contributing_factors",
    "communication timeline": "communication_log",
    "communication": "communication_log",
    "services affected": "services",
    "affected services": "services",
    "user impact": "impact_summary",
    "business impact": "impact_summary",
    "slo impact": "impact_summary",
    "root cause": "root_cause",
    "root cause brief": "root_cause",
    "what triggered it": "trigger",
    "response effectiveness": "response_notes",
    "related links": "supporting_info",
    "related incidents": "supporting_info",
    "lessons learned": "lessons_learned",
    "action items": "action_items",
    "short term": "resolution_short_term",
    "long term": "resolution_long_term",
}

NUMBERING = re.compile(r"^(?:(?:appendix|part|section)\s+)?(?:[0-9]+(?:\.[0-9]+)*|[a-z])[.):]\s+")
PARENTHESIS = re.compile(r"\s*\([^()]*\)\s*$")


def strip_emphasis(text: str) -> str:
    return re.sub(r"[*_`]+", "", text).strip()


def normalize(text: str) -> str:
    text = strip_emphasis(text).strip().rstrip(":?!. ")
    text = "".join(
        " " if unicodedata.category(c).startswith(("S", "C")) else c for c in text
    ).strip()
    while PARENTHESIS.search(text) and PARENTHESIS.sub("", text):
        text = PARENTHESIS.sub("", text)
    text = text.lower().strip().rstrip(":?!.").strip()
    text = NUMBERING.sub("", text)
    text = re.sub(r"[^a-z0-9&+ ]+", " ", text)
    return " ".join(text.split())


_BY_NAME = {name: target for target, names in SYNONYMS.items() for name in names}


def target_of(heading: str) -> str | None:
    """Where a heading's content belongs, or None for a heading of the team's own."""
    return _BY_NAME.get(normalize(heading))


def block_label_target(label: str) -> str | None:
    return BLOCK_LABELS.get(normalize(label))


def section_of(target: str) -> str:
    """The document section (layouts.SECTIONS key) a target belongs to."""
    return TEXT_FIELDS.get(target, target)


# Words that end a heading in a document whose line breaks were lost.
KNOWN_HEADINGS = sorted(_BY_NAME, key=len, reverse=True)
