"""Markdown tables read by their header names, in any column order.

`| Time (UTC) | Action | Person | Notes |` and `| When | What | Who |` are the same timeline;
`| # | Action | Owner | Due Date | Status |` and `| Task | Assignee | Deadline |` the same
action items. A column nobody knows goes into the row's notes, never away.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .vocabulary import normalize

CELL_SPLIT = re.compile(r"(?<!\\)\|")
SEPARATOR_CELL = re.compile(r"^\s*:?-{1,}:?\s*$")

TIMELINE_COLUMNS: dict[str, tuple[str, ...]] = {
    "time": ("time", "timestamp", "when", "time utc", "date time", "datetime", "at", "clock"),
    "event": (
        "event",
        "what",
        "description",
        "what happened",
        "activity",
        "happening",
        "update",
        "message",
        "action",
    ),
    "action_taken": ("action taken", "actions taken", "response", "action performed", "action"),
    "actor": (
        "person",
        "actor",
        "who",
        "owner",
        "by whom",
        "by",
        "actor system",
        "responder",
        "performed by",
        "author",
        "user",
        "team",
        "system",
        "source",
    ),
    "notes": ("notes", "details", "comments", "comment", "remarks", "note", "context"),
    "kind": ("type", "kind", "category", "event type"),
}
ACTION_ITEM_COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("#", "id", "no", "number", "item", "ref"),
    "title": ("action", "title", "task", "action item", "description", "what", "item"),
    "owner": ("owner", "assignee", "who", "responsible", "assigned to", "dri", "person"),
    "due": ("due", "due date", "deadline", "target date", "by when", "eta", "date"),
    "status": ("status", "state", "progress"),
    "priority": ("priority", "prio", "p", "importance"),
    "category": ("category", "type", "kind"),
    "term": ("term", "horizon", "timeframe", "time frame"),
    "tracker": ("tracker", "ticket", "jira", "issue", "link", "tracking", "ticket link"),
    "notes": ("notes", "details", "comments", "description notes", "remarks", "note"),
}
FIVE_WHYS_COLUMNS = {
    "question": ("why", "question", "why question"),
    "answer": ("because", "answer", "reason"),
}  # fmt: skip


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    line: int  # where the header row is
    row_lines: list[int]


def split_cells(line: str) -> list[str]:
    stripped = line.strip()
    if stripped.startswith("|"):
        stripped = stripped[1:]
    if stripped.endswith("|") and not stripped.endswith("\\|"):
        stripped = stripped[:-1]
    return [cell.strip().replace("\\|", "|") for cell in CELL_SPLIT.split(stripped)]


def is_table_line(line: str) -> bool:
    return line.lstrip().startswith("|") and line.count("|") >= 2


def is_separator(cells: list[str]) -> bool:
    return bool(cells) and all(SEPARATOR_CELL.match(cell) for cell in cells if cell) and any(cells)


def read_table(lines: list[str], start_line: int = 1) -> Table | None:
    """A table from consecutive `|` lines: the first is the header when a separator row
    follows it. Cells keep their Markdown; `<br>` is turned back into a line break."""
    rows = [split_cells(line) for line in lines]
    if len(rows) < 2 or not is_separator(rows[1]):
        return None
    header = rows[0]
    body, numbers = [], []
    for offset, cells in enumerate(rows[2:], start=2):
        if is_separator(cells):
            continue
        cells = [re.sub(r"<br\s*/?>", "\n", cell) for cell in cells]
        cells += [""] * (len(header) - len(cells))
        body.append(cells)
        numbers.append(start_line + offset)
    return Table(header, body, start_line, numbers)


def columns(header: list[str], vocabulary: Mapping[str, tuple[str, ...]]) -> dict[int, str]:
    """{column index: meaning}; each meaning is given to one column, the first exact match
    winning, so "Action" is the event when there is no "Event" column and the action taken
    when there is one."""
    names = [normalize(cell) or cell.strip() for cell in header]
    found: dict[int, str] = {}
    for meaning, synonyms in vocabulary.items():
        for synonym in synonyms:
            index = next(
                (i for i, name in enumerate(names) if name == synonym and i not in found), None
            )
            if index is not None:
                found[index] = meaning
                break
    return found


def cell(row: list[str], meanings: dict[int, str], meaning: str) -> str:
    for index, name in meanings.items():
        if name == meaning and index < len(row):
            return row[index].strip()
    return ""


def unknown_cells(header: list[str], row: list[str], meanings: dict[int, str]) -> list[str]:
    """ "Column: value" for each cell of a column nobody knows."""
    return [
        f"{header[index].strip() or 'Column ' + str(index + 1)}: {value.strip()}"
        for index, value in enumerate(row)
        if index not in meanings and index < len(header) and value.strip()
    ]


def zone_of_time_column(header: list[str], meanings: dict[int, str]) -> str:
    """ "Time (PST)" says the zone of every time in the column."""
    for index, meaning in meanings.items():
        if meaning == "time":
            match = re.search(r"\(([^()]+)\)", header[index])
            if match and match[1].strip().upper() not in ("UTC", "Z", "GMT", "UTC+0"):
                return match[1].strip()
    return ""
