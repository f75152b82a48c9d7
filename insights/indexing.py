"""What search finds: the words of every section of an incident's document, kept in SearchEntry.

Each section of the document (the incident's title, tags and services; every postmortem
section; every list: timeline, five whys, factors, action items, follow-ups, additional
sections) gives one entry, and the comments on a section another. The receivers in
receivers.py note which sections a save touched and rewrite those entries once the
transaction commits (`schedule`); `reindex_incidents` rewrites whole documents in batches
for the management command and the periodic sweep.
"""

import logging
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.postgres.search import SearchVectorField
from django.db import connection, models, transaction
from django.db.models import Exists, Func, OuterRef, Q

from actionitems.models import ActionItem
from incidents.models import Incident, TimelineEvent
from postmortems.layouts import SECTIONS
from postmortems.models import Comment, Postmortem, Revision

from .models import SearchEntry

logger = logging.getLogger(__name__)

CONFIG = "english"
CONTENT, COMMENTS = SearchEntry.Kind.CONTENT, SearchEntry.Kind.COMMENTS
INCIDENT_SECTION = "incident_details"

# How much a match counts, by section: A titles, summaries and root causes; B what was
# learned and decided; C the narrative; D comments.
WEIGHTS = {
    INCIDENT_SECTION: "A",
    "summary": "A",
    "root_cause": "A",
    "impact": "B",
    "five_whys": "B",
    "contributing_factors": "B",
    "why_not_caught": "B",
    "resolution": "B",
    "action_items": "B",
    "went_wrong": "B",
    "prevention": "B",
    "lessons_learned": "B",
    "additional_sections": "B",
}
DEFAULT_WEIGHT = "C"
COMMENT_WEIGHT = "D"

Target = tuple[str, str]  # (section key, entry kind)


@dataclass(frozen=True)
class Words:
    """A section's words: a heading that counts most (weight A: the incident's title), the
    text, and the weight of the text."""

    text: str
    weight: str
    heading: str = ""

    @property
    def empty(self) -> bool:
        return not (self.text.strip() or self.heading.strip())


# Plain text from Markdown: snippets read as prose and the marks are not indexed as words.

_MARKS = [
    (re.compile(r"^\s*```.*$", re.MULTILINE), ""),  # code fences
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images: their alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links: their text
    (re.compile(r"^\s*\|?[\s:|-]*-{3,}[\s:|-]*\|?\s*$", re.MULTILINE), ""),  # table rules
    (re.compile(r"^\s{0,3}(#{1,6}|>+|[-*+]\s+\[[ xX]\]|[-*+]|\d+[.)])\s+", re.MULTILINE), ""),
    (re.compile(r"(\*\*|__|~~|`+)"), ""),  # emphasis and code marks
    (re.compile(r"(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)"), ""),  # *single* emphasis
    (re.compile(r"[ \t]*\|[ \t]*"), " "),  # table cells
    (re.compile(r"<[^>\n]+>"), " "),  # inline HTML
    (re.compile("[\ue000\ue001]"), ""),  # the snippet markers (search.py), never in text
]


def plain_text(markdown: str | None) -> str:
    """The words of a Markdown text, one line per line, without its marks."""
    text = markdown or ""
    for pattern, replacement in _MARKS:
        text = pattern.sub(replacement, text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


# Where each section's words come from.


@dataclass(frozen=True)
class Source:
    """The prefetches a section needs, and how to read its words from a document."""

    prefetch: tuple[str, ...]
    words: Callable[[Incident], Words | None]


def _postmortem(incident: Incident) -> Postmortem | None:
    try:
        return incident.postmortem
    except Postmortem.DoesNotExist:
        return None


def _incident_words(incident: Incident) -> Words:
    tags = " ".join(tag.name for tag in incident.tags.all())
    services = " ".join(impact.service.name for impact in incident.service_impacts.all())
    text = " ".join(p for p in (tags, services, incident.external_id) if p)
    return Words(text, "B", heading=incident.title)


def _field_text(postmortem: Postmortem, name: str) -> str:
    field = Postmortem._meta.get_field(name)
    value = getattr(postmortem, name)
    if value in (None, ""):
        return ""
    choices = getattr(field, "flatchoices", None)
    if choices:
        return str(dict(choices).get(value, value))
    if isinstance(field, models.TextField | models.CharField):
        return plain_text(value)
    return ""  # numbers (users affected, revenue) are not words to search


def _field_section(key: str) -> Source:
    fields = SECTIONS[key].fields

    def words(incident: Incident) -> Words | None:
        postmortem = _postmortem(incident)
        if postmortem is None:
            return None
        texts = (_field_text(postmortem, name) for name in fields)
        return Words("\n".join(t for t in texts if t), WEIGHTS.get(key, DEFAULT_WEIGHT))

    return Source((), words)


def _rows(lookup: str, describe: Callable[[Any], str], key: str, of_postmortem: bool) -> Source:
    def words(incident: Incident) -> Words | None:
        owner = _postmortem(incident) if of_postmortem else incident
        if owner is None:
            return None
        text = "\n".join(describe(row) for row in getattr(owner, lookup).all())
        return Words(text, WEIGHTS.get(key, DEFAULT_WEIGHT))

    return Source((f"postmortem__{lookup}" if of_postmortem else lookup,), words)


def _event_text(event: TimelineEvent) -> str:
    return " ".join(
        p for p in (plain_text(event.description), event.action_taken, event.actor) if p
    )


def _action_item_text(item: ActionItem) -> str:
    return " ".join(p for p in (item.title, plain_text(item.description), item.owner_name) if p)


SOURCES: dict[str, Source] = {
    INCIDENT_SECTION: Source(("tags", "service_impacts__service"), _incident_words),
    **{key: _field_section(key) for key, section in SECTIONS.items() if section.fields},
    "timeline": _rows("timeline_events", _event_text, "timeline", of_postmortem=False),
    "five_whys": _rows(
        "five_whys",
        lambda row: f"{plain_text(row.question)} {plain_text(row.answer)}",
        "five_whys",
        of_postmortem=True,
    ),
    "contributing_factors": _rows(
        "contributing_factors",
        lambda row: f"{row.get_category_display()}: {plain_text(row.description)}",
        "contributing_factors",
        of_postmortem=True,
    ),
    "action_items": _rows("action_items", _action_item_text, "action_items", of_postmortem=True),
    "follow_ups": _rows(
        "follow_ups",
        lambda row: f"{row.title} {plain_text(row.notes)}",
        "follow_ups",
        of_postmortem=True,
    ),
    "additional_sections": _rows(
        "additional_sections",
        lambda row: f"{row.title}\n{plain_text(row.body)}",
        "additional_sections",
        of_postmortem=True,
    ),
}
# Comments are on the postmortem's sections (Comment.section is a key of SECTIONS).
COMMENT_SECTIONS = tuple(SECTIONS)
ALL_TARGETS: tuple[Target, ...] = (
    *((key, CONTENT) for key in SOURCES),
    *((key, COMMENTS) for key in COMMENT_SECTIONS),
)
POSTMORTEM_TARGETS: tuple[Target, ...] = tuple(
    t for t in ALL_TARGETS if t[0] not in (INCIDENT_SECTION, "timeline")
)


def _comment_words(incident: Incident, key: str) -> Words | None:
    postmortem = _postmortem(incident)
    if postmortem is None:
        return None
    bodies = [plain_text(c.body) for c in postmortem.comments.all() if c.section == key]
    return Words("\n".join(bodies), COMMENT_WEIGHT)


def _words(incident: Incident, target: Target) -> Words | None:
    key, kind = target
    if kind == COMMENTS:
        return _comment_words(incident, key)
    return SOURCES[key].words(incident)


class EntryVector(Func):
    """The stored vector of an entry, from its own columns: the heading weighted A, the text
    with the entry's weight. Computed by PostgreSQL in one UPDATE per batch of entries."""

    template = (
        f"setweight(to_tsvector('{CONFIG}'::regconfig, heading), 'A') || "
        f"setweight(to_tsvector('{CONFIG}'::regconfig, text), weight::\"char\")"
    )
    output_field = SearchVectorField()

    def __init__(self) -> None:
        super().__init__()


# Writing entries.


def _documents(incident_ids: Iterable[int], targets: Iterable[Target]) -> models.QuerySet[Incident]:
    lookups: set[str] = set()
    for key, kind in targets:
        lookups.update(("postmortem__comments",) if kind == COMMENTS else SOURCES[key].prefetch)
    return (
        Incident.objects.filter(pk__in=list(incident_ids))
        .select_related("postmortem")
        .prefetch_related(*sorted(lookups))
    )


def reindex(changes: dict[int, set[Target]]) -> int:
    """Rewrite the entries of these sections of these incidents' documents from the database:
    sections with text are written (inserted or updated in one statement), sections without
    any are removed. Returns the number of entries written."""
    if not changes:
        return 0
    all_targets = set().union(*changes.values())
    documents = {i.pk: i for i in _documents(changes, all_targets)}
    entries: list[SearchEntry] = []
    empty: dict[Target, list[int]] = defaultdict(list)  # grouped: a short WHERE for any batch
    for incident_id, targets in changes.items():
        incident = documents.get(incident_id)
        for target in sorted(targets):
            words = _words(incident, target) if incident is not None else None
            if words is None or words.empty:
                empty[target].append(incident_id)
                continue
            entries.append(
                SearchEntry(
                    incident_id=incident_id,
                    section=target[0],
                    kind=target[1],
                    heading=words.heading[:300],
                    text=words.text,
                    weight=words.weight,
                    vector=None,  # computed below, by the database, from these columns
                )
            )
    gone = Q(pk__in=[])
    for (section, kind), incident_ids in empty.items():
        gone |= Q(section=section, kind=kind, incident_id__in=incident_ids)
    with transaction.atomic():
        SearchEntry.objects.filter(gone).delete()
        SearchEntry.objects.bulk_create(
            entries,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["incident", "section", "kind"],
            update_fields=["heading", "text", "weight", "vector", "updated_at"],
        )
        if connection.vendor == "postgresql":
            written = SearchEntry.objects.filter(incident__in=list(changes), vector__isnull=True)
            written.update(vector=EntryVector())
    return len(entries)


def reindex_incidents(incident_ids: Iterable[int], batch_size: int = 200) -> int:
    """Rewrite every entry of these documents, a batch of documents at a time."""
    ids = list(incident_ids)
    written = 0
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        written += reindex({incident_id: set(ALL_TARGETS) for incident_id in batch})
    return written


def changed_since(since: datetime) -> list[int]:
    """Incidents whose document was written to since `since` (by a save, a revision, a
    comment, a timeline event or an action item), and those never indexed at all."""
    recent = (
        Q(updated_at__gte=since)
        | Q(postmortem__updated_at__gte=since)
        | Exists(Revision.objects.filter(incident=OuterRef("pk"), created_at__gte=since))
        | Exists(Comment.objects.filter(postmortem__incident=OuterRef("pk"), updated_at__gte=since))
        | Exists(TimelineEvent.objects.filter(incident=OuterRef("pk"), updated_at__gte=since))
        | Exists(
            ActionItem.objects.filter(postmortem__incident=OuterRef("pk"), updated_at__gte=since)
        )
        | ~Exists(SearchEntry.objects.filter(incident=OuterRef("pk")))
    )
    return list(Incident.objects.filter(recent).values_list("pk", flat=True).order_by("pk"))


# After a save: note what changed, rewrite it once when the transaction commits.

_pending = threading.local()


def schedule(incident_id: int | None, targets: Iterable[Target]) -> None:
    """Rewrite these entries when the current transaction commits (at once outside one).

    Everything a transaction touches is rewritten once, after it committed: a section saved
    row by row is indexed once, nothing is indexed for a rolled-back change, and a document
    deleted meanwhile is simply gone."""
    if incident_id is None:
        return
    if not connection.in_atomic_block:
        reindex({incident_id: set(targets)})
        return
    flush = getattr(_pending, "flush", None)
    registered = flush is not None and any(entry[1] is flush for entry in connection.run_on_commit)
    if not registered:
        # A first change in this transaction (or the last one rolled back with its callback).
        changes: dict[int, set[Target]] = {}

        def flush() -> None:
            if getattr(_pending, "flush", None) is flush:
                _pending.flush = None
            batch = dict(changes)
            changes.clear()
            try:
                reindex(batch)
            except Exception:
                # The change itself is committed; the sweep will index it. Never fail a save.
                logger.exception("Search index update failed; the periodic sweep will redo it")

        flush.changes = changes  # type: ignore[attr-defined]
        _pending.flush = flush
        transaction.on_commit(flush)
    _pending.flush.changes.setdefault(incident_id, set()).update(targets)


def run_pending() -> None:
    """Index at once what waits for the transaction to commit: for tests, whose transaction
    never commits, and for scripts that want the index current before they go on."""
    flush = getattr(_pending, "flush", None)
    if flush is not None:
        flush()
