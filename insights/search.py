"""Search across the documents a person may read: one query, results grouped by document.

PostgreSQL: the stored, GIN-indexed vectors of SearchEntry matched with a websearch query
("pool exhausted", "\"connection leak\" -redis", "deploy or rollback"), ranked with
ts_rank over the weighted sections, snippets from ts_headline. SQLite: every word must appear
in a section's text (icontains), snippets cut around the first word; the same page.
"""

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    Func,
    Max,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
    Window,
)
from django.db.models.functions import Concat, RowNumber
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from incidents.models import Incident
from postmortems.editing import EDITABLE_SECTIONS

from .indexing import CONFIG, DEFAULT_WEIGHT, INCIDENT_SECTION
from .models import SearchEntry

MAX_QUERY_LENGTH = 200
HITS_PER_DOCUMENT = 3
# ts_headline wraps matches in these (private-use characters, stripped from indexed text);
# the text is escaped first, then they become <mark>, so no user text is ever unescaped.
START, STOP = "\ue000", "\ue001"
SECTION_TITLES = {INCIDENT_SECTION: "Title, tags and services"}


@dataclass(frozen=True)
class Hit:
    """A section of a document that matched, with the words around the match."""

    section: str
    kind: str
    snippet: SafeString

    @property
    def title(self) -> str:
        editable = EDITABLE_SECTIONS.get(self.section)
        title = SECTION_TITLES.get(self.section) or (editable.title if editable else self.section)
        return f"Comments on {title.lower()}" if self.kind == SearchEntry.Kind.COMMENTS else title

    @property
    def anchor(self) -> str:
        return f"section-{self.section}"


@dataclass
class Result:
    incident: Incident
    hits: list[Hit] = field(default_factory=list)


@dataclass
class Results:
    query: str
    page: Page[Any]
    results: list[Result]


class Matches(Func):
    """vector @@ query, written so that the planner reads the few rows of the documents on the
    page instead of every match through the GIN index."""

    template = "(%(expressions)s) IS TRUE"
    arg_joiner = " @@ "
    output_field = BooleanField()


def marked(snippet: str) -> SafeString:
    return mark_safe(escape(snippet).replace(START, "<mark>").replace(STOP, "</mark>"))


def search(
    query: str, incidents: QuerySet[Incident], page_number: str | int | None, per_page: int
) -> Results:
    """The documents of `incidents` matching `query`, best first, a page of them, each with
    the sections that matched (at most three) and a snippet of each."""
    query = " ".join(query.split())[:MAX_QUERY_LENGTH]
    if connection.vendor == "postgresql":
        return _search_postgresql(query, incidents, page_number, per_page)
    return _search_fallback(query, incidents, page_number, per_page)


Rows = list[dict[str, Any]]  # {"incident", "rank", "total"}, best first


def page_of(
    fetch: Callable[[int, int], Rows], number: str | int | None, per_page: int
) -> Page[Any]:
    """A page of the matching documents and how many match, in one query: `fetch(offset,
    limit)` counts with a window over the grouped rows (COUNT(*) OVER ()), not with a second
    pass over every match. As Paginator.get_page: past the end, the last page; a bad
    number, the first."""
    text = str(number or "")
    wanted = int(text) if text.isdigit() and int(text) > 0 else 1
    rows = fetch((wanted - 1) * per_page, per_page)
    if not rows and wanted > 1:
        first = fetch(0, 1)
        total = first[0]["total"] if first else 0
        wanted = max(1, -(-total // per_page))
        rows = fetch((wanted - 1) * per_page, per_page)
    paginator: Paginator[Any] = Paginator([], per_page)
    paginator.__dict__["count"] = rows[0]["total"] if rows else 0  # cached_property, preset
    return Page(rows, wanted if rows else 1, paginator)


# Documents ranked by their best section. The matches are grouped by document first and only
# then kept if the person may see the document: for a word in most documents, that is half
# the work of joining every matching section to the visibility rule.
RANKED = """
SELECT ranked.incident_id, ranked.rank, COUNT(*) OVER () AS total FROM (
    SELECT incident_id, MAX(ts_rank(vector, query)) AS rank
    FROM {entries}, websearch_to_tsquery(%s::regconfig, %s) AS query
    WHERE vector @@ query
    GROUP BY incident_id
) AS ranked
WHERE ranked.incident_id IN ({chosen})
ORDER BY ranked.rank DESC, ranked.incident_id DESC
LIMIT %s OFFSET %s
"""


def _ranked(query: str, incidents: QuerySet[Incident]) -> Callable[[int, int], Rows]:
    chosen, chosen_params = incidents.order_by().values_list("pk").query.sql_with_params()
    sql = RANKED.format(entries=SearchEntry._meta.db_table, chosen=chosen)

    def fetch(offset: int, limit: int) -> Rows:
        with connection.cursor() as cursor:
            cursor.execute(sql, [CONFIG, query, *chosen_params, limit, offset])
            return [
                {"incident": incident, "rank": rank, "total": total}
                for incident, rank, total in cursor.fetchall()
            ]

    return fetch


def _grouped(groups: QuerySet[Any, Any]) -> Callable[[int, int], Rows]:
    counted = groups.annotate(total=Window(Count("*")))

    def fetch(offset: int, limit: int) -> Rows:
        return list(counted[offset : offset + limit])

    return fetch


def _results(query: str, page: Page[Any], hits: dict[int, list[Hit]]) -> Results:
    ids = [group["incident"] for group in page.object_list]
    incidents = (
        Incident.objects.filter(pk__in=ids)
        .select_related("team", "postmortem")
        .prefetch_related("tags")
        .in_bulk()
    )
    results = [Result(incidents[pk], hits.get(pk, [])) for pk in ids if pk in incidents]
    return Results(query, page, results)


def _search_postgresql(
    query: str, incidents: QuerySet[Incident], page_number: str | int | None, per_page: int
) -> Results:
    tsquery = SearchQuery(query, search_type="websearch", config=CONFIG)
    rank = SearchRank(F("vector"), tsquery)
    page = page_of(_ranked(query, incidents), page_number, per_page)
    ids = [group["incident"] for group in page.object_list]
    # The best sections of each document on the page, then snippets of those alone:
    # ts_headline reads the whole text, so it runs on a few rows only.
    best = (
        SearchEntry.objects.filter(incident__in=ids)
        .filter(Matches(F("vector"), tsquery))  # through the incident's rows, not the GIN index
        .annotate(
            rank=rank,
            place=Window(RowNumber(), partition_by=[F("incident")], order_by=rank.desc()),
        )
        .filter(place__lte=HITS_PER_DOCUMENT)
        .values_list("pk", flat=True)
    )
    rows = (
        SearchEntry.objects.filter(pk__in=list(best))
        .annotate(
            rank=rank,
            snippet=SearchHeadline(
                Concat("heading", Value("\n"), "text", output_field=TextField()),
                tsquery,
                config=CONFIG,
                start_sel=START,
                stop_sel=STOP,
                max_words=30,
                min_words=12,
                max_fragments=2,
                fragment_delimiter=" … ",
            ),
        )
        .order_by("incident", "-rank", "section")
        .values_list("incident", "section", "kind", "snippet")
    )
    hits: dict[int, list[Hit]] = defaultdict(list)
    for incident_id, section, kind, snippet in rows:
        hits[incident_id].append(Hit(section, kind, marked(snippet)))
    return _results(query, page, hits)


# SQLite: the same page, with plain substring matching.

WORD = re.compile(r"\w[\w'-]*", re.UNICODE)
WEIGHT_VALUES = {"A": 1.0, "B": 0.4, "C": 0.2, "D": 0.1}  # ts_rank's default weights
OPERATORS = {"or", "and", "not"}


def words_of(query: str) -> list[str]:
    """The words a fallback search looks for: websearch's quotes, "or" and "-" dropped."""
    return [w for w in WORD.findall(query) if w.lower() not in OPERATORS][:10]


def snippet_around(text: str, words: Sequence[str], width: int = 160) -> SafeString:
    """About `width` characters of `text` around the first word found, words marked."""
    lowered = text.lower()
    found = [lowered.find(w.lower()) for w in words if w.lower() in lowered]
    first = min(found) if found else 0
    start = max(0, first - width // 3)
    end = min(len(text), start + width)
    excerpt = (
        ("…" if start else "")
        + text[start:end].replace("\n", " ")
        + ("…" if end < len(text) else "")
    )
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    marked_text = pattern.sub(lambda m: f"{START}{m[0]}{STOP}", excerpt) if words else excerpt
    return marked(marked_text)


def _search_fallback(
    query: str, incidents: QuerySet[Incident], page_number: str | int | None, per_page: int
) -> Results:
    words = words_of(query)
    matches = SearchEntry.objects.filter(incident__in=incidents)
    if not words:
        matches = matches.none()
    for word in words:
        matches = matches.filter(Q(heading__icontains=word) | Q(text__icontains=word))
    # The best section decides, with the weights ts_rank gives them on PostgreSQL (the
    # incident's title counts as A).
    rank = Case(
        When(section=INCIDENT_SECTION, then=Value(WEIGHT_VALUES["A"])),
        *(When(weight=w, then=Value(value)) for w, value in WEIGHT_VALUES.items()),
        default=Value(WEIGHT_VALUES[DEFAULT_WEIGHT]),
    )
    groups = matches.values("incident").annotate(rank=Max(rank)).order_by("-rank", "-incident")
    page = page_of(_grouped(groups), page_number, per_page)
    ids = [group["incident"] for group in page.object_list]
    hits: dict[int, list[Hit]] = defaultdict(list)
    rows = (
        matches.filter(incident__in=ids)
        .annotate(rank=rank)
        .order_by("incident", "-rank", "section", "kind")
    )
    for entry in rows.values_list("incident", "section", "kind", "heading", "text"):
        incident_id, section, kind, heading, text = entry
        text = f"{heading}\n{text}" if heading else text
        if len(hits[incident_id]) < HITS_PER_DOCUMENT:
            hits[incident_id].append(Hit(section, kind, snippet_around(text, words)))
    return _results(query, page, hits)
