"""What the page shows of an incident's document: sections with their content and version.

A Document loads nothing up front beyond the incident row it is given (see
services.document_queryset: the postmortem, every section's version, row counts, who is
asking). Each section loads what it shows when it is rendered, so a fragment of one section
costs that section's queries, whatever the size of the rest. Lists show their first rows and
load the rest in chunks as they scroll into view (all of them on request).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.query import prefetch_related_objects
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from incidents.models import Activity, Incident, Membership
from incidents.services import may_delete_postmortem

from .checklist import (
    Check,
    Finding,
    FollowThrough,
    after_publication_checklist,
    blameless_findings,
    pre_review_checklist,
)
from .editing import EDITABLE_SECTIONS, ROW_SECTIONS, FieldSection, RowSection, Section
from .etags import code_digest
from .forms import DecisionForm, ReviewerForm, ShareLinkForm
from .layouts import SECTIONS, Group
from .models import Postmortem, ReviewEvent, ReviewRequest, ShareLink
from .review import can_drive_review
from .row_html import render_rows

if TYPE_CHECKING:
    from django.contrib.auth.models import User

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
    # A share link's read-only page (SharedDocument): no tools, no internal sections.
    is_shared = False

    def __init__(
        self,
        incident: Incident,
        user: User,
        rows: Any = ...,
        rows_through: Mapping[str, Any] | None = None,
        rows_after: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        self.incident = incident
        self.user = user
        self.rows_limit: int | None = settings.ROWS_CHUNK if rows is ... else rows
        self.rows_through = rows_through or {}
        self.rows_after = rows_after or {}
        self._rows: dict[str, tuple[list[Any], bool]] = {}
        self._bodies: dict[str, str] = {}

    @cached_property
    def can_edit(self) -> bool:
        return self.incident.can_edit(self.user)

    @property
    def access_tag(self) -> str:
        """What the reader may do, as cached markup is keyed: edit, read, or a share link."""
        if self.is_shared:
            return "s"
        return "e" if self.can_edit else "r"

    @cached_property
    def recent_activity(self) -> list[Activity]:
        """The last archive/unarchive/delete entries of the incident's log, newest first; read
        only when something was set aside (archived, or no postmortem: perhaps a deleted
        draft), so that the everyday page spends no query on it. The admin lists all."""
        postmortem = self.postmortem
        if not (self.incident.is_archived or postmortem is None or postmortem.is_archived):
            return []
        return list(self.incident.activities.select_related("actor")[:5])

    @cached_property
    def can_delete_postmortem(self) -> bool:
        """A draft, and the reader manages the team (or is a site admin)."""
        postmortem = self.postmortem
        return bool(
            postmortem
            and postmortem.is_deletable
            and may_delete_postmortem(self.incident, self.user)
        )

    @cached_property
    def postmortem(self) -> Postmortem | None:
        try:
            return self.incident.postmortem
        except Postmortem.DoesNotExist:
            return None

    @cached_property
    def versions(self) -> dict[str, int]:
        """{section key: version}, from the maps on the incident and the postmortem rows."""
        versions: dict[str, int] = dict(self.incident.section_versions or {})
        if self.postmortem is not None:
            versions.update(self.postmortem.section_versions or {})
        return versions

    def tag(self, key: str) -> str:
        """The version of a section and of the sections it shows ("3" or "3.12.0"): what an
        open page holds, compared by the presence poll and in the fragment's ETag."""
        editable = EDITABLE_SECTIONS[key]
        keys = (key, *editable.depends_on)
        return ".".join(str(self.versions.get(k, 0)) for k in keys)

    @cached_property
    def open_comments(self) -> dict[str, int]:
        """{section key: open comments (threads and their replies)}."""
        if self.postmortem is None:
            return {}
        if hasattr(self.incident, "open_comment_sections"):  # counted by the incident query
            joined: str | None = self.incident.open_comment_sections
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

    def row_count(self, key: str) -> int | None:
        """How many rows a list has, when the incident query counted them (else None)."""
        count: int | None = getattr(self.incident, f"rows_{key}", None)
        return count

    @cached_property
    def row_counts(self) -> dict[str, int]:
        """What the incident query counted: rows of each list, incomplete action items."""
        counts = {key: self.row_count(key) for key in ROW_SECTIONS}
        counts["incomplete_action_items"] = getattr(self.incident, "incomplete_action_items", None)
        return {key: n for key, n in counts.items() if n is not None}

    def rows(self, key: str) -> tuple[list[Any], bool]:
        """(rows shown, whether more follow) of a list section, loaded once per page."""
        if key not in self._rows:
            self._rows[key] = self._load_rows(key)
        return self._rows[key]

    def _load_rows(self, key: str) -> tuple[list[Any], bool]:
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
    def caches_bodies(self) -> bool:
        """Section bodies are cached as the page shows them at first (not "all rows", not a
        list shown down to a row, not a chunk)."""
        return (
            settings.ROW_CACHE_SECONDS > 0
            and self.rows_limit == settings.ROWS_CHUNK
            and not self.rows_through
            and not self.rows_after
        )

    def read_bodies(self) -> None:
        """Read the cached bodies of every section a page shows, in one cache round trip
        (a fragment reads its own when it renders)."""
        if self.caches_bodies:
            self._bodies.update(
                cache.get_many([self.section(k).body_key for k in EDITABLE_SECTIONS])
            )

    def body_html(self, section: DocumentSection, oob: bool = False) -> SafeString:
        """A section's body (section_view.html), from the cache while its state holds. With
        `oob`, marked to be swapped in by id (the presence poll's refresh)."""
        html: str | None
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

    def section(self, key: str) -> DocumentSection:
        """A section with the heading and prompt its layout gives it."""
        placement = self.postmortem.layout.placement(key) if self.postmortem else None
        if placement is None:
            return DocumentSection(self, key, EDITABLE_SECTIONS[key].title)
        return DocumentSection(self, key, placement.title, placement.prompt)

    def groups(self) -> list[DocumentGroup]:
        if self.postmortem is None:
            return []
        return [
            DocumentGroup(group, [self.section(p.key) for p in group.placements])
            for group in self.postmortem.layout.groups
        ]

    @cached_property
    def review(self) -> ReviewState | None:
        return ReviewState(self) if self.postmortem is not None else None

    @cached_property
    def after_publication(self) -> list[FollowThrough]:
        """The after-publication checklist, shown once the postmortem is published."""
        if self.postmortem is None or not self.postmortem.is_published:
            return []
        return after_publication_checklist(self.postmortem)

    @property
    def share_form(self) -> ShareLinkForm:
        return ShareLinkForm()

    @cached_property
    def share_links(self) -> list[ShareLink]:
        """The postmortem's share links, newest first, for the team's share panel."""
        if self.postmortem is None:
            return []
        return list(self.postmortem.share_links.select_related("created_by", "revoked_by"))

    @property
    def review_schedule(self) -> DocumentSection:
        return self.section("review_schedule")

    def other_sections(self) -> list[DocumentSection]:
        """Sections with content that this template does not show (kept across a switch)."""
        if self.postmortem is None:
            return []
        shown = set(self.postmortem.layout.section_keys)
        others = [self.section(key) for key in SECTIONS if key not in shown]
        return [section for section in others if not section.is_empty]

    def header_sections(self) -> list[DocumentSection]:
        keys = ["incident_details", "incident_times", "services", "tags"]
        if self.postmortem is None:  # links live in Supporting information, once there is one
            keys.append("related_incidents")
        return [self.section(key) for key in keys]

    @cached_property
    def toc(self) -> list[TocGroup]:
        """The table of contents: every section the page shows, in its order, with what a
        writer looks for (empty, open comments, flagged by the checklist). Read from what the
        page loaded anyway (the incident query's counts, the checklist), never a query per
        section; who edits what comes with the presence poll and is mirrored by the script."""
        if self.postmortem is None:
            return []
        review = self.review
        assert review is not None  # there is a postmortem to review
        flags: dict[str, list[str]] = {}
        for check in review.checks:
            if not check.passed:
                flags.setdefault(check.section, []).append(check.label)

        def items(sections: list[DocumentSection]) -> list[TocItem]:
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
    def sections(self) -> _SectionLookup:
        """Any section by key, for a template that shows one inside another."""
        return _SectionLookup(self)

    @cached_property
    def team_ids(self) -> frozenset[int]:
        """The teams of the person reading: another team's incident is named, not described."""
        teams = Membership.objects.filter(user=self.user).values_list("team_id", flat=True)
        return frozenset(teams)

    @property
    def viewer_tag(self) -> str:
        """The reader, for the cache keys of markup that depends on their teams (kept per
        person: asking for their teams would cost every page a query)."""
        return f"u{self.user.pk}"

    @cached_property
    def similar_incidents(self) -> list[Incident]:
        """Earlier incidents that look like this one, for the authors to link."""
        return Incident.objects.visible_to(self.user).similar_to(self.incident)

    @cached_property
    def authors(self) -> list[User]:
        """The postmortem's authors, loaded once for the page (document bar and review)."""
        if self.postmortem is None:
            return []
        prefetch_related_objects([self.postmortem], "authors")
        return list(self.postmortem.authors.all())

    @property
    def is_author(self) -> bool:
        return self.user in self.authors


class _SectionLookup:
    def __init__(self, document: Document) -> None:
        self.document = document

    def __getitem__(self, key: str) -> DocumentSection:
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
    def editable(self) -> Section:
        return EDITABLE_SECTIONS[self.key]

    @property
    def incident(self) -> Incident:
        return self.document.incident

    @property
    def postmortem(self) -> Postmortem | None:
        return self.document.postmortem

    @property
    def version(self) -> int:
        return self.document.versions.get(self.key, 0)

    @property
    def tag(self) -> str:
        return self.document.tag(self.key)

    @property
    def open_comments(self) -> int:
        return self.document.open_comments.get(self.key, 0)

    @property
    def is_internal(self) -> bool:
        """Left out of share links (the team's choice, stored on the postmortem)."""
        return self.postmortem is not None and self.postmortem.is_internal(self.key)

    @property
    def has_comments(self) -> bool:
        return self.document.postmortem is not None and self.key in SECTIONS

    @property
    def anchor(self) -> str:
        return f"section-{self.key}"

    @property
    def body_id(self) -> str:
        return f"body-{self.key}"

    @property
    def body_template(self) -> list[str]:
        return self.editable.template

    @property
    def is_rows(self) -> bool:
        return self.editable.kind == "rows"

    @property
    def text(self) -> str:
        """The Markdown source of a single-field section."""
        editable = self.editable
        assert isinstance(editable, FieldSection)
        text: str = getattr(editable.target(self.incident), editable.fields[0])
        return text

    @property
    def rows(self) -> list[Any]:
        """The rows shown (the first chunk of a long list)."""
        return self.document.rows(self.key)[0] if self.is_rows else []

    @property
    def has_more(self) -> bool:
        return self.is_rows and self.document.rows(self.key)[1]

    @property
    def row_count(self) -> int | None:
        return self.document.row_count(self.key)

    @property
    def state(self) -> str:
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
            self.document.access_tag,
            timezone.localdate().isoformat(),
            code_digest(),
            str(self.row_count) if self.is_rows else "",
            str(self.document.rows_limit),
            self.document.viewer_tag if self.editable.viewer_dependent else "",
        ]
        return hashlib.sha1("|".join(parts).encode(), usedforsecurity=False).hexdigest()[:24]

    @property
    def body_key(self) -> str:
        return f"pm:body:{self.state}"

    @property
    def body_html(self) -> SafeString:
        """The section's body as the page shows it, from the cache while its state holds."""
        return self.document.body_html(self)

    @property
    def body_html_oob(self) -> SafeString:
        return self.document.body_html(self, oob=True)

    @property
    def rows_html(self) -> str:
        """The rows' read-only markup, from the cache where it holds this version of a row."""
        return render_rows(self, self.rows)

    @property
    def next_cursor(self) -> str:
        editable = self.editable
        if not self.has_more or not isinstance(editable, RowSection):
            return ""
        return editable.cursor(self.rows[-1])

    @property
    def values(self) -> dict[str, Any]:
        """The section's field values; many-to-many ones loaded once per page, and not at all
        when the incident query counted none."""
        target = self.editable.owner_object(self.incident)
        values: dict[str, Any] = {}
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
        editable = self.editable
        assert isinstance(editable, FieldSection)
        target = editable.target(self.incident)
        for field in editable.model_fields:
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
    def is_empty(self) -> bool:
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
    sections: list[DocumentSection]

    @property
    def title(self) -> str:
        return self.group.title

    @property
    def is_single(self) -> bool:
        return self.group.is_single


class ReviewState:
    """What the review panel shows: the checklist, blaming sentences, reviewers, the record,
    and what this person may do."""

    def __init__(self, document: Document) -> None:
        assert document.postmortem is not None
        self.document = document
        self.postmortem: Postmortem = document.postmortem
        self.user = document.user

    @cached_property
    def checks(self) -> list[Check]:
        # The rows the page shows anyway: all of them, or the first ones and the count of
        # incomplete items the incident query made.
        counts = self.document.row_counts
        items: list[Any] | None = None
        if "action_items" in ROW_SECTIONS and counts.get("incomplete_action_items") != 0:
            items, more = self.document.rows("action_items")
            if more and "incomplete_action_items" not in counts:
                items = None
        return pre_review_checklist(self.postmortem, counts, items=items)

    @cached_property
    def findings(self) -> list[Finding]:
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
        findings: list[Finding] | None = cache.get(key)
        if findings is None:
            findings = blameless_findings(self.postmortem)
            cache.set(key, findings, timeout=settings.ROW_CACHE_SECONDS)
        return findings

    @cached_property
    def requests(self) -> list[ReviewRequest]:
        return list(self.postmortem.review_requests.select_related("reviewer"))

    @cached_property
    def my_request(self) -> ReviewRequest | None:
        return next((r for r in self.requests if r.reviewer_id == self.user.pk), None)

    @cached_property
    def events(self) -> list[ReviewEvent]:
        return list(self.postmortem.review_events.select_related("actor", "reviewer"))

    @cached_property
    def can_drive(self) -> bool:
        if self.user.is_superuser or self.document.is_author:
            return True
        return can_drive_review(self.postmortem, self.user)

    @cached_property
    def reviewer_form(self) -> ReviewerForm:
        return ReviewerForm(exclude=[r.reviewer_id for r in self.requests])

    @property
    def reviewer_choices(self) -> Any:
        """Who may be asked to review, as the form offers them (written out by the panel)."""
        return self.reviewer_form.fields["reviewer"].queryset  # type: ignore[attr-defined]

    @property
    def role_choices(self) -> Any:
        return self.reviewer_form.fields["role"].choices  # type: ignore[attr-defined]

    @cached_property
    def decision_form(self) -> DecisionForm:
        return DecisionForm()


class SharedDocument(Document):
    """The postmortem as a share link shows it to someone outside the team: every row, no
    tools, no comments or presence, and none of the sections the team keeps internal."""

    is_shared = True
    can_edit = False
    team_ids: frozenset[int] = frozenset()  # nobody's teams: other teams' incidents unnamed
    viewer_tag = "shared"

    def __init__(self, incident: Incident) -> None:
        # No account: a Document asks its user only what they may do, and the answer is nothing.
        super().__init__(incident, cast("User", AnonymousUser()), rows=Document.ALL_ROWS)

    def is_shown(self, key: str) -> bool:
        return self.postmortem is not None and not self.postmortem.is_internal(key)

    def shared_groups(self) -> list[DocumentGroup]:
        groups = []
        for group in self.groups():
            # Empty sections would show their writing prompts: a reader gets what was written.
            sections = [s for s in group.sections if self.is_shown(s.key) and not s.is_empty]
            if sections:
                groups.append(DocumentGroup(group.group, sections))
        return groups

    def shared_other_sections(self) -> list[DocumentSection]:
        return [s for s in self.other_sections() if self.is_shown(s.key)]

    def shared_header_sections(self) -> list[DocumentSection]:
        sections = [self.section(key) for key in ("incident_details", "incident_times")]
        services = self.section("services")
        return [*sections, *([] if services.is_empty else [services])]
