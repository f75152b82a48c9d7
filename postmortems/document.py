"""What the page shows of an incident's document: sections with their content and version."""

from dataclasses import dataclass
from functools import cached_property

from django.db.models import Count, Q

from incidents.models import Incident, Membership

from .checklist import blameless_findings, pre_review_checklist
from .editing import EDITABLE_SECTIONS
from .forms import DecisionForm, ReviewerForm
from .layouts import SECTIONS, Group
from .models import Postmortem, Revision
from .review import can_drive_review


class Document:
    """An incident and its postmortem as one page: the layout's sections, each with the
    version an editor starts from and its open comments."""

    def __init__(self, incident, user):
        self.incident = incident
        self.user = user

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
        return Revision.objects.current_versions(self.incident)

    @cached_property
    def open_comments(self):
        """{section key: open comments (threads and their replies)}."""
        if self.postmortem is None:
            return {}
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
    def sections(self):
        """Any section by key, for a template that shows one inside another."""
        return _SectionLookup(self)

    @cached_property
    def team_ids(self):
        """The teams of the person reading: another team's incident is named, not described."""
        return set(Membership.objects.filter(user=self.user).values_list("team_id", flat=True))

    @cached_property
    def similar_incidents(self):
        """Earlier incidents that look like this one, for the authors to link."""
        return Incident.objects.visible_to(self.user).similar_to(self.incident)


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
        if not self.is_rows:
            return []
        # Through the parent's related managers, so the page's prefetch serves it.
        return self.editable.page_rows(self.editable.parent_object(self.incident))

    @property
    def is_empty(self):
        if self.is_rows:
            return not self.rows
        values = self.editable.values(self.editable.target(self.incident))
        return all(value in (None, "", []) for value in values.values())


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
        self.postmortem = document.postmortem
        self.user = document.user

    @cached_property
    def checks(self):
        return pre_review_checklist(self.postmortem)

    @cached_property
    def findings(self):
        return blameless_findings(self.postmortem)

    @cached_property
    def requests(self):
        return list(self.postmortem.review_requests.all())

    @cached_property
    def my_request(self):
        return next((r for r in self.requests if r.reviewer_id == self.user.pk), None)

    @cached_property
    def events(self):
        return list(self.postmortem.review_events.all())

    @cached_property
    def can_drive(self):
        return can_drive_review(self.postmortem, self.user)

    @cached_property
    def reviewer_form(self):
        return ReviewerForm(exclude=[r.reviewer_id for r in self.requests])

    @cached_property
    def decision_form(self):
        return DecisionForm()
