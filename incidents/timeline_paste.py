"""Turn notes pasted from a chat log or an old postmortem into timeline events.

One event per line, in any of these shapes:

    14:02 Jane acknowledged alert
    14:02 - Jane acknowledged alert
    2026-03-02 14:02 UTC Jane acknowledged alert
    | 14:02 | On-call paged | PagerDuty |                      Time | Event | Actor
    | 14:02 | Restarted service | systemctl restart | Jane |   Time | Event | Action | By whom

Table headers and separator rows are skipped. An event written in **bold** is a key decision,
as the incident-postmortem template marks them. Times are UTC on the incident's start date; a
time earlier than the line before rolls over to the next day (an incident across midnight).
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

MAX_LINES = 500
# What people put between the time and the event: "14:02 - event", "14:02 — event", "14:02: event"
SEPARATORS = "-:\u2013\u2014"

TIME = re.compile(
    r"^(?:(?P<date>\d{4}-\d{2}-\d{2})[ T])?(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::\d{2})?"
    r"(?:\s*(?:UTC|Z))?"
)
CELL_SPLIT = re.compile(r"(?<!\\)\|")
SEPARATOR_CELL = re.compile(r"^:?-+:?$")
BOLD = re.compile(r"^\*\*(?P<text>.+)\*\*$")

# First match wins, so the more specific words come first.
KIND_KEYWORDS = [
    ("decision", ("decision", "decided")),
    ("acknowledge", ("acknowledg", " ack ")),
    ("page", ("paged", "page ", "escalat")),
    ("resolution", ("resolved", "resolution", "closed")),
    ("mitigation", ("mitigat", "restored", "recover")),
    ("alert", ("alert", "alarm", "fired")),
    ("communication", ("status page", "notified", "email", "announce", "tweet", "slack")),
    (
        "investigate",
        ("identified", "investigat", "checked", "checking", "confirmed", "analysis", "found"),
    ),
    ("action", ("restart", "rollback", "roll back", "deploy", "scaled", "initiated", "fix")),
]


@dataclass
class PastedEvent:
    line_number: int
    occurred_at: datetime
    description: str
    actor: str = ""
    action_taken: str = ""
    kind: str = "other"
    is_key_decision: bool = False


class PasteError(ValueError):
    def __init__(self, problems):
        self.problems = problems  # [(line number, message)]
        super().__init__("; ".join(f"line {n}: {message}" for n, message in problems))


def guess_kind(description):
    text = f" {description.lower()} "
    for kind, words in KIND_KEYWORDS:
        if any(word in text for word in words):
            return kind
    return "other"


def split_cells(line):
    cells = CELL_SPLIT.split(line.strip().strip("|"))
    return [cell.strip().replace("\\|", "|") for cell in cells]


def parse_timeline(text, day):
    """Events from pasted text, dated from `day`; raises PasteError listing every bad line."""
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise PasteError([(MAX_LINES + 1, f"paste at most {MAX_LINES} lines at a time")])
    events, problems = [], []
    current_day, previous = day, None
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("|"):
            cells = split_cells(line)
            if all(SEPARATOR_CELL.match(cell) for cell in cells if cell):
                continue
            time_text, rest = cells[0], cells[1:]
            if not TIME.fullmatch(time_text):
                if time_text.lower().startswith("time"):
                    continue  # the table's header row
                problems.append((number, f'"{time_text}" is not a time (expected HH:MM)'))
                continue
            description = rest[0] if rest else ""
            actor = rest[-1] if len(rest) >= 2 else ""
            action_taken = " | ".join(rest[1:-1]) if len(rest) >= 3 else ""
        else:
            match = TIME.match(line)
            if not match:
                problems.append((number, "does not start with a time (expected HH:MM)"))
                continue
            time_text = match.group(0)
            description = line[match.end() :].strip().lstrip(SEPARATORS).strip()
            actor = action_taken = ""

        match = TIME.match(time_text)
        hour, minute = int(match["hour"]), int(match["minute"])
        if hour > 23 or minute > 59:
            problems.append((number, f"{hour:02d}:{minute:02d} is not a time of day"))
            continue
        if match["date"]:
            try:
                current_day = date.fromisoformat(match["date"])
            except ValueError:
                problems.append((number, f"{match['date']} is not a date"))
                continue
        occurred_at = datetime(
            current_day.year, current_day.month, current_day.day, hour, minute, tzinfo=UTC
        )
        if previous and occurred_at < previous and not match["date"]:
            occurred_at += timedelta(days=1)
            current_day = occurred_at.date()
        if not description:
            problems.append((number, "has a time but no event"))
            continue
        bold = BOLD.match(description)
        if bold:
            description = bold["text"].strip()
        events.append(
            PastedEvent(
                line_number=number,
                occurred_at=occurred_at,
                description=description,
                actor=BOLD.sub(r"\g<text>", actor),
                action_taken=action_taken,
                kind=guess_kind(description),
                is_key_decision=bool(bold),
            )
        )
        previous = occurred_at
    if problems:
        raise PasteError(problems)
    if not events:
        raise PasteError([(1, "no events found: start each line with a time, e.g. 14:02")])
    return events
