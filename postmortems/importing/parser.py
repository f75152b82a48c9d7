"""A postmortem written in Markdown, read into plain data: no Django, no database.

The reading has three steps.

1. `outline`: headings (ATX, Setext, and bold lines that name a known section) split the
   document into parts; fenced code is never read as structure.
2. `route`: each part goes where its heading's meaning says (vocabulary.target_of), at any
   level. A heading nobody knows stays inside the section above it as Markdown, or, at the
   top, becomes an *additional section* with its own heading: nothing is ever dropped. Bold
   labels standing alone on a line ("**Why It Wasn't Caught:**") start a block of the section
   they name.
3. Each target reads its pieces: text sections keep their Markdown as written; the timeline,
   five whys, contributing factors, action items, follow-ups, services and sign-off become
   rows. Whatever a row reader cannot use goes to a "<section> notes" additional section.

Derived lines that our own export writes (the response metrics, the total duration) are
recognised and left out, so that export -> import -> export gives the same Markdown.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation

from ..layouts import LAYOUTS, SECTIONS
from . import tables
from .durations import format_duration
from .text import Repair, repair
from .times import Clock, TimeRefused, read_date, read_time, zone_named
from .vocabulary import (
    ROW_TARGETS,
    TEXT_FIELDS,
    block_label_target,
    normalize,
    section_of,
    strip_emphasis,
    target_of,
)

MAX_EVENTS = 5000
NOT_WRITTEN = "_Not written yet._"  # what the export writes under an empty section
DETAILS = "Document details"  # header lines that are not facts of the incident

# Titles our export (and the seeds) give each text field: a piece under one of these
# headings needs no heading of its own in the field's text.
CANONICAL_TITLES: dict[str, tuple[str, ...]] = {
    "executive_summary": ("executive summary", "incident summary", "summary"),
    "impact_summary": ("impact", "business impact"),
    "root_cause": ("root cause", "root cause analysis"),
    "trigger": ("what triggered it",),
    "why_not_caught": ("why it wasn t caught",),
    "detection_notes": ("detection",),
    "response_notes": ("response", "response effectiveness"),
    "resolution_short_term": ("resolution", "short term fix", "short term"),
    "resolution_long_term": ("long term", "long term fix", "long term prevention"),
    "went_well": ("what went well",),
    "went_wrong": ("what went wrong",),
    "prevention": ("preventable", "prevention"),
    "lessons_learned": ("key lessons", "lessons learned", "lessons"),
    "communication_log": ("communication", "communication timeline"),
    "supporting_info": ("supporting information", "related links", "appendices", "appendix"),
    "acknowledgments": ("acknowledgments",),
}


def _layout_titles() -> None:
    """Every heading a layout gives a section is that section's own title too."""
    for layout in LAYOUTS.values():
        for group in layout.groups:
            for placement in group.placements:
                fields = [f for f in SECTIONS[placement.key].fields if f in TEXT_FIELDS]
                if not fields:
                    continue
                titles = {normalize(placement.title)}
                if group.is_single:
                    titles.add(normalize(group.title))
                CANONICAL_TITLES[fields[0]] = tuple(
                    sorted({*CANONICAL_TITLES.get(fields[0], ()), *titles})
                )
        for section in SECTIONS.values():
            fields = [f for f in section.fields if f in TEXT_FIELDS]
            if fields:
                CANONICAL_TITLES[fields[0]] = tuple(
                    sorted({*CANONICAL_TITLES.get(fields[0], ()), normalize(section.title)})
                )


_layout_titles()
# Headings our layouts use to hold several sections ("Resolution", "Lessons Learned").
GROUP_TITLES = {
    normalize(group.title)
    for layout in LAYOUTS.values()
    for group in layout.groups
    if not group.is_single
}
# Headings our layouts use to hold several sections ("Resolution", "Lessons Learned").
GROUP_TITLES = {
    normalize(group.title)
    for layout in LAYOUTS.values()
    for group in layout.groups
    if not group.is_single
}


def plain(heading: str) -> str:
    """A heading compared word for word: "Root Cause (Brief)" is not "Root Cause"."""
    text = strip_emphasis(heading).lower().rstrip(":?!. ")
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", text).split())


CANONICAL_PLAIN = {target: titles for target, titles in CANONICAL_TITLES.items()}
NOTHING = {"", "—", "-", "–", "n/a", "na", "none", "tbd", "unassigned", "nobody"}
TITLE_PREFIX = re.compile(
    r"^(?:post[- ]?mortem|incident (?:post[- ]?mortem|report|review)|rca|pir)\s*[:\-–—]\s*",
    re.IGNORECASE,
)
ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
RULE = re.compile(r"^ {0,3}(?:[-*_]\s*){3,}$")
BOLD_LINE = re.compile(r"^\*\*(?P<label>[^*]+?)\*\*\s*:?\s*$|^\*\*(?P<label2>[^*]+?):\*\*\s*$")
LABEL_LINE = re.compile(
    r"^(?P<indent>\s*)(?P<bullet>[-*+]\s+)?\*\*(?P<label>[^*\n]{1,80}?)(?::\*\*|\*\*\s*:|\*\*)"
    r"\s*(?P<rest>.*)$"
)
LIST_ITEM = re.compile(r"^(?P<indent>\s*)(?P<marker>[-*+]|\d{1,3}[.)])\s+(?P<text>.*)$")
CHECKBOX = re.compile(r"^\[(?P<mark>[ xX✓✔])\]\s*(?P<text>.*)$")
FRONT_MATTER = re.compile(r"^---\n(.*?)\n---\n", re.DOTALL)


@dataclass
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class Fact:
    label: str
    value: str
    line: int
    raw: str = ""  # the line as written


@dataclass
class EventRow:
    line: int
    occurred_at: datetime
    original_time: str
    zone_note: str
    description: str
    actor: str = ""
    action_taken: str = ""
    notes: str = ""
    kind: str = ""  # given by a column; empty: guessed by the writer
    is_key_decision: bool = False


@dataclass
class ActionItemRow:
    line: int
    title: str
    owner: str = ""
    due_date: date | None = None
    priority: str = ""
    status: str = "open"
    category: str = ""
    term: str = ""
    tracker_url: str = ""
    description: str = ""


@dataclass
class WhyRow:
    line: int
    question: str
    answer: str


@dataclass
class FactorRow:
    line: int
    category: str
    description: str
    guessed: bool = False


@dataclass
class FollowUpRow:
    line: int
    due_on: date
    title: str
    notes: str = ""
    done: bool = False


@dataclass
class ServiceRow:
    line: int
    name: str
    impact: str
    note: str = ""


@dataclass
class AdditionalRow:
    line: int
    title: str
    body: str
    after: str  # the section it followed ("" at the start, "_end" after everything)


@dataclass
class SignOffRow:
    line: int
    role: str  # "author", "engineering_lead", "manager", or the role as written
    names: str
    decided_on: date | None
    decision: str  # "approved", "changes_requested", "pending"
    note: str = ""


@dataclass
class Placed:
    """For the preview: what a heading or block became."""

    line: int
    heading: str
    target: str
    detail: str = ""


@dataclass
class ParsedDocument:
    title: str = ""
    template: str = ""
    facts: dict[str, Fact] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    events: list[EventRow] = field(default_factory=list)
    action_items: list[ActionItemRow] = field(default_factory=list)
    whys: list[WhyRow] = field(default_factory=list)
    factors: list[FactorRow] = field(default_factory=list)
    follow_ups: list[FollowUpRow] = field(default_factory=list)
    services: list[ServiceRow] = field(default_factory=list)
    additional: list[AdditionalRow] = field(default_factory=list)
    sign_off: list[SignOffRow] = field(default_factory=list)
    impact_numbers: dict[str, object] = field(default_factory=dict)
    detection: dict[str, str] = field(default_factory=dict)
    repairs: list[Repair] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    placed: list[Placed] = field(default_factory=list)
    # Incident facts read from the header.
    started_at: datetime | None = None
    detected_at: datetime | None = None
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    all_clear_at: datetime | None = None
    day: date | None = None
    severity: str = ""
    status: str = ""
    external_id: str = ""
    review_status: str = ""
    review_meeting_at: datetime | None = None
    next_review_on: date | None = None
    written_on: date | None = None
    tags: list[str] = field(default_factory=list)

    def count(self, target: str) -> int:
        return {
            "timeline": len(self.events),
            "action_items": len(self.action_items),
            "five_whys": len(self.whys),
            "contributing_factors": len(self.factors),
            "follow_ups": len(self.follow_ups),
            "services": len(self.services),
            "additional_sections": len(self.additional),
            "sign_off": len(self.sign_off),
        }.get(target, 0)


class NotMarkdown(ValueError):
    """The input is not a document this importer can read (binary, empty...)."""


# 1. Outline.


@dataclass
class Part:
    level: int  # 0: before any heading
    title: str
    line: int
    body: list[tuple[int, str]] = field(default_factory=list)


def outline(text: str) -> list[Part]:
    lines = text.split("\n")
    # A document with no real sub-headings (some editors export headings as bold paragraphs)
    # gets its bold lines that name a section read as headings; otherwise they stay text.
    bold_headings = not any(ATX.match(line) and not line.startswith("# ") for line in lines)
    parts = [Part(0, "", 0)]
    fence: str | None = None
    index = 0
    while index < len(lines):
        line, number = lines[index], index + 1
        opener = FENCE.match(line)
        if fence is not None:
            parts[-1].body.append((number, line))
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence):
                fence = None
            index += 1
            continue
        if opener:
            fence = opener.group(1)
            parts[-1].body.append((number, line))
            index += 1
            continue
        atx = ATX.match(line)
        if atx and atx.group(2):
            parts.append(Part(len(atx.group(1)), atx.group(2).strip(), number))
            index += 1
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        setext = SETEXT.match(following)
        if (
            setext
            and line.strip()
            and not RULE.match(line)
            and not LIST_ITEM.match(line)
            and not tables.is_table_line(line)
            and (setext.group(1)[0] == "=" or _previous_blank(lines, index))
            and len(line) < 120
        ):
            parts.append(Part(1 if setext.group(1)[0] == "=" else 2, line.strip(), number))
            index += 2
            continue
        bold = BOLD_LINE.match(line.strip())
        label = (bold.group("label") or bold.group("label2")) if bold else None
        if (
            bold_headings
            and label
            and not line.rstrip().endswith(":")
            and not label.rstrip().endswith(":")
            and _previous_blank(lines, index)
            and not following.strip()
            and target_of(label) not in (None, "group", "header")
        ):
            # A bold line naming a section, on its own (Google Docs' "headings").
            parts.append(Part(_bold_level(parts), label.strip().rstrip(":"), number))
            index += 1
            continue
        parts[-1].body.append((number, line))
        index += 1
    return parts


def _previous_blank(lines: list[str], index: int) -> bool:
    return index == 0 or not lines[index - 1].strip()


def _bold_level(parts: list[Part]) -> int:
    levels = [part.level for part in parts if part.level > 1]
    return min(levels) if levels else 2


# 2. Routing parts to where they belong.


@dataclass
class Piece:
    target: str
    heading: str
    line: int
    level: int
    lines: list[tuple[int, str]] = field(default_factory=list)
    keep_heading: bool = False
    after: str = ""  # for additional sections
    label_line: str = ""  # the bold label that started this block, as written


@dataclass
class Frame:
    level: int
    target: str  # "" for a heading of the team's own (an additional section)
    piece: Piece


def route(parts: list[Part]) -> tuple[str, list[Piece], list[Placed]]:
    """The document's title and its pieces in document order."""
    title = ""
    pieces: list[Piece] = [Piece("preamble", "", 0, 0, list(parts[0].body))]
    placed: list[Placed] = []
    stack: list[Frame] = []
    last_known = ""
    for index, part in enumerate(parts[1:], start=1):
        target = target_of(part.title)
        following = parts[index + 1] if index + 1 < len(parts) else None
        if (
            target in TEXT_FIELDS
            and normalize(part.title) in GROUP_TITLES
            and _only_rules(part.body)
            and following is not None
            and following.level > part.level
        ):
            # "## Resolution" or "## Lessons Learned" holding only sub-sections: a group.
            target = "group"
        if part.level == 1 and not title and target is None:
            title = TITLE_PREFIX.sub("", strip_emphasis(part.title)).strip()
            pieces[0].lines.extend(part.body)
            continue
        while stack and stack[-1].level >= part.level:
            stack.pop()
        parent = stack[-1] if stack else None
        if parent is not None and parent.target in (*ROW_TARGETS, "sign_off", "services"):
            # Inside a list section every sub-heading is part of it (timeline phases).
            parent.piece.lines.append((part.line, _sub_heading(part, parent)))
            parent.piece.lines.extend(part.body)
            stack.append(Frame(part.level, parent.target, parent.piece))
            continue
        if target == "group":
            piece = Piece("group", part.title, part.line, part.level, list(part.body))
            piece.after = last_known
            pieces.append(piece)
            stack.append(Frame(part.level, "group", piece))
            placed.append(Placed(part.line, part.title, "group"))
            continue
        if target is not None:
            piece = Piece(target, part.title, part.line, part.level, list(part.body))
            pieces.append(piece)
            stack.append(Frame(part.level, target, piece))
            placed.append(Placed(part.line, part.title, target))
            if target in TEXT_FIELDS or target in (*ROW_TARGETS, "services", "sign_off"):
                last_known = "impact" if target == "services" else section_of(target)
            continue
        if parent is not None and parent.target == "additional":
            parent.piece.lines.append((part.line, _sub_heading(part, parent)))
            parent.piece.lines.extend(part.body)
            stack.append(Frame(part.level, "additional", parent.piece))
            continue
        if parent is not None and parent.target != "group":
            # A heading of the team's own inside a known section stays there as Markdown.
            # Its heading line is part of its lines already, so the piece has no heading.
            keeper = Piece(parent.target, "", part.line, part.level, [], after=parent.piece.after)
            keeper.lines.append((part.line, _sub_heading(part, parent)))
            keeper.lines.extend(part.body)
            pieces.append(keeper)
            stack.append(Frame(part.level, parent.target, keeper))
            continue
        piece = Piece(
            "additional", part.title, part.line, part.level, list(part.body), after=last_known
        )
        pieces.append(piece)
        stack.append(Frame(part.level, "additional", piece))
        placed.append(Placed(part.line, part.title, "additional"))
    return title, pieces, placed


def _sub_heading(part: Part, parent: Frame) -> str:
    """A heading kept inside a section: one level below the section is ####, so that the
    page (sections are h2/h3) and the export can place it. Below a section whose own heading
    will be kept (not the field's usual title) it goes one level deeper."""
    depth = max(1, part.level - parent.piece.level)
    heading = parent.piece.heading
    if heading and normalize(heading) not in CANONICAL_TITLES.get(
        parent.target, (normalize(heading),)
    ):
        depth += 1
    return f"{'#' * min(6, 3 + depth)} {part.title}"


def _only_rules(body: list[tuple[int, str]]) -> bool:
    return all(
        not line.strip() or RULE.match(line) or line.strip() == NOT_WRITTEN for _n, line in body
    )


# Blocks inside a piece: a bold label alone on its line starts a block of the section it
# names; everything else stays with the piece.


def split_blocks(piece: Piece) -> list[Piece]:
    first = Piece(piece.target, piece.heading, piece.line, piece.level, [], piece.keep_heading)
    first.after, first.label_line = piece.after, piece.label_line
    blocks = [first]
    content_seen = False
    fence = None
    for number, line in piece.lines:
        if FENCE.match(line):
            fence = None if fence else line
        match = LABEL_LINE.match(line) if fence is None else None
        if match and not match["rest"].strip() and not match["indent"] and not match["bullet"]:
            target = block_label_target(match["label"])
            own = plain(match["label"]) in CANONICAL_PLAIN.get(piece.target, ())
            resolution = ("resolution_short_term", "resolution_long_term")
            if (
                target == piece.target in resolution
                and own
                and not content_seen
                and len(blocks) == 1
            ):
                continue  # the export's own label for this field ("**Short-term**:")
            returning = blocks[-1].target != piece.target and target == piece.target
            splits = (
                bool(target) and target != piece.target and _may_split(piece.target, target or "")
            )
            if (
                not target
                and blocks[-1].target != piece.target
                and not _label_belongs(blocks[-1].target, match["label"])
            ):
                # Another label of the section's own ("**D. SQL Queries:**" after the
                # communication timeline): back to the section, the label kept as written.
                block = Piece(piece.target, "", number, piece.level, [])
                block.after = piece.after
                blocks.append(block)
            elif target and (splits or returning):
                block = Piece(target, match["label"].strip(), number, piece.level, [])
                block.keep_heading, block.label_line = True, line.strip()
                blocks.append(block)
                continue
        blocks[-1].lines.append((number, line))
        content_seen = content_seen or bool(line.strip())
    return [block for block in blocks if block.lines or block is blocks[0]]


def _label_belongs(target: str, label: str) -> bool:
    """Labels a list section reads itself: factor categories, action item terms."""
    if target == "contributing_factors":
        return bool(category_heading(label))
    if target == "action_items":
        return bool(term_of(label))
    return False


def _may_split(current: str, target: str) -> bool:
    """Resolution splits into its two terms; action items keep their term labels."""
    if current == "action_items":
        return False
    if target in ("resolution_short_term", "resolution_long_term"):
        return current in ("resolution_short_term", "resolution_long_term")
    return True


# 3. Reading.


def parse_document(text: str, zone: str = "UTC") -> ParsedDocument:
    if not text or not text.strip():
        raise NotMarkdown("The document is empty.")
    if "\x00" in text[:2000] or _binary_share(text) > 0.1:
        raise NotMarkdown("This is not a text document (it looks like a binary file).")
    text, repairs = repair(text)
    document = ParsedDocument(repairs=repairs)
    text = _front_matter(text, document)
    parts = outline(text)
    title, pieces, placed = route(parts)
    document.title = title
    document.placed = placed
    pieces = _footer(pieces)
    reader = Reader(document, zone_named(zone))
    reader.read(pieces)
    if not document.title:
        document.title = document.facts.get("title", Fact("", "", 0)).value or "Imported postmortem"
    document.template = guess_template(text, document)
    return document


def _binary_share(text: str) -> float:
    sample = text[:4000]
    odd = sum(1 for c in sample if (ord(c) < 32 and c not in "\n\r\t") or c == "\ufffd")
    return odd / max(1, len(sample))


def _front_matter(text: str, document: ParsedDocument) -> str:
    match = FRONT_MATTER.match(text)
    if not match:
        return text
    lines = [line for line in match.group(1).split("\n") if line.strip()]
    if not all(re.match(r"^[\w -]+:", line) for line in lines):
        return text
    rest = text[match.end() :]
    body = "\n".join(
        f"**{key.strip()}**: {value.strip()}"
        for key, _, value in (line.partition(":") for line in lines)
    )
    return body + "\n\n" + rest


CLOSINGS = {layout.closing for layout in LAYOUTS.values() if layout.closing}


def _footer(pieces: list[Piece]) -> list[Piece]:
    """Label lines after the document's last rule (`**Report Created By**: Jane`) are header
    facts, not part of the last section. A template's closing line, which the export writes
    again, is left out."""
    last = pieces[-1]
    last.lines = [(n, line) for n, line in last.lines if line.strip() not in CLOSINGS]
    for index in range(len(last.lines) - 1, -1, -1):
        _number, line = last.lines[index]
        if RULE.match(line):
            tail = last.lines[index + 1 :]
            if (
                tail
                and all(not line.strip() or LABEL_LINE.match(line) for _n, line in tail)
                and any(line.strip() for _n, line in tail)
            ):
                last.lines = last.lines[:index]
                footer = Piece("footer", "", tail[0][0], 0, tail)
                return [*pieces, footer]
            break
    return pieces


TEMPLATE_MARKS = {
    "full": ("date of incident", "date of post mortem", "the five whys", "executive summary"),
    "incident_postmortem": ("incident id", "why it wasn t caught", "metrics and impact"),
    "incident_report": ("time started", "time resolved", "report created by", "how we detected"),
}


def guess_template(text: str, document: ParsedDocument) -> str:
    first = next((line for line in text.split("\n") if line.startswith("# ")), "").lower()
    if re.match(r"# post-mortem\b", first):
        return "full"
    if re.match(r"# incident report\b", first):
        return "incident_report"
    if re.match(r"# postmortem\b", first):
        return "incident_postmortem"
    names = {normalize(p.heading) for p in document.placed} | set(document.facts)
    scores = {key: sum(mark in names for mark in marks) for key, marks in TEMPLATE_MARKS.items()}
    best = max(scores, key=lambda key: scores[key])
    return best if scores[best] else "full"


HEADER_LABELS: dict[str, str] = {
    "incident id": "external_id", "incident key": "external_id",
    "external id": "external_id", "ticket": "external_id", "pagerduty incident": "external_id",
    "incident number": "external_id", "reference": "external_id",
    "date": "date", "date of incident": "date", "incident date": "date",
    "time": "time", "time window": "time", "time started": "started", "start time": "started",
    "started": "started", "started at": "started", "start": "started", "impact start": "started",
    "time resolved": "resolved", "resolved": "resolved", "resolved at": "resolved",
    "end time": "resolved", "ended": "resolved", "end": "resolved",
    "detected": "detected", "time detected": "detected", "detected at": "detected",
    "acknowledged": "acknowledged", "time acknowledged": "acknowledged",
    "mitigated": "mitigated", "time mitigated": "mitigated",
    "all clear": "all_clear", "all clear at": "all_clear",
    "duration": "duration", "total duration": "duration",
    "severity": "severity", "sev": "severity", "severity level": "severity",
    "status": "status", "incident status": "status",
    "authors": "authors", "author": "authors", "report created by": "authors",
    "written by": "authors", "postmortem owner": "authors", "prepared by": "authors",
    "reviewers": "reviewers", "reviewed by": "reviewers",
    "incident commander": "commander", "commander": "commander", "ic": "commander",
    "date of post mortem": "written_on", "report date": "written_on",
    "postmortem date": "written_on", "date of postmortem": "written_on",
    "title": "title", "review status": "review_status",
    "services affected": "services",
    "tags": "tags", "labels": "tags",
}  # fmt: skip
HEADER_PIECES = ("preamble", "header", "group", "footer", "executive_summary")


class Reader:
    def __init__(self, document: ParsedDocument, zone: tzinfo) -> None:
        self.document = document
        self.zone = zone
        self.texts: dict[str, list[str]] = {}
        self.notes: dict[str, list[str]] = {}
        self.notes_line: dict[str, int] = {}

    def problem(self, line: int, message: str) -> None:
        self.document.problems.append(Problem(line, message))

    def read(self, pieces: list[Piece]) -> None:
        # Header facts first: the timeline needs the document's date.
        for piece in pieces:
            if piece.target in HEADER_PIECES:
                piece.lines = self.header_facts(piece)
        self.resolve_header()
        blocks = [block for piece in pieces for block in split_blocks(piece)]
        for block in blocks:
            self.read_block(block)
        for target, lines in self.texts.items():
            text = _tidy(lines)
            if text:
                self.document.texts[target] = text
        for target, lines in self.notes.items():
            body = _tidy(lines)
            if body:
                self.document.additional.append(
                    AdditionalRow(
                        self.notes_line[target], f"{NOTE_TITLES[target]} notes", body, target
                    )
                )
        self.document.additional.sort(key=lambda row: row.line)

    # Header.

    def header_facts(self, piece: Piece) -> list[tuple[int, str]]:
        kept: list[tuple[int, str]] = []
        for number, line in piece.lines:
            match = LABEL_LINE.match(line)
            if match and match["rest"].strip() and not match["indent"]:
                name = HEADER_LABELS.get(normalize(match["label"]))
                if name and name not in self.document.facts:
                    value = match["rest"].strip()
                    self.document.facts[name] = Fact(
                        match["label"].strip(), value, number, line.strip()
                    )
                    continue
            kept.append((number, line))
        if piece.target in ("preamble", "header", "group", "footer"):
            # What is left of a header block is text of its own, never dropped.
            rest = [(n, line) for n, line in kept if line.strip() and not RULE.match(line)]
            if rest:
                title = piece.heading or DETAILS
                after = "_end" if piece.target == "footer" else piece.after
                self.details(piece.line or rest[0][0], title, _tidy([t for _n, t in kept]), after)
            return []
        return kept

    def details(self, line: int, title: str, body: str, after: str) -> None:
        """Header lines kept as written, joined to a section of that title if there is one."""
        for row in self.document.additional:
            if row.title == title and row.after == after:
                row.body = f"{row.body}\n\n{body}"
                return
        self.document.additional.append(AdditionalRow(line, title, body, after))

    def resolve_header(self) -> None:
        document, facts = self.document, self.document.facts
        if "title" in facts and not document.title:
            document.title = strip_emphasis(facts["title"].value)
        if "external_id" in facts:
            document.external_id = strip_emphasis(facts["external_id"].value).strip("[] ")
        unread: list[Fact] = []  # facts that could not be read: kept as written
        if "date" in facts:
            document.day = read_date(_first_value(facts["date"].value))
            if document.day is None:
                self.problem(facts["date"].line, f'"{facts["date"].value}" is not a date')
                unread.append(facts["date"])
        if "written_on" in facts:
            document.written_on = read_date(_first_value(facts["written_on"].value))
            if document.written_on is None:
                unread.append(facts["written_on"])
        day = document.day or date.today()
        clock_times: dict[str, datetime] = {}
        window = facts.get("time") or facts.get("duration")
        if window is not None:
            span = re.findall(
                r"\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}[^,;)–-]*|\d{1,2}:\d{2}"
                r"(?::\d{2})?\s*(?:[AaPp]\.?[Mm]\.?)?\s*(?:[A-Z]{2,5}|[+-]\d{2}:?\d{2})?",
                window.value,
            )
            times = [self.time(text, day, window.line) for text in span[:2]]
            if len(times) == 2 and times[0] is not None and times[1] is not None:
                clock_times.setdefault("started", times[0])
                clock_times.setdefault("resolved", times[1])
        for name in ("started", "detected", "acknowledged", "mitigated", "resolved", "all_clear"):
            if name in facts:
                value = _first_value(facts[name].value)
                if normalize(value) in ("ongoing", "n a", "tbd", ""):
                    continue
                moment = self.time(value, day, facts[name].line)
                if moment is not None:
                    clock_times[name] = moment
                else:
                    unread.append(facts[name])
        start = clock_times.get("started")
        for name, moment in sorted(clock_times.items(), key=lambda kv: kv[1]):
            if moment is None:
                continue
            if start is not None and moment < start and name != "started":
                moment += timedelta(days=1)  # an incident across midnight
            setattr(document, f"{name}_at" if name != "started" else "started_at", moment)
        if document.day is None and document.started_at is not None:
            document.day = document.started_at.date()
        for name in ("duration", "time"):
            if name in facts and not self.window_read(facts[name]):
                unread.append(facts[name])
        if "severity" in facts:
            document.severity = severity_of(facts["severity"].value)
            if not document.severity:
                self.problem(
                    facts["severity"].line,
                    f'severity "{facts["severity"].value}" '
                    "is not one of SEV1-3 (or P0-P3, Critical/High/Medium/Low)",
                )
            if not document.severity or _several(facts["severity"].value):
                unread.append(facts["severity"])
        if "status" in facts:
            document.status = status_of(facts["status"].value)
            if not document.status or _several(facts["status"].value):
                unread.append(facts["status"])
        if "review_status" in facts:
            document.review_status = facts["review_status"].value
        if "tags" in facts:
            document.tags = [t.strip().strip("`#") for t in facts["tags"].value.split(",")]
            document.tags = [t for t in document.tags if t]
        if "services" in facts:
            for name in _split_names(facts["services"].value):
                row = service_row(facts["services"].line, name)
                if row is not None:
                    self.document.services.append(row)
        if unread:
            lines = [fact.raw for fact in sorted(unread, key=_line_of)]
            self.details(unread[0].line, DETAILS, "\n".join(lines), "")

    def window_read(self, fact: Fact) -> bool:
        """A duration or time window says no more than the start and resolved times do."""
        document = self.document
        value = strip_emphasis(fact.value)
        if normalize(value) in ("ongoing", "n a", "tbd", ""):
            return True
        if not (document.started_at and document.resolved_at):
            return False
        derived = format_duration(document.resolved_at - document.started_at)
        return derived in value or len(re.findall(r"\d{1,2}:\d{2}", value)) >= 2

    def time(self, text: str, day: date, line: int) -> datetime | None:
        text = strip_emphasis(text).strip()
        try:
            found = read_time(text, day, self.zone)
        except TimeRefused as refused:
            self.problem(line, str(refused))
            return None
        if found is None:
            self.problem(line, f'"{text}" is not a time (expected HH:MM, e.g. 14:30 UTC)')
            return None
        return found.at

    # Blocks.

    def read_block(self, block: Piece) -> None:
        target = block.target
        if target in TEXT_FIELDS:
            self.text(block)
        elif target == "timeline":
            self.timeline(block)
        elif target == "action_items":
            self.action_items(block)
        elif target == "five_whys":
            self.five_whys(block)
        elif target == "contributing_factors":
            self.contributing_factors(block)
        elif target == "follow_ups":
            self.follow_ups(block)
        elif target == "services":
            self.services(block)
        elif target == "sign_off":
            self.sign_off(block)
        elif target == "additional":
            body = _tidy([line for _n, line in block.lines if line.strip() != NOT_WRITTEN])
            self.document.additional.append(
                AdditionalRow(block.line, strip_emphasis(block.heading), body, block.after)
            )
        elif target in ("group", "preamble", "header", "footer"):
            return  # read as header facts already

    def add_text(self, target: str, block: Piece, lines: list[str]) -> None:
        """Append a piece to a text field. Its heading is kept, as a sub-heading or as the
        bold label it was, unless it is the field's own title and the field was empty."""
        existing = self.texts.setdefault(target, [])
        body = _tidy([line for line in lines if line.strip() != NOT_WRITTEN])
        canonical = plain(block.heading) in CANONICAL_PLAIN.get(target, ())
        needs_heading = bool(block.heading) and (bool(existing) or not canonical)
        if not body and not needs_heading:
            return
        if needs_heading:
            if block.keep_heading:
                marker = block.label_line or f"**{block.heading.rstrip(':')}:**"
            else:
                marker = f"#### {block.heading}"
            gap = "\n\n" if not block.label_line or (lines and not lines[0].strip()) else "\n"
            body = f"{marker}{gap}{body}" if body else marker
        if existing:
            existing.append("")
        existing.append(body)

    def text(self, block: Piece) -> None:
        lines = self.action_item_tables(block)
        if not _tidy(lines) and len(lines) < len(block.lines):
            return  # all it held was read as rows
        if block.target == "impact_summary":
            if block.label_line and normalize(block.heading) in (
                "users affected",
                "business impact",
            ):
                # Back from the services list to the export's own impact blocks.
                lines = [block.label_line, *lines]
                block = Piece(block.target, "", block.line, block.level)
            lines = self.impact(block, lines)
        elif block.target == "detection_notes":
            lines = self.detection(lines)
        elif block.target == "response_notes":
            lines = _without_derived_metrics(lines)
        elif block.target == "root_cause":
            lines = self.inline_labels(block, lines, {"what triggered it": "trigger"})
        self.add_text(block.target, block, lines)

    def action_item_tables(self, block: Piece) -> list[str]:
        """A table of action items is read as action items wherever it stands (the full
        template keeps them under "Long-term Prevention")."""
        lines: list[str] = []
        for kind, start, chunk in _chunks(block.lines):
            if kind == "table":
                table = tables.read_table([line for _n, line in chunk], start)
                if table is not None and _is_action_item_table(table):
                    self.action_item_table(table, "")
                    self.document.placed.append(
                        Placed(start, block.heading, "action_items", f"{len(table.rows)} rows")
                    )
                    continue
            lines += [line for _n, line in chunk]
        return lines

    def inline_labels(self, block: Piece, lines: list[str], moves: dict[str, str]) -> list[str]:
        """`**What triggered it**: text` inside another section goes to its own field."""
        kept: list[str] = []
        for line in lines:
            match = LABEL_LINE.match(line)
            target = moves.get(normalize(match["label"])) if match and not match["indent"] else None
            if match and target and match["rest"].strip():
                self.texts.setdefault(target, []).append(match["rest"].strip())
                continue
            kept.append(line)
        return kept

    def note(self, target: str, line: int, text: str) -> None:
        self.notes.setdefault(target, []).append(text)
        self.notes_line.setdefault(target, line)

    def leftover(self, target: str, block: Piece, lines: list[tuple[int, str]]) -> None:
        """What a list section could not read: inline labels naming a text section go there
        (`**Root Cause**: …` under the five whys), the rest to "<section> notes"."""
        for number, line in lines:
            if line.strip() == NOT_WRITTEN:
                continue
            match = LABEL_LINE.match(line)
            moved = block_label_target(match["label"]) if match and not match["indent"] else None
            if match and moved in TEXT_FIELDS and match["rest"].strip() and moved != target:
                self.texts.setdefault(moved, []).append(
                    f"**{match['label'].strip().rstrip(':')}**: {match['rest'].strip()}"
                )
                continue
            if normalize(line) == f"{normalize(NOTE_TITLES[target])} notes":
                continue
            self.note(target, number, line)

    # Impact: the export's users and business bullets, and the services list.

    def impact(self, block: Piece, lines: list[str]) -> list[str]:
        """The export's "Users Affected" and "Business Impact" blocks become numbers again.
        A block is read only when every bullet says exactly what the export would write;
        otherwise it stays as text, whole."""
        kept: list[str] = []
        index = 0
        while index < len(lines):
            line = lines[index]
            label = LABEL_LINE.match(line)
            name = normalize(label["label"]) if label else ""
            if (
                label
                and not label["rest"].strip()
                and name in ("users affected", "business impact")
            ):
                end = index + 1
                while end < len(lines) and lines[end].startswith("- "):
                    end += 1
                values = [self.impact_value(bullet) for bullet in lines[index + 1 : end]]
                if end > index + 1 and all(value is not None for value in values):
                    for bullet_name, value in values:  # type: ignore[misc]
                        if value != "derived":
                            self.document.impact_numbers[bullet_name] = value
                    index = end
                    while index < len(lines) and not lines[index].strip():
                        index += 1
                    continue
            kept.append(line)
            index += 1
        return kept

    def impact_value(self, bullet: str) -> tuple[str, object] | None:
        match = re.match(r"^- \*\*(?P<name>[^*]+)\*\*: (?P<value>.+)$", bullet)
        if not match:
            return None
        name = normalize(match["name"])
        value = _canonical_number(name, match["value"], self.document)
        return (name, value) if value is not None else None

    def detection(self, lines: list[str]) -> list[str]:
        """The export's leading "How Detected" and "Alert" lines become fields."""
        rest = list(lines)
        while rest and not rest[0].strip():
            rest.pop(0)
        for name, pattern in (
            ("method", r"^\*\*How Detected\*\*: (?P<value>.+)$"),
            ("alert", r'^\*\*Alert\*\*: "(?P<value>[^"]+)"$'),
        ):
            if rest and (match := re.match(pattern, rest[0])):
                self.document.detection[name] = match["value"].strip()
                rest.pop(0)
                while rest and not rest[0].strip():
                    rest.pop(0)
        return rest

    # Timeline.

    def timeline(self, block: Piece) -> None:
        zone = self.zone
        heading_zone = re.search(r"\(([^()]*)\)", block.heading)
        if heading_zone:
            zone = self.zone_from(heading_zone[1], block.line) or zone
        clock = Clock(self.document.day or date.today(), zone)
        seen = {(e.occurred_at, e.description) for e in self.document.events}
        leftover: list[tuple[int, str]] = []
        for kind, start, lines in _chunks(block.lines):
            if kind == "table":
                table = tables.read_table([line for _n, line in lines], start)
                if table is None:
                    leftover.extend(lines)
                    continue
                clock.previous = None  # a table is a sequence of its own
                self.timeline_table(table, clock, seen, lines, leftover)
                clock.previous = None
                continue
            for number, line in lines:
                if line.startswith("#"):
                    clock.previous = None  # so is each phase ("### Detection")
                zone_hint = re.search(r"all times (?:are )?in ([A-Za-z/_+:0-9-]+)", line, re.I)
                if zone_hint:
                    clock.zone = self.zone_from(zone_hint[1], number) or clock.zone
                event = self.event_line(number, line, clock)
                if event is None:
                    leftover.append((number, line))
                elif (event.occurred_at, event.description) in seen:
                    self.problem(
                        number,
                        f"{event.original_time} {event.description[:40]}: "
                        "already in the timeline, not added twice",
                    )
                else:
                    seen.add((event.occurred_at, event.description))
                    self.document.events.append(event)
        self.leftover("timeline", block, _without_derived_duration(leftover, self.document))
        if len(self.document.events) > MAX_EVENTS:
            raise NotMarkdown(f"More than {MAX_EVENTS:,} timeline events: split the document.")

    def zone_from(self, text: str, line: int) -> tzinfo | None:
        words = text.replace("all times", "").replace("All times", "").strip(" :")
        if not words or normalize(words) in ("utc", "gmt", "z"):
            return None
        try:
            return zone_named(words)
        except TimeRefused:
            return None

    def timeline_table(
        self,
        table: tables.Table,
        clock: Clock,
        seen: set[tuple[datetime, str]],
        lines: list[tuple[int, str]],
        leftover: list[tuple[int, str]],
    ) -> None:
        meanings = tables.columns(table.header, tables.TIMELINE_COLUMNS)
        if "time" not in meanings.values():
            self.problem(
                table.line,
                "a timeline table needs a time column (Time, When, "
                "Timestamp): the table is kept as text in the timeline notes",
            )
            leftover.extend(lines)
            return
        column_zone = tables.zone_of_time_column(table.header, meanings)
        saved_zone = clock.zone
        if column_zone:
            clock.zone = self.zone_from(column_zone, table.line) or clock.zone
        for number, row in zip(table.row_lines, table.rows, strict=True):
            time_text = strip_emphasis(tables.cell(row, meanings, "time"))
            description = tables.cell(row, meanings, "event")
            try:
                found = clock.read(time_text)
            except TimeRefused as refused:
                self.problem(number, f"{refused}: the row is kept in the timeline notes")
                leftover.append((number, "| " + " | ".join(row) + " |"))
                continue
            if found is None or time_text[found.length :].strip():
                self.problem(
                    number, f'"{time_text}" is not a time: the row is kept in the timeline notes'
                )
                leftover.append((number, "| " + " | ".join(row) + " |"))
                continue
            description, key = _key_decision(description)
            notes = [
                tables.cell(row, meanings, "notes"),
                *tables.unknown_cells(table.header, row, meanings),
            ]
            event = EventRow(
                number,
                found.at,
                found.original,
                found.zone_note,
                description or "(no description)",
                actor=strip_emphasis(tables.cell(row, meanings, "actor")),
                action_taken=tables.cell(row, meanings, "action_taken"),
                notes="\n".join(n for n in notes if n),
                kind=kind_of(tables.cell(row, meanings, "kind")),
                is_key_decision=key,
            )
            if (event.occurred_at, event.description) in seen:
                self.problem(
                    number,
                    f"{found.original} {description[:40]}: already in the "
                    "timeline, not added twice",
                )
                continue
            seen.add((event.occurred_at, event.description))
            self.document.events.append(event)
        clock.zone = saved_zone

    def event_line(self, number: int, line: str, clock: Clock) -> EventRow | None:
        """`14:02 text`, `- 14:02 UTC — text`, `- **First Alert:** 14:30 - text`,
        `[14:02] jane: text`, `**14:02** text`."""
        text = line.strip()
        item = LIST_ITEM.match(text)
        if item:
            text = item["text"].strip()
        text = re.sub(r"^\[[ xX]\]\s*", "", text)
        label = ""
        labelled = LABEL_LINE.match(text)
        if labelled and labelled["rest"] and not re.match(r"^\d", labelled["label"]):
            label, text = labelled["label"].strip().rstrip(":"), labelled["rest"].strip()
        bold_time = re.match(r"^\*\*([^*]+)\*\*\s*(.*)$", text)
        if bold_time and re.match(r"^\[?\d{1,2}:\d{2}", bold_time[1]):
            text = f"{bold_time[1]} {bold_time[2]}"
        try:
            found = clock.read(text)
        except TimeRefused as refused:
            self.problem(number, f"{refused}: kept in the timeline notes")
            return None
        if found is None:
            return None
        rest = text[found.length :].strip()
        rest = re.sub(r"^[\]\-–—:|]+\s*", "", rest).strip()
        actor = ""
        chat = re.match(r"^(?P<who>@?[\w.\- ]{1,40}?):\s+(?P<said>.+)$", rest)
        if chat and (line.strip().startswith("[") or "@" in chat["who"]):
            actor, rest = chat["who"].lstrip("@").strip(), chat["said"].strip()
        if not rest:
            self.problem(number, "has a time but no event: kept in the timeline notes")
            return None
        rest, key = _key_decision(rest)
        if label:
            rest = f"**{label}:** {rest}"
        return EventRow(
            number,
            found.at,
            found.original,
            found.zone_note,
            rest,
            actor=actor,
            is_key_decision=key,
        )

    # Action items.

    def action_items(self, block: Piece) -> None:
        term = term_of(block.heading)
        leftover: list[tuple[int, str]] = []
        chunks = list(_chunks(block.lines))
        has_table = any(kind == "table" for kind, _s, _l in chunks)
        for kind, start, lines in chunks:
            if kind == "table":
                table = tables.read_table([line for _n, line in lines], start)
                if table is None or not self.action_item_table(table, term):
                    leftover.extend(lines)
                continue
            for number, line in lines:
                label = LABEL_LINE.match(line)
                if label and not label["rest"].strip() and not label["bullet"]:
                    found = term_of(label["label"])
                    if found:
                        term = found
                        continue
                heading = re.match(r"^#{1,6}\s+(.*)$", line)
                if heading and term_of(heading[1]):
                    term = term_of(heading[1])
                    continue
                item = LIST_ITEM.match(line)
                if item and not has_table and not item["indent"]:
                    self.action_item_from_list(number, item["text"], term)
                    continue
                if item and item["indent"] and not has_table and self.document.action_items:
                    last = self.document.action_items[-1]
                    last.description = (last.description + "\n" + item["text"]).strip()
                    continue
                leftover.append((number, line))
        self.leftover("action_items", block, leftover)

    def action_item_table(self, table: tables.Table, term: str) -> bool:
        meanings = tables.columns(table.header, tables.ACTION_ITEM_COLUMNS)
        if "title" not in meanings.values():
            return False
        for number, row in zip(table.row_lines, table.rows, strict=True):
            title = tables.cell(row, meanings, "title")
            if not title:
                continue
            notes = [tables.cell(row, meanings, "notes")]
            due_text = strip_emphasis(tables.cell(row, meanings, "due"))
            if due_text.lower() in NOTHING:
                due_text = ""
            due = read_date(due_text) if due_text else None
            if due_text and due is None:
                self.problem(number, f'due date "{due_text}" is not a date: kept in the notes')
                notes.append(f"Due: {due_text}")
            status_text = tables.cell(row, meanings, "status")
            status = action_status_of(status_text)
            if status_text and status is None:
                self.problem(
                    number,
                    f'status "{status_text}" is not one this app knows: the '
                    "item is open and the status kept in its notes",
                )
                notes.append(f"Status: {status_text}")
            number_text = strip_emphasis(tables.cell(row, meanings, "number"))
            if number_text and not number_text.isdigit():
                notes.append(f"ID: {number_text}")
            notes += tables.unknown_cells(table.header, row, meanings)
            priority_text = tables.cell(row, meanings, "priority")
            priority = priority_of(priority_text)
            if priority_text and not priority:
                notes.append(f"Priority: {priority_text}")
            self.document.action_items.append(
                ActionItemRow(
                    number,
                    title,
                    owner=_someone(tables.cell(row, meanings, "owner")),
                    due_date=due,
                    priority=priority,
                    status=status or "open",
                    category=category_of(tables.cell(row, meanings, "category")),
                    term=term_of(tables.cell(row, meanings, "term")) or term,
                    tracker_url=link_of(tables.cell(row, meanings, "tracker")),
                    description="\n".join(n for n in notes if n),
                )
            )
        return True

    def action_item_from_list(self, number: int, text: str, term: str) -> None:
        box = CHECKBOX.match(text)
        done = bool(box and box["mark"].strip())
        if box:
            text = box["text"]
        self.document.action_items.append(
            ActionItemRow(number, text.strip(), status="done" if done else "open", term=term)
        )

    # Five whys.

    def five_whys(self, block: Piece) -> None:
        leftover: list[tuple[int, str]] = []
        current: WhyRow | None = None
        for kind, start, lines in _chunks(block.lines):
            if kind == "table":
                table = tables.read_table([line for _n, line in lines], start)
                meanings = tables.columns(table.header, tables.FIVE_WHYS_COLUMNS) if table else {}
                if table is None or "question" not in meanings.values():
                    leftover.extend(lines)
                    continue
                for number, row in zip(table.row_lines, table.rows, strict=True):
                    self.document.whys.append(
                        WhyRow(
                            number,
                            tables.cell(row, meanings, "question"),
                            tables.cell(row, meanings, "answer"),
                        )
                    )
                current = None
                continue
            for number, line in lines:
                question = re.match(
                    r"^(?:[-*]\s+)?(?:\*\*)?(?:Why\s*)?(?P<n>\d{1,2})[.):]\s*(?P<q>.+?)(?:\*\*)?\s*$",
                    line.strip(),
                )
                if question and ("?" in question["q"] or line.strip().startswith("**")):
                    current = WhyRow(number, question["q"].strip().rstrip("*").strip(), "")
                    self.document.whys.append(current)
                    continue
                answer = re.match(r"^\s*(?:→|->|=>|⇒|Because:?|A:)\s*(?P<a>.*)$", line)
                if RULE.match(line):
                    current = None
                    continue
                if current is not None and answer and not current.answer:
                    current.answer = answer["a"]
                    continue
                if current is not None and not LABEL_LINE.match(line):
                    current.answer += "\n" + line.rstrip()  # paragraphs kept; trimmed below
                    continue
                if not line.strip():
                    continue
                current = None
                leftover.append((number, line))
        for why in self.document.whys:
            why.answer = why.answer.strip("\n").rstrip()
        self.leftover("five_whys", block, leftover)

    # Contributing factors.

    def contributing_factors(self, block: Piece) -> None:
        category = category_heading(block.heading)
        leftover: list[tuple[int, str]] = []
        current: FactorRow | None = None
        for number, line in block.lines:
            label = LABEL_LINE.match(line)
            heading = re.match(r"^#{1,6}\s+(.*)$", line)
            named = (label["label"] if label and not label["rest"].strip() else None) or (
                heading[1] if heading else None
            )
            if named and category_heading(named):
                category, current = category_heading(named), None
                continue
            item = LIST_ITEM.match(line)
            if item and not item["indent"]:
                text = item["text"].strip()
                guessed = category or guess_factor_category(text)
                current = FactorRow(number, guessed, text, guessed=not category)
                self.document.factors.append(current)
                continue
            if current is not None and line.startswith((" ", "\t")) and line.strip():
                current.description += "\n" + line.strip()
                continue
            if not line.strip():
                continue
            current = None
            leftover.append((number, line))
        self.leftover("contributing_factors", block, leftover)

    # Follow-ups: `- [x] 2026-03-09: One-week check-in` and indented notes.

    def follow_ups(self, block: Piece) -> None:
        leftover: list[tuple[int, str]] = []
        current: FollowUpRow | None = None
        for number, line in block.lines:
            item = re.match(
                r"^[-*]\s+(?:\[(?P<mark>[ xX])\]\s+)?(?:\*\*)?(?P<date>\d{4}-\d{2}-\d{2})"
                r"(?:\*\*)?:?\s*(?P<title>.*)$",
                line,
            )
            if item:
                due = read_date(item["date"])
                if due is not None:
                    current = FollowUpRow(
                        number,
                        due,
                        item["title"].strip() or "Follow-up",
                        done=bool((item["mark"] or "").strip()),
                    )
                    self.document.follow_ups.append(current)
                    continue
            if current is not None and (line.startswith("  ") or not line.strip()):
                current.notes += "\n" + line[2:] if line.strip() else "\n"
                continue
            current = None
            leftover.append((number, line))
        for row in self.document.follow_ups:
            row.notes = row.notes.strip("\n")
        self.leftover("follow_ups", block, leftover)

    # Services affected.

    def services(self, block: Piece) -> None:
        """One service per bullet, until the list ends; what follows the list goes back to
        the impact text it stood in, and bullets that are not services stay with it too."""
        rest: list[str] = []
        leftover: list[str] = []
        listing = True
        for number, line in block.lines:
            item = LIST_ITEM.match(line)
            if listing and not line.strip():
                continue
            row = (
                service_row(number, item["text"])
                if listing and item and not item["indent"]
                else None
            )
            if row is None:
                if listing and item:
                    leftover.append(line)
                    continue
                listing = False
                rest.append(line)
                continue
            self.document.services = [
                s for s in self.document.services if s.name.lower() != row.name.lower()
            ]
            self.document.services.append(row)
        if leftover and block.lines and not block.lines[0][1].strip():
            leftover.insert(0, "")  # the blank line under the label, as written
        if any(line.strip() for line in leftover):
            label = Piece(
                "impact_summary",
                block.heading,
                block.line,
                block.level,
                keep_heading=True,
                label_line=block.label_line,
            )
            self.add_text("impact_summary", label, leftover)
        if rest:
            self.add_text("impact_summary", Piece("impact_summary", "", block.line, 0), rest)

    # Sign-off.

    def sign_off(self, block: Piece) -> None:
        leftover: list[tuple[int, str]] = []
        document = self.document
        for number, line in block.lines:
            row = sign_off_row(number, line)
            if row is not None:
                document.sign_off.append(row)
                continue
            fact = re.match(r"^\*\*(?P<label>[^*]+)\*\*:?\s*(?P<value>.+?)\s*$", line.strip())
            name = normalize(fact["label"]) if fact else ""
            value = fact["value"].lstrip(":").strip() if fact else ""
            if name == "status" and status_of_review(value):
                document.review_status = value
                continue
            if name == "review meeting":
                moment = _datetime_of(value)
                if moment is not None:
                    document.review_meeting_at = moment
                    continue
            if name == "next review":
                day = read_date(value.split(" - ")[0])
                if day is not None and value.split(" - ", 1)[1:] in (
                    [],
                    ["Check action item progress"],
                ):
                    document.next_review_on = day
                    continue
            if line.strip() or leftover:
                leftover.append((number, line))
        self.leftover("sign_off", block, leftover)


NOTE_TITLES = {
    "timeline": "Timeline",
    "action_items": "Action items",
    "five_whys": "Five whys",
    "contributing_factors": "Contributing factors",
    "follow_ups": "Follow-ups",
    "sign_off": "Sign-off",
    "services": "Services",
}


def _chunks(lines: list[tuple[int, str]]) -> Iterator[tuple[str, int, list[tuple[int, str]]]]:
    """Runs of table lines and of other lines, in order: (kind, first line number, lines)."""
    run: list[tuple[int, str]] = []
    kind = ""
    for number, line in lines:
        this = "table" if tables.is_table_line(line) else "text"
        if this != kind and run:
            yield kind, run[0][0], run
            run = []
        kind = this
        run.append((number, line))
    if run:
        yield kind, run[0][0], run


def _is_action_item_table(table: tables.Table) -> bool:
    meanings = set(tables.columns(table.header, tables.ACTION_ITEM_COLUMNS).values())
    return "title" in meanings and len(meanings & {"owner", "due", "status", "priority"}) >= 2


def _someone(text: str) -> str:
    name = strip_emphasis(text).strip()
    return "" if name.lower() in NOTHING else name


def _tidy(lines: list[str]) -> str:
    """Markdown as written, without leading/trailing blank lines and rules, and with runs of
    blank lines collapsed."""
    text = "\n".join(line.rstrip() for line in lines)
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    parts = text.split("\n")
    while parts and (not parts[-1].strip() or RULE.match(parts[-1])):
        parts.pop()
    while parts and (not parts[0].strip() or RULE.match(parts[0])):
        parts.pop(0)
    return "\n".join(parts)


def _line_of(fact: Fact) -> int:
    return fact.line


def _several(value: str) -> bool:
    """ "SEV1 / SEV2 / SEV3" or "Resolved | Monitoring": a template's choices, not a value."""
    return len(re.findall(r"[/|]", strip_emphasis(value))) >= 1 and len(value) > 12


def _first_value(value: str) -> str:
    return strip_emphasis(value).split(" (")[0].strip()


def _key_decision(text: str) -> tuple[str, bool]:
    match = re.fullmatch(r"\*\*(?P<text>[^*].*?)\*\*", text.strip())
    return (match["text"].strip(), True) if match else (text.strip(), False)


def _split_names(value: str) -> list[str]:
    return [part.strip() for part in re.split(r",(?![^()]*\))|;", value) if part.strip()]


def _datetime_of(value: str) -> datetime | None:
    match = re.match(r"^(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})\s*(?:UTC|Z)?$", value.strip())
    if not match:
        return None
    return datetime.fromisoformat(f"{match[1]}T{match[2]}").replace(tzinfo=UTC)


# Values.


def severity_of(text: str) -> str:
    value = normalize(text)
    for word, severity in (
        (r"sev ?0|sev ?1|p0|p1|critical|sev-1|severity 1|major outage", "SEV1"),
        (r"sev ?2|p2|high|major", "SEV2"),
        (r"sev ?3|sev ?4|sev ?5|p3|p4|medium|moderate|low|minor", "SEV3"),
    ):
        if re.search(rf"\b(?:{word})\b", value):
            return severity
    return ""


def status_of(text: str) -> str:
    value = normalize(text)
    for words, status in (
        ("resolved closed done fixed complete completed", "resolved"),
        ("monitoring", "monitoring"),
        ("identified mitigating mitigated fixing", "identified"),
        ("investigating in progress open ongoing active", "investigating"),
    ):
        if any(re.search(rf"\b{w}\b", value) for w in words.split()):
            return status
    return ""


def status_of_review(text: str) -> str:
    value = normalize(text).split(" ")[0]
    return value if value in ("draft", "in", "approved", "published") else ""


ACTION_STATUSES = (
    ("wont_do", ("won t do", "wont do", "won t fix", "cancelled", "canceled", "dropped",
                 "rejected", "not doing", "obsolete")),
    ("done", ("done", "complete", "completed", "closed", "fixed", "resolved", "finished",
              "shipped", "deployed")),
    ("blocked", ("blocked", "on hold", "waiting")),
    ("in_progress", ("in progress", "ongoing", "started", "wip", "doing", "in review",
                     "in flight", "active")),
    ("open", ("planned", "not started", "todo", "to do", "open", "pending", "new", "backlog",
              "scheduled", "next")),
)  # fmt: skip


def action_status_of(text: str) -> str | None:
    value = normalize(text)
    if not value:
        return None
    for status, words in ACTION_STATUSES:
        if value in words or any(value.startswith(w + " ") for w in words):
            return status
    if "✅" in text or "✔" in text:
        return "done"
    return None


def priority_of(text: str) -> str:
    value = normalize(text)
    match = re.search(r"\bp ?([0-3])\b|priority ([0-3])", value)
    if match:
        return f"P{match[1] or match[2]}"
    words = {
        "critical": "P0",
        "urgent": "P0",
        "highest": "P0",
        "high": "P1",
        "medium": "P2",
        "normal": "P2",
        "low": "P3",
        "lowest": "P3",
    }
    return words.get(value, "")


def category_of(text: str) -> str:
    value = normalize(text)
    return value if value in ("prevent", "detect", "respond", "recover") else ""


def term_of(text: str) -> str:
    value = (text or "").lower()
    if re.search(r"\bimmediate|this week|right now|\bnow\b", value):
        return "immediate"
    if re.search(r"short[- ]?term|this month", value):
        return "short_term"
    if re.search(r"long[- ]?term|this quarter|later", value):
        return "long_term"
    return ""


# First match wins, so the more specific words come first: "status page updated" is a
# communication, not a page.
KIND_KEYWORDS = [
    ("decision", ("decision", "decided")),
    ("communication", ("status page", "notified", "email", "announce", "tweet", "slack",
                       "customer", "stakeholder", "update posted", "informed")),
    ("acknowledge", ("acknowledg", " ack ")),
    ("page", ("paged", "page ", "escalat")),
    ("resolution", ("resolved", "resolution", "closed")),
    ("mitigation", ("mitigat", "restored", "recover")),
    ("alert", ("alert", "alarm", "fired")),
    ("investigate", ("identified", "investigat", "checked", "checking", "confirmed",
                     "analysis", "found")),
    ("action", ("restart", "rollback", "roll back", "deploy", "scaled", "initiated", "fix")),
]  # fmt: skip


def guess_kind(description: str) -> str:
    text = f" {description.lower()} "
    for kind, words in KIND_KEYWORDS:
        if any(word in text for word in words):
            return kind
    return "other"


def kind_of(text: str) -> str:
    value = normalize(text)
    kinds = (
        "alert",
        "page",
        "acknowledge",
        "investigate",
        "decision",
        "action",
        "communication",
        "mitigation",
        "resolution",
        "other",
    )
    return value if value in kinds else ""


def link_of(text: str) -> str:
    link = re.search(r"\((https?://[^)\s]+)\)", text) or re.search(r"https?://\S+", text)
    if not link:
        return ""
    return link.group(1) if link.re.pattern.startswith(r"\(") else link.group(0)


FACTOR_CATEGORY_WORDS = {
    "human": ("time pressure", "fatigue", "unfamiliar", "context switch", "handoff", "training",
              "knowledge", "rushed", "human", "on call", "oversight", "communication"),
    "process": ("review", "process", "documentation", "policy", "runbook", "checklist",
                "load test", "testing", "canary", "deadline", "planning", "no automated"),
}  # fmt: skip


def guess_factor_category(text: str) -> str:
    value = text.lower()
    for category, words in FACTOR_CATEGORY_WORDS.items():
        if any(word in value for word in words):
            return category
    return "technical"


def category_heading(text: str) -> str:
    value = normalize(text)
    for category in ("technical", "process", "human"):
        if value in (category, f"{category} factors", f"{category} factor"):
            return category
    return ""


def _canonical_number(name: str, value: str, document: ParsedDocument) -> object | None:
    """A bullet of the export's impact block, read back only when it says exactly what the
    export would write (anything more is kept as text)."""
    value = value.strip()
    if name == "count":
        match = re.fullmatch(r"~?([\d,]+) users", value)
        return int(match[1].replace(",", "")) if match else None
    if name == "customer complaints":
        match = re.fullmatch(r"([\d,]+) support tickets", value)
        return int(match[1].replace(",", "")) if match else None
    if name == "revenue lost":
        match = re.fullmatch(r"\$([\d,]+\.\d{2})", value)
        try:
            return Decimal(match[1].replace(",", "")) if match else None
        except InvalidOperation:
            return None
    if name == "availability slo":
        match = re.fullmatch(r"([\d.]+)%", value)
        try:
            return Decimal(match[1]) if match else None
        except InvalidOperation:
            return None
    if name == "scope":
        return value if "**" not in value else None
    duration = _document_duration(document)
    if name == "duration":
        return "derived" if duration and value == duration else None
    if name == "sla breach":
        match = re.fullmatch(
            r"(?:Yes|No) \((.+) [<>] [\d.]+ min monthly budget for ([\d.]+)%\)", value
        )
        if match and duration and match[1] == duration:
            document.impact_numbers["availability slo"] = Decimal(match[2])
            return "derived"
        return None
    return None


def _document_duration(document: ParsedDocument) -> str:
    if document.started_at and document.resolved_at:
        return format_duration(document.resolved_at - document.started_at)
    return ""


IMPACT_WORDS = (
    ("unaffected", ("not affected", "unaffected", "no impact", "not impacted", "❌", "ok")),
    ("down", ("down", "outage", "unavailable", "complete outage", "offline", "failed")),
    ("degraded", ("degraded", "slow", "intermittent", "partial", "saturated", "errors",
                  "elevated", "impacted", "affected", "✅")),
)  # fmt: skip


def service_row(number: int, text: str) -> ServiceRow | None:
    """`Frontend: down (note)` (our export), `✅ Frontend (down - unable to reach backend)`,
    `[x] Backend API`, `Checkout Service (complete outage)`."""
    raw = text.strip()
    if raw.startswith("**"):
        return None  # a label ("- **Scope**: …"), not a service
    box = CHECKBOX.match(raw)
    checked = None
    if box:
        checked, raw = bool(box["mark"].strip()), box["text"].strip()
    mark = ""
    if raw[:1] in ("✅", "❌", "⚠"):
        mark, raw = raw[:1], raw[1:].strip()
    ours = re.fullmatch(
        r"(?P<name>[^:()]{1,80}): (?P<impact>down|degraded|not affected)"
        r"(?: \((?P<note>.*)\))?",
        raw,
    )
    if ours:
        impact = {"not affected": "unaffected"}.get(ours["impact"], ours["impact"])
        return ServiceRow(number, ours["name"].strip(), impact, (ours["note"] or "").strip())
    match = re.fullmatch(r"(?P<name>[^()]{1,80}?)\s*(?:\((?P<note>.*)\))?", raw)
    if not match or len(match["name"].split()) > 6 or match["name"].startswith("["):
        return None
    note = (match["note"] or "").strip()
    impact = ""
    lowered = f"{mark} {note.lower()}"
    for value, words in IMPACT_WORDS:
        if any(word in lowered for word in words):
            impact = value
            break
    if checked is not None and not impact:
        impact = "degraded" if checked else "unaffected"
    leading = re.match(r"^(down|degraded|not affected|unaffected)\s*[-–—:]\s*(.*)$", note, re.I)
    if leading:
        note = leading[2].strip()
        impact = {
            "saturated": "degraded",
            "unaffected": "unaffected",
            "not affected": "unaffected",
        }.get(leading[1].lower(), leading[1].lower())
    if not impact:
        if not note and checked is None and not mark:
            return None  # a plain bullet is not obviously a service
        impact = "degraded"
    return ServiceRow(number, match["name"].strip(), impact, note)


ROLES = {
    "author": "author", "authors": "author", "engineering lead": "engineering_lead",
    "eng lead": "engineering_lead", "tech lead": "engineering_lead", "lead": "engineering_lead",
    "manager": "manager", "engineering manager": "manager", "director": "manager",
}  # fmt: skip


def sign_off_row(number: int, line: str) -> SignOffRow | None:
    """`- [x] Manager: Sarah - 2025-10-30`, `- [ ] Engineering Lead: Mike - pending`,
    `- [ ] Manager: Sarah - changes requested 2025-10-30: note`."""
    match = re.match(
        r"^\s*[-*]\s+\[(?P<mark>[ xX])\]\s+(?P<role>[^:]{2,40}):\s*(?P<rest>.+)$", line
    )
    if not match:
        return None
    role = ROLES.get(normalize(match["role"]))
    if role is None:
        return None
    rest = match["rest"].strip()
    names, decided, decision, note = rest, None, "pending", ""
    changes = re.match(
        r"^(?P<names>.+?) - changes requested (?P<date>\d{4}-\d{2}-\d{2}):\s*"
        r"(?P<note>.*)$",
        rest,
    )
    dated = re.match(r"^(?P<names>.+?)\s+[-–—,]\s+(?P<date>\S.*)$", rest)
    if changes:
        names, decided = changes["names"], read_date(changes["date"])
        decision, note = "changes_requested", changes["note"]
    elif dated and normalize(dated["date"]) == "pending":
        names = dated["names"]
    elif dated and read_date(dated["date"]):
        names, decided = dated["names"], read_date(dated["date"])
        decision = "approved" if match["mark"].strip() else "pending"
    elif match["mark"].strip():
        decision = "approved"
    return SignOffRow(number, role, names.strip(), decided, decision, note)


# Response metrics and total duration: derived lines of our own export.


def _without_derived_metrics(lines: list[str]) -> list[str]:
    """The export's "Response Timeline" block: the four metrics the app derives, each with how
    it is measured in parentheses ("start → first alert"). A team's own block, with targets or
    other wording, stays."""
    text = "\n".join(lines)
    pattern = re.compile(
        r"\*\*Response Timeline\*\*:\n((?:- \*\*Time to (?:detect|acknowledge|mitigate|resolve)"
        r"\*\*: [^\n(]+ \([^()\n]*→[^()\n]*\)\n?){4})"
    )
    return pattern.sub("", text, count=1).split("\n")


def _without_derived_duration(
    lines: list[tuple[int, str]], document: ParsedDocument
) -> list[tuple[int, str]]:
    """`**Total Duration**: 30 min` is dropped when it is what the times say."""
    out = []
    for number, line in lines:
        match = re.fullmatch(r"\*\*Total Duration\*\*: (.+)", line.strip())
        said = match[1] if match else None
        if said and said == _document_duration(document):
            continue
        out.append((number, line))
    return out


# The timeline paste box reads with the same rules.


@dataclass
class PastedLine:
    line: int
    text: str
    event: EventRow | None
    reason: str = ""


def parse_paste(text: str, day: date, zone: str = "UTC", limit: int = 500) -> list[PastedLine]:
    """Each non-blank line of pasted notes, accepted as an event or refused with the reason.
    Tables are read by their header names; bullets, chat lines and labels like the import."""
    text, _repairs = repair(text)
    lines = [(n, line) for n, line in enumerate(text.split("\n"), start=1)]
    document = ParsedDocument(day=day)
    reader = Reader(document, zone_named(zone))
    clock = Clock(day, reader.zone)
    results: list[PastedLine] = []
    seen: set[tuple[datetime, str]] = set()
    for kind, start, chunk in _chunks(lines):
        if kind == "table":
            table = tables.read_table([line for _n, line in chunk], start)
            header_lines = (start, start + 1) if table is not None else ()
            if table is None:
                table = _headerless_table(chunk)
            if table is None:
                results += [
                    PastedLine(
                        n, line, None, "a table needs a header row and a separator row (| --- |)"
                    )
                    for n, line in chunk
                    if line.strip()
                ]
                continue
            before = len(document.events)
            leftover: list[tuple[int, str]] = []
            problems_before = len(document.problems)
            reader.timeline_table(table, clock, seen, chunk, leftover)
            reasons = {
                p.line: p.message.split(": the row is kept")[0]
                for p in document.problems[problems_before:]
            }
            for row in document.events[before:]:
                results.append(PastedLine(row.line, _row_text(chunk, row.line), row))
            accepted = {row.line for row in document.events[before:]}
            for number, line in chunk:
                if number in accepted or not line.strip() or number in header_lines:
                    continue
                if tables.is_separator(tables.split_cells(line)):
                    continue
                results.append(PastedLine(number, line, None, reasons.get(number, "not read")))
            if not accepted and not table.rows:
                results.append(PastedLine(start, chunk[0][1], None, "the table has no rows"))
            if (
                leftover
                and "time" not in tables.columns(table.header, tables.TIMELINE_COLUMNS).values()
            ):
                results.append(
                    PastedLine(
                        start,
                        chunk[0][1],
                        None,
                        "the table has no time column (Time, When, Timestamp)",
                    )
                )
            continue
        for number, line in chunk:
            if not line.strip():
                continue
            problems_before = len(document.problems)
            event = reader.event_line(number, line, clock)
            if event is None:
                reason = next((p.message for p in document.problems[problems_before:]), "")
                results.append(
                    PastedLine(
                        number,
                        line,
                        None,
                        reason.replace(": kept in the timeline notes", "")
                        or "does not start with a time "
                        "(e.g. 14:02, 2:02 PM, [14:02], 2026-03-02 14:02 UTC)",
                    )
                )
            elif (event.occurred_at, event.description) in seen:
                results.append(
                    PastedLine(number, line, None, "the same event is already in this paste")
                )
            else:
                seen.add((event.occurred_at, event.description))
                results.append(PastedLine(number, line, event))
    results.sort(key=lambda r: r.line)
    events = sum(1 for r in results if r.event)
    if events > limit:
        raise NotMarkdown(f"Paste at most {limit} events at a time ({events} found).")
    return results


def _row_text(chunk: list[tuple[int, str]], number: int) -> str:
    return next((line for n, line in chunk if n == number), "")


def _headerless_table(chunk: list[tuple[int, str]]) -> tables.Table | None:
    """Pasted table rows without their header (`| 14:02 | Paged | PagerDuty |`): read by
    position as Time | Event | Actor, or Time | Event | Action Taken | By Whom."""
    rows = [tables.split_cells(line) for _n, line in chunk if line.strip()]
    width = max(len(row) for row in rows)
    header = {
        2: ["Time", "Event"],
        3: ["Time", "Event", "Actor"],
        4: ["Time", "Event", "Action Taken", "By Whom"],
    }.get(width)
    if header is None:
        return None
    numbers = [n for n, line in chunk if line.strip()]
    cells = [[*row, *[""] * (width - len(row))] for row in rows]
    return tables.Table(header, cells, numbers[0], numbers)
