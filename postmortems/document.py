"""What the page shows of an incident's document: sections with their content and version.

A Document loads nothing up front beyond the incident row it is given (see
services.document_queryset: the postmortem, every section's version, row counts, who is
asking). Each section loads what it shows when it is rendered, so a fragment of one section
costs that section's queries, whatever the size of the rest. Lists show their first rows and
load the rest in chunks as they scroll into view (all of them on request).
"""

import hashlib
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.query import prefetch_related_objects
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from incidents.models import Incident, Membership

from .checklist import blameless_findings, pre_review_checklist
from .editing import EDITABLE_SECTIONS, ROW_SECTIONS
from .etags import code_digest
from .forms import DecisionForm, ReviewerForm
from .layouts import SECTIONS, Group
from .models import Postmortem
from .review import can_drive_review
from .row_html import render_rows

SECTION_VIEW = "postmortems/partials/section_view.html"

# The blameless check reads these sections: its cached findings depend on their versions.
BLAMELESS_SECTIONS = (
    "summary",
    "impact",
    "root_cause",
    "why_not_caught",
    "detection",
    "response",
    "resolution",
    "went_well",
    "went_wrong",
    "prevention",
    "lessons_learned",
    "communication_log",
    "timeline",
    "five_whys",
    "contributing_factors",
)


class Document:
    """An incident and its postmortem as one page: the layout's sections, each with the
    version an editor starts from and its open comments.

    `rows` is how many rows of each list are shown at first (settings.ROWS_CHUNK unless
    given; ALL_ROWS shows them all); `rows_through` shows more of a list, down to a given row
    ({key: row}); `rows_after` shows the chunk after a place in a list ({key: ordering values}).
    """

    ALL_ROWS = None

    def __init__(self, incident, user, rows=..., rows_through=None, rows_after=None):
        self.incident = incident
        self.user = user
        self.rows_limit = settings.ROWS_CHUNK if rows is ... else rows
        self.rows_through = rows_through or {}
        self.rows_after = rows_after or {}
        self._rows = {}
        self._bodies = {}

    @cached_property
    def can_edit(self):
        return self.incident.can_edit(self.user)

    @cached_property
    def postmortem(self):
        try:
            return self.incident.postmortem
        except Postmortem.DoesNotExist:
            return None

    @cached_property
    def versions(self):
        """{section key: version}, from the maps on the incident and the postmortem rows."""
        versions = dict(self.incident.section_versions or {})
        if self.postmortem is not None:
            versions.update(self.postmortem.section_versions or {})
        return versions

    def tag(self, key):
        """The version of a section and of the sections it shows ("3" or "3.12.0"): what an
        open page holds, compared by the presence poll and in the fragment's ETag."""
        editable = EDITABLE_SECTIONS[key]
        keys = (key, *editable.depends_on)
        return ".".join(str(self.versions.get(k, 0)) for k in keys)

    @cached_property
    def open_comments(self):
        """{section key: open comments (threads and their replies)}."""
        if self.postmortem is None:
            return {}
        if hasattr(self.incident, "open_comment_sections"):  # counted by the incident query
            joined = self.incident.open_comment_sections
            return dict(Counter(joined.split(","))) if joined else {}
        rows = (
            self.postmortem.comments.filter(
                Q(resolved_at__isnull=True, parent__isnull=True)
                | Q(parent__resolved_at__isnull=True, parent__isnull=False)
            )
            .values("section")
            .annotate(n=Count("pk"))
            .values_list("section", "n")
        )
        return dict(rows)

    def row_count(self, key):
        """How many rows a list has, when the incident query counted them (else None)."""
        return getattr(self.incident, f"rows_{key}", None)

    @cached_property
    def row_counts(self):
        """What the incident query counted: rows of each list, incomplete action items."""
        counts = {key: self.row_count(key) for key in ROW_SECTIONS}
        counts["incomplete_action_items"] = getattr(self.incident, "incomplete_action_items", None)
        return {key: n for key, n in counts.items() if n is not None}

    def rows(self, key):
        """(rows shown, whether more follow) of a list section, loaded once per page."""
        if key not in self._rows:
            self._rows[key] = self._load_rows(key)
        return self._rows[key]

    def _load_rows(self, key):
        editable = ROW_SECTIONS[key]
        if self.row_count(key) == 0:
            return [], False
        rows = editable.display_rows(self.incident)
        if key in self.rows_after:
            rows = rows.filter(editable.after(self.rows_after[key]))
        limit = self.rows_limit
        through = self.rows_through.get(key)
        if limit is not None and through is not None:
            # Show the list down to this row: how many come before it, and then some.
            place = editable.before(editable.order_values(through))
            limit = max(limit, rows.filter(place).count() + 1)
        if limit is None:
            return list(rows), False
        loaded = list(rows[: limit + 1])
        return loaded[:limit], len(loaded) > limit

    @property
    def caches_bodies(self):
        """Section bodies are cached as the page shows them at first (not "all rows", not a
        list shown down to a row, not a chunk)."""
        return (
            settings.ROW_CACHE_SECONDS > 0
            and self.rows_limit == settings.ROWS_CHUNK
            and not self.rows_through
            and not self.rows_after
        )

    def read_bodies(self):
        """Read the cached bodies of every section a page shows, in one cache round trip
        (a fragment reads its own when it renders)."""
        if self.caches_bodies:
            self._bodies.update(
                cache.get_many([self.section(k).body_key for k in EDITABLE_SECTIONS])
            )

    def body_html(self, section, oob=False):
        """A section's body (section_view.html), from the cache while its state holds. With
        `oob`, marked to be swapped in by id (the presence poll's refresh)."""
        if not self.caches_bodies:
            html = render_to_string(SECTION_VIEW, {"section": section})
        else:
            key = section.body_key
            html = self._bodies.get(key) or cache.get(key)
            if html is None:
                html = render_to_string(SECTION_VIEW, {"section": section})
                cache.set(key, html, timeout=settings.ROW_CACHE_SECONDS)
            self._bodies[key] = html
        if oob:  # the body's own element is the first; its opening tag ends the first line
            opening = f'data-section="{section.key}">'
            html = html.replace(opening, f'data-section="{section.key}" hx-swap-oob="true">', 1)
        return mark_safe(html)  # rendered by the autoescaping section templates

    def section(self, key):
        """A section with the heading and prompt its layout gives it."""
        placement = self.postmortem.layout.placement(key) if self.postmortem else None
        if placement is None:
            return DocumentSection(self, key, EDITABLE_SECTIONS[key].title)
        return DocumentSection(self, key, placement.title, placement.prompt)

    def groups(self):
        if self.postmortem is None:
            return []
        return [
            DocumentGroup(group, [self.section(p.key) for p in group.placements])
            for group in self.postmortem.layout.groups
        ]

    @cached_property
    def review(self):
        return ReviewState(self) if self.postmortem is not None else None

    @property
    def review_schedule(self):
        return self.section("review_schedule")

    def other_sections(self):
        """Sections with content that this template does not show (kept across a switch)."""
        if self.postmortem is None:
            return []
        shown = set(self.postmortem.layout.section_keys)
        others = [self.section(key) for key in SECTIONS if key not in shown]
        return [section for section in others if not section.is_empty]

    def header_sections(self):
        keys = ["incident_details", "incident_times", "services", "tags"]
        if self.postmortem is None:  # links live in Supporting information, once there is one
            keys.append("related_incidents")
        return [self.section(key) for key in keys]

    @cached_property
    def toc(self) -> "list[TocGroup]":
        """The table of contents: every section the page shows, in its order, with what a
        writer looks for (empty, open comments, flagged by the checklist). Read from what the
        page loaded anyway (the incident query's counts, the checklist), never a query per
        section; who edits what comes with the presence poll and is mirrored by the script."""
        if self.postmortem is None:
            return []
        flags: dict[str, list[str]] = {}
        for check in self.review.checks:
            if not check.passed:
                flags.setdefault(check.section, []).append(check.label)

        def items(sections: "list[DocumentSection]") -> "list[TocItem]":
            return [TocItem(section, tuple(flags.get(section.key, ()))) for section in sections]

        review_flags = tuple(label for labels in flags.values() for label in labels)
        groups = [
            TocGroup("Incident", items(self.header_sections()), nested=True),
            TocGroup("", [TocItem(None, review_flags, "review", "Review and sign-off")]),
        ]
        for group in self.groups():
            groups.append(TocGroup(group.title, items(group.sections), not group.is_single))
        others = self.other_sections()
        if others:
            groups.append(TocGroup("Not in this template", items(others), nested=True))
        return groups

    @cached_property
    def sections(self):
        """Any section by key, for a template that shows one inside another."""
        return _SectionLookup(self)

    @cached_property
    def team_ids(self):
        """The teams of the person reading: another team's incident is named, not described."""
        return set(Membership.objects.filter(user=self.user).values_list("team_id", flat=True))

    @property
    def viewer_tag(self):
        """The reader, for the cache keys of markup that depends on their teams (kept per
        person: asking for their teams would cost every page a query)."""
        return f"u{self.user.pk}"

    @cached_property
    def similar_incidents(self):
        """Earlier incidents that look like this one, for the authors to link."""
        return Incident.objects.visible_to(self.user).similar_to(self.incident)

    @cached_property
    def authors(self):
        """The postmortem's authors, loaded once for the page (document bar and review)."""
        prefetch_related_objects([self.postmortem], "authors")
        return list(self.postmortem.authors.all())

    @property
    def is_author(self):
        return self.user in self.authors


class _SectionLookup:
    def __init__(self, document):
        self.document = document

    def __getitem__(self, key):
        if key not in EDITABLE_SECTIONS:
            raise KeyError(key)
        return self.document.section(key)


@dataclass(frozen=True)
class DocumentSection:
    document: Document
    key: str
    title: str
    prompt: str = ""

    @property
    def editable(self):
        return EDITABLE_SECTIONS[self.key]

    @property
    def incident(self):
        return self.document.incident

    @property
    def postmortem(self):
        return self.document.postmortem

    @property
    def version(self):
        return self.document.versions.get(self.key, 0)

    @property
    def tag(self):
        return self.document.tag(self.key)

    @property
    def open_comments(self):
        return self.document.open_comments.get(self.key, 0)

    @property
    def has_comments(self):
        return self.document.postmortem is not None and self.key in SECTIONS

    @property
    def anchor(self):
        return f"section-{self.key}"

    @property
    def body_id(self):
        return f"body-{self.key}"

    @property
    def body_template(self):
        return self.editable.template

    @property
    def is_rows(self):
        return self.editable.kind == "rows"

    @property
    def text(self):
        """The Markdown source of a single-field section."""
        return getattr(self.editable.target(self.incident), self.editable.fields[0])

    @property
    def rows(self):
        """The rows shown (the first chunk of a long list)."""
        return self.document.rows(self.key)[0] if self.is_rows else []

    @property
    def has_more(self):
        return self.is_rows and self.document.rows(self.key)[1]

    @property
    def row_count(self):
        return self.document.row_count(self.key)

    @property
    def state(self):
        """What the section's markup depends on, hashed: the document, the section's version
        and those of what it shows, the template's heading and prompt, whether the reader may
        edit, the day, the code. The same state is the same markup: the fragment's ETag and
        its cache key."""
        postmortem = self.postmortem
        parts = [
            str(self.incident.pk),
            self.key,
            self.tag,
            postmortem.template if postmortem else "",
            self.title,
            "e" if self.document.can_edit else "r",
            timezone.localdate().isoformat(),
            code_digest(),
            str(self.row_count) if self.is_rows else "",
            str(self.document.rows_limit),
            self.document.viewer_tag if self.editable.viewer_dependent else "",
        ]
        return hashlib.sha1("|".join(parts).encode(), usedforsecurity=False).hexdigest()[:24]

    @property
    def body_key(self):
        return f"pm:body:{self.state}"

    @property
    def body_html(self):
        """The section's body as the page shows it, from the cache while its state holds."""
        return self.document.body_html(self)

    @property
    def body_html_oob(self):
        return self.document.body_html(self, oob=True)

    @property
    def rows_html(self):
        """The rows' read-only markup, from the cache where it holds this version of a row."""
        return render_rows(self, self.rows)

    @property
    def next_cursor(self):
        return self.editable.cursor(self.rows[-1]) if self.has_more else ""

    @property
    def values(self):
        """The section's field values; many-to-many ones loaded once per page, and not at all
        when the incident query counted none."""
        target = self.editable.target(self.incident)
        values = {}
        for field in self.editable.model_fields:
            if not field.many_to_many:
                values[field.name] = getattr(target, field.name)
            elif getattr(self.incident, f"count_{field.name}", None) == 0:
                values[field.name] = []
            else:
                if field.name not in getattr(target, "_prefetched_objects_cache", {}):
                    prefetch_related_objects([target], field.name)
                values[field.name] = list(getattr(target, field.name).all())
        return values

    @property
    def is_filled(self) -> bool:
        """Whether the section holds anything, from the counts the page's incident query made
        (no query for a list or a many-to-many field that was counted)."""
        if self.is_rows:
            return bool(self.row_count) if self.row_count is not None else not self.is_empty
        target = self.editable.target(self.incident)
        for field in self.editable.model_fields:
            if field.many_to_many:
                count = getattr(self.incident, f"count_{field.name}", None)
                if count is None:
                    return not self.is_empty
                if count:
                    return True
            elif getattr(target, field.name) not in (None, ""):
                return True
        return False

    @property
    def is_empty(self):
        if self.is_rows:
            return self.row_count == 0 if self.row_count is not None else not self.rows
        values = self.values
        return all(value in (None, "", []) for value in values.values())


@dataclass(frozen=True)
class TocItem:
    """One line of the table of contents: a section (or the review panel) and its state."""

    section: DocumentSection | None
    flags: tuple[str, ...] = ()
    anchor_id: str = ""
    label: str = ""

    @property
    def key(self) -> str:
        return self.section.key if self.section is not None else self.anchor_id

    @property
    def anchor(self) -> str:
        return self.section.anchor if self.section is not None else self.anchor_id

    @property
    def title(self) -> str:
        return self.section.title if self.section is not None else self.label

    @property
    def filled(self) -> bool:
        return self.section is None or self.section.is_filled

    @property
    def open_comments(self) -> int:
        return self.section.open_comments if self.section is not None else 0


@dataclass(frozen=True)
class TocGroup:
    title: str
    items: list[TocItem]
    nested: bool = False


@dataclass(frozen=True)
class DocumentGroup:
    group: Group
    sections: list

    @property
    def title(self):
        return self.group.title

    @property
    def is_single(self):
        return self.group.is_single


class ReviewState:
    """What the review panel shows: the checklist, blaming sentences, reviewers, the record,
    and what this person may do."""

    def __init__(self, document):
        self.document = document
        self.postmortem = document.postmortem
        self.user = document.user

    @cached_property
    def checks(self):
        # The rows the page shows anyway: all of them, or the first ones and the count of
        # incomplete items the incident query made.
        counts, items = self.document.row_counts, None
        if "action_items" in ROW_SECTIONS and counts.get("incomplete_action_items") != 0:
            items, more = self.document.rows("action_items")
            if more and "incomplete_action_items" not in counts:
                items = None
        return pre_review_checklist(self.postmortem, counts, items=items)

    @cached_property
    def findings(self):
        """Blaming sentences, kept in the cache while the texts they come from are unchanged:
        scanning a long timeline on every page view is what the versions spare."""
        # The versions of the sections it reads, and the rows' last save time (an edit made
        # without the services, by a script, still shows).
        versions = [str(self.document.versions.get(k, 0)) for k in BLAMELESS_SECTIONS]
        saved = [
            self.postmortem.updated_at.isoformat(),
            self.document.incident.updated_at.isoformat(),
        ]
        counts = [str(self.document.row_counts.get(k)) for k in ("timeline", "five_whys")]
        source = "|".join([*versions, *saved, *counts])
        digest = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()[:16]
        key = f"pm:blameless:{self.postmortem.pk}:{digest}"
        findings = cache.get(key)
        if findings is None:
            findings = blameless_findings(self.postmortem)
            cache.set(key, findings, timeout=settings.ROW_CACHE_SECONDS)
        return findings

    @cached_property
    def requests(self):
        return list(self.postmortem.review_requests.select_related("reviewer"))

    @cached_property
    def my_request(self):
        return next((r for r in self.requests if r.reviewer_id == self.user.pk), None)

    @cached_property
    def events(self):
        return list(self.postmortem.review_events.select_related("actor", "reviewer"))

    @cached_property
    def can_drive(self):
        if self.user.is_superuser or self.document.is_author:
            return True
        return can_drive_review(self.postmortem, self.user)

    @cached_property
    def reviewer_form(self):
        return ReviewerForm(exclude=[r.reviewer_id for r in self.requests])

    @property
    def reviewer_choices(self):
        """Who may be asked to review, as the form offers them (written out by the panel)."""
        return self.reviewer_form.fields["reviewer"].queryset

    @property
    def role_choices(self):
        return self.reviewer_form.fields["role"].choices

    @cached_property
    def decision_form(self):
        return DecisionForm()
