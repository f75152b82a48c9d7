"""What a postmortem needs before review, and language that blames people instead of systems.

The checklist comes from the seeds' "Output checklist" and "Avoid" lists; it blocks a review
request. The blameless check only warns: people decide what their sentences mean.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    TextField,
    Value,
    Window,
)
from django.db.models.functions import Concat, RowNumber

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet
    from django.db.models.expressions import Combinable

    from .models import Postmortem

from .models import FollowUp, PublicationCheck


@dataclass(frozen=True)
class Check:
    label: str
    passed: bool
    section: str  # where to fix it
    hint: str = ""


NO_ACTION_ITEMS = "No action items: add at least one, with an owner and a due date."


def _prefetched(instance: Model, name: str) -> bool:
    return name in getattr(instance, "_prefetched_objects_cache", {})


def _has_rows(owner: Model, name: str, counts: Mapping[str, int], key: str) -> bool:
    """Whether a list has rows: from the page's row counts, the prefetched rows, or a query."""
    if key in counts:
        return counts[key] > 0
    manager = getattr(owner, name)
    return bool(manager.all()) if _prefetched(owner, name) else manager.exists()


def pre_review_checklist(
    postmortem: Postmortem,
    counts: Mapping[str, int] | None = None,
    items: Iterable[Any] | None = None,
) -> list[Check]:
    """Reads what the page loaded (row counts, the action items it shows, prefetched rows),
    otherwise a few small queries; never the whole document. `items` may be the first rows
    of a long list: with the count of incomplete items, the hint names those it has."""
    incident = postmortem.incident
    counts = counts or {}
    total = counts.get("incomplete_action_items")
    if items is None and _prefetched(postmortem, "action_items"):
        items = postmortem.action_items.all()
    if items is not None:
        incomplete: list[str] = [i.title for i in items if not i.has_owner or i.due_date is None]
    elif total == 0:
        incomplete = []
    else:
        missing = Q(owner__isnull=True, owner_name="") | Q(due_date__isnull=True)
        incomplete = list(postmortem.action_items.filter(missing).values_list("title", flat=True))
    hint = ("Missing on: " + "; ".join(incomplete)) if incomplete else ""
    if total is not None and total > len(incomplete):
        hint += f"{'; and' if incomplete else 'Missing on'} {total - len(incomplete)} more"
        incomplete.append("…")
    # Zero items is not "every item is complete": a postmortem without action items has not
    # said what will change, so that is a finding of its own.
    has_items = bool(items) or _has_rows(postmortem, "action_items", counts, "action_items")
    if not has_items:
        hint = NO_ACTION_ITEMS
    impact_filled = (
        bool(postmortem.impact_summary.strip() or postmortem.user_scope.strip())
        or postmortem.users_affected is not None
    )
    return [
        Check(
            "Timeline has events",
            _has_rows(incident, "timeline_events", counts, "timeline"),
            "timeline",
        ),
        Check("Root cause is written", bool(postmortem.root_cause.strip()), "root_cause"),
        Check(
            "At least one contributing factor",
            _has_rows(postmortem, "contributing_factors", counts, "contributing_factors"),
            "contributing_factors",
        ),
        Check(
            "Every action item has an owner and a due date",
            has_items and not incomplete,
            "action_items",
            hint=hint,
        ),
        Check("Impact is filled in", impact_filled, "impact"),
        Check(
            "Lessons learned are written",
            bool(postmortem.lessons_learned.strip()),
            "lessons_learned",
        ),
    ]


def checklist_passes(checks: Iterable[Check]) -> bool:
    return all(check.passed for check in checks)


# After publication: what the writer's guides ask once the document is out ("Review with
# leadership", "Publish to entire engineering organization", "Next Review: [Date]", "Action
# items tracked in: [JIRA-1234]"). Two steps are read from the document; two are ticked by a
# person (PublicationCheck), since only people know that a meeting was held.

P0_WITHOUT_TICKET = Q(action_items__priority="P0", action_items__tracker_url="") & ~Q(
    action_items__status="wont_do"
)


@dataclass(frozen=True)
class FollowThrough:
    key: str
    label: str
    done: bool
    derived: bool  # read from the document; else ticked by a person
    hint: str = ""
    done_by: Any = None
    done_at: datetime | None = None


FOLLOW_THROUGH_LABELS = {
    "review_meeting": "Review meeting held",
    "shared": "Shared with the engineering organization",
    "follow_up": "Follow-up date set",
    "p0_tickets": "Every P0 action item has a ticket",
}
TICKED = ("review_meeting", "shared")


def after_publication_checklist(postmortem: Any) -> list[FollowThrough]:
    """The four steps after publication, in the guides' order: three small queries (the
    ticks, the P0 items without a ticket, whether a follow-up exists)."""
    ticks = {c.item: c for c in postmortem.publication_checks.select_related("done_by")}
    untracked = list(
        postmortem.action_items.filter(priority="P0", tracker_url="")
        .exclude(status="wont_do")
        .values_list("title", flat=True)
    )
    follow_up = postmortem.next_review_on is not None or postmortem.follow_ups.exists()
    meeting = postmortem.review_meeting_at
    steps = []
    for key in TICKED:
        tick = ticks.get(key)
        hint = ""
        if key == "review_meeting" and meeting is not None and tick is None:
            hint = f"Scheduled for {meeting:%Y-%m-%d %H:%M} UTC."
        steps.append(
            FollowThrough(
                key,
                FOLLOW_THROUGH_LABELS[key],
                tick is not None,
                derived=False,
                hint=hint,
                done_by=tick.done_by if tick else None,
                done_at=tick.done_at if tick else None,
            )
        )
    steps.append(
        FollowThrough(
            "follow_up",
            FOLLOW_THROUGH_LABELS["follow_up"],
            follow_up,
            derived=True,
            hint="" if follow_up else "Set the next review date or add a follow-up.",
        )
    )
    steps.append(
        FollowThrough(
            "p0_tickets",
            FOLLOW_THROUGH_LABELS["p0_tickets"],
            not untracked,
            derived=True,
            hint=("No ticket for: " + "; ".join(untracked)) if untracked else "",
        )
    )
    return steps


def unfinished_follow_through(postmortems: Any) -> list[tuple[Any, list[str]]]:
    """(postmortem, labels of the steps left) for the published postmortems among
    `postmortems` whose after-publication checklist is not done: one query for all of them
    (the manager digest reads every team's)."""

    def ticked(item: str) -> Exists:
        return Exists(PublicationCheck.objects.filter(postmortem=OuterRef("pk"), item=item))

    rows = (
        postmortems.filter(status="published")
        .annotate(
            p0_untracked=Count("action_items", filter=P0_WITHOUT_TICKET, distinct=True),
            has_follow_up=Exists(FollowUp.objects.filter(postmortem=OuterRef("pk")))
            | Q(next_review_on__isnull=False),
            **{f"ticked_{key}": ticked(key) for key in TICKED},
        )
        .select_related("incident")
        .order_by("incident__started_at", "pk")
    )
    unfinished = []
    for postmortem in rows:
        left = [FOLLOW_THROUGH_LABELS[k] for k in TICKED if not getattr(postmortem, f"ticked_{k}")]
        if not postmortem.has_follow_up:
            left.append(FOLLOW_THROUGH_LABELS["follow_up"])
        if postmortem.p0_untracked:
            left.append(FOLLOW_THROUGH_LABELS["p0_tickets"])
        if left:
            unfinished.append((postmortem, left))
    return unfinished


# Blameless language.


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    suggestion: str


def _rule(pattern: str, suggestion: str) -> Rule:
    return Rule(re.compile(pattern, re.IGNORECASE), suggestion)


# A named person ("Jane forgot"), or a pronoun or role. Case matters: "we forgot" is the
# collective voice postmortems ask for, and "Monitoring ignored" is about a system.
NAME = r"\b(?!We\b)[A-Z][a-z]+"
PERSON = r"\b(?i:he|she|they|someone|somebody|the (?:developer|engineer|operator|on-call))"

BLAMING = [
    _rule(
        r"\bhuman errors?\b",
        "Name the condition that made the mistake easy: a missing guardrail, an unclear "
        "tool, no review step.",
    ),
    Rule(
        re.compile(
            rf"(?:{NAME}|{PERSON})\s+(?:forgot|neglected|messed up|screwed up|didn't bother)\b"
            rf"|{PERSON}\s+(?:ignored|overlooked)\b"
        ),
        "Describe what made the step easy to miss (no checklist, no alert, a busy handoff) "
        "instead of who missed it.",
    ),
    _rule(
        r"\bshould(?: have|'ve) known\b",
        "Say what information was missing or hard to find at the time.",
    ),
    _rule(
        r"\bcareless(?:ly|ness)?\b",
        "Describe the pressure or the missing check, not a person's care.",
    ),
    _rule(
        r"\b(?:is|was|were|it's)\s+(?:the\s+|entirely\s+)?fault\s+of\b"
        r"|\b(?:his|her|their|[A-Z][a-z]+'s)\s+fault\b",
        "Fault is not a cause: list the contributing factors in the system.",
    ),
    _rule(
        r"\b(?:to\s+blame|blamed)\b",
        "Postmortems are blameless: explain how the system allowed it.",
    ),
    _rule(
        r"\bnegligen(?:t|ce)\b|\blazy\b|\bincompeten(?:t|ce)\b",
        "Judging a person does not prevent recurrence; describe the conditions.",
    ),
    _rule(
        r"\bpoor communication\b",
        "Vague: say what was communicated, to whom, when, and what was missing.",
    ),
]

SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


@dataclass(frozen=True)
class Finding:
    section: str
    sentence: str
    phrase: str
    suggestion: str


def find_blame(text: str | None, section: str = "") -> list[Finding]:
    findings: list[Finding] = []
    for match in SENTENCE.finditer(text or ""):
        sentence = match.group(0).strip()
        for rule in BLAMING:
            hit = rule.pattern.search(sentence)
            if hit:
                findings.append(Finding(section, sentence, hit.group(0), rule.suggestion))
    return findings


def blameless_findings(postmortem: Postmortem) -> list[Finding]:
    """Every flagged sentence of the postmortem's text and rows, with where it is."""
    texts: list[tuple[str, str]] = [
        (key, getattr(postmortem, field))
        for key, field in [
            ("summary", "executive_summary"),
            ("impact", "impact_summary"),
            ("root_cause", "root_cause"),
            ("root_cause", "trigger"),
            ("why_not_caught", "why_not_caught"),
            ("detection", "detection_notes"),
            ("response", "response_notes"),
            ("resolution", "resolution_short_term"),
            ("resolution", "resolution_long_term"),
            ("went_well", "went_well"),
            ("went_wrong", "went_wrong"),
            ("prevention", "prevention"),
            ("lessons_learned", "lessons_learned"),
            ("communication_log", "communication_log"),
        ]
    ]
    texts += _row_texts(postmortem)
    return [finding for key, text in texts for finding in find_blame(text, key)]


ROW_TEXT_SECTIONS = ("timeline", "five_whys", "contributing_factors")


def _row_texts(postmortem: Postmortem) -> list[tuple[str, str]]:
    """(section, text) of every timeline event, why and factor, in the page's order: from the
    prefetched rows, or in one query (a UNION ALL of the three lists' text, no model per row)."""
    incident = postmortem.incident
    if _prefetched(incident, "timeline_events") and _prefetched(postmortem, "five_whys"):
        return [
            *(("timeline", e.description) for e in incident.timeline_events.all()),
            *(("five_whys", f"{w.question} {w.answer}") for w in postmortem.five_whys.all()),
            *(
                ("contributing_factors", f.description)
                for f in postmortem.contributing_factors.all()
            ),
        ]

    def texts(
        rows: QuerySet[Any], group: int, text: Combinable, *order: str
    ) -> QuerySet[Any, tuple[int, int, str]]:
        return (  # type: ignore[no-any-return]
            rows.order_by()
            .annotate(
                group=Value(group, output_field=IntegerField()),
                place=Window(RowNumber(), order_by=[F(name) for name in order]),
                text=text,
            )
            .values_list("group", "place", "text")
        )

    events = texts(
        incident.timeline_events.all(), 0, F("description"), "occurred_at", "position", "pk"
    )
    whys = texts(
        postmortem.five_whys.all(),
        1,
        Concat("question", Value(" "), "answer", output_field=TextField()),
        "position",
        "pk",
    )
    factors = texts(postmortem.contributing_factors.all(), 2, F("description"), "position", "pk")
    rows = sorted(events.union(whys, factors, all=True))
    return [(ROW_TEXT_SECTIONS[group], text) for group, _place, text in rows]
