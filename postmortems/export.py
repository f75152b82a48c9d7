"""Export a postmortem as Markdown in the shape of its template (../shared/seeds/).

Every non-empty field and row goes out: what the layout has no place for goes under a
closing "Additional Sections" heading, and the additional sections stand where they stood.
The importer (postmortems/importing) reads this Markdown back to the same postmortem, so
export -> import -> export gives the same text; lines the export derives (durations, the
response metrics) are written only from what the header also says.

Plain Python rather than a Django template: Markdown is whitespace-sensitive and tables must
be escaped cell by cell, which template tags make hard to read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, overload

from django.conf import settings
from django.utils import timezone

from postmortems.importing.durations import format_duration
from postmortems.importing.parser import guess_kind
from postmortems.layouts import SECTIONS, Layout
from postmortems.templatetags.studio import display_name

if TYPE_CHECKING:
    from postmortems.models import AdditionalSection, Postmortem

NOT_WRITTEN = "_Not written yet._"

STATUS_MARKS = {
    "open": "📅 Open",
    "in_progress": "⏳ In progress",
    "blocked": "⛔ Blocked",
    "done": "✅ Done",
    "wont_do": "🚫 Won't do",
}
ROLE_NAMES = {"engineering_lead": "Engineering lead", "manager": "Manager"}


def export_filename(postmortem: Postmortem) -> str:
    return f"{postmortem.incident.reference}-postmortem.md"


# A link to an attachment as the editor inserts it (relative to the site), see Attachment.
ATTACHMENT_LINK = re.compile(r"(\]\()(/incidents/INC-\d{4}-\d+/attachments/\d+/)")


def export_markdown(postmortem: Postmortem, layout: Layout | None = None) -> str:
    return absolute_links(MarkdownExport(postmortem, layout).render())


def absolute_links(markdown: str) -> str:
    """Links to attachments carry the site's address: the exported file is read elsewhere
    (the links still need a login that may read the postmortem)."""
    return ATTACHMENT_LINK.sub(lambda m: f"{m[1]}{settings.SITE_URL}{m[2]}", markdown)


def cell(value: object) -> str:
    """One cell of a Markdown table: pipes escaped, line breaks as <br>."""
    text = str(value if value is not None else "").strip()
    return text.replace("|", "\\|").replace("\r\n", "\n").replace("\n", "<br>")


def table(header: Sequence[str], rows: Iterable[Iterable[object]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("-" * (len(h) + 2) for h in header) + "|",
    ]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


@overload
def utc(moment: datetime) -> datetime: ...
@overload
def utc(moment: None) -> None: ...
@overload
def utc(moment: datetime | None) -> datetime | None: ...
def utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment else None


def day(moment: datetime | None) -> str:
    return f"{utc(moment):%Y-%m-%d}"


HEADING = re.compile(r"^(#{1,6})(\s)", re.MULTILINE)
FENCE = re.compile(r"^ {0,3}(```|~~~)")


def relevel(text: str | None, level: int) -> str:
    """Sub-headings of a section's text sit one level below the heading it is placed under,
    so that a reader (and the importer) sees them inside it."""
    lines = (text or "").split("\n")
    inside = False
    levels: list[int] = []
    for line in lines:
        if FENCE.match(line):
            inside = not inside
        elif not inside and (match := HEADING.match(line)):
            levels.append(len(match[1]))
    if not levels:
        return text or ""
    shift = level + 1 - min(levels)
    out: list[str] = []
    inside = False
    for line in lines:
        if FENCE.match(line):
            inside = not inside
        elif not inside and (match := HEADING.match(line)):
            line = "#" * max(1, min(6, len(match[1]) + shift)) + line[len(match[1]) :]
        out.append(line)
    return "\n".join(out)


class MarkdownExport:
    def __init__(self, postmortem: Postmortem, layout: Layout | None = None) -> None:
        self.postmortem = postmortem
        self.incident = postmortem.incident
        self.layout = layout or postmortem.layout
        self.additional = list(postmortem.additional_sections.all())
        self.placed_keys = set(self.layout.section_keys)

    def render(self) -> str:
        title = self.layout.document_title.format(title=self.incident.title)
        parts: list[str | None] = [f"# {title}", self.header(), "---"]
        for row in self.anchored(""):
            parts += self.additional_block(row, 2)
        if parts[-1] != "---":
            parts.append("---")
        for group in self.layout.groups:
            placements = [p for p in group.placements if p.key != "additional_sections"]
            if not placements:
                continue
            level = 2 if group.is_single else 3
            parts.append(f"## {group.title}")
            for placement in placements:
                if not group.is_single:
                    parts.append(f"### {placement.title}")
                parts.append(relevel(self.section(placement.key), level).strip() or NOT_WRITTEN)
                for row in self.anchored(placement.key):
                    parts += self.additional_block(row, level)
            parts.append("---")
        closing = self.closing_sections()
        if closing:
            parts += ["## Additional Sections", *closing, "---"]
        parts += ["## Sign-off", self.sign_off()]
        for row in self.anchored("sign_off"):
            parts += self.additional_block(row, 2)
        parts.append("---")
        if self.layout.closing:
            parts.append(self.layout.closing)
        return "\n\n".join(p for p in parts if p is not None).strip() + "\n"

    # Additional sections stand after the section they followed.

    def anchored(self, key: str) -> list[AdditionalSection]:
        return [row for row in self.additional if self.anchor_of(row) == key]

    def anchor_of(self, row: AdditionalSection) -> str:
        after = row.after or ""
        if after in ("", "sign_off"):
            return after
        if after == "_end":
            return "sign_off"
        if after in self.placed_keys:
            return after
        return f"closing:{after}"  # placed after that section under Additional Sections

    def additional_block(self, row: AdditionalSection, level: int) -> list[str | None]:
        return [f"{'#' * level} {row.title}", relevel(row.body, level).strip() or NOT_WRITTEN]

    def closing_sections(self) -> list[str | None]:
        """Sections this layout does not show, with their anchored additional sections, and
        additional sections whose place is not in this layout."""
        parts: list[str | None] = []
        done: set[int] = set()
        for key, section in SECTIONS.items():
            if key in self.placed_keys or key == "additional_sections":
                continue
            text = self.section(key).strip()
            anchored = [r for r in self.additional if self.anchor_of(r) == f"closing:{key}"]
            if text or anchored:
                parts += [f"### {section.title}", relevel(text, 3) or NOT_WRITTEN]
            for row in anchored:
                parts += self.additional_block(row, 3)
                done.add(row.pk)
        for row in self.additional:
            anchor = self.anchor_of(row)
            if anchor.startswith("closing:") and row.pk not in done:
                parts += self.additional_block(row, 3)
        return parts

    # Header: the facts each seed template opens with, then every other fact set.

    def header(self) -> str:
        incident, pm = self.incident, self.postmortem
        started, resolved = utc(incident.started_at), utc(incident.resolved_at)
        authors = ", ".join(sorted(display_name(u) for u in pm.authors.all())) or "—"
        identifier = ("Incident ID", f"`{incident.external_id or incident.reference}`")
        severity = ("Severity", incident.get_severity_display())
        status = ("Status", incident.get_status_display())
        shown = {"started_at", "resolved_at"}
        if self.layout.key == "incident_report":
            fields: list[tuple[str, str]] = [
                ("Date", f"{started:%Y-%m-%d}"),
                ("Time Started", self.clock(started)),
                ("Time Resolved", self.clock(resolved) if resolved else "Ongoing"),
                ("Duration", self.duration_text() or "Ongoing"),
                identifier,
                severity,
                status,
                ("Report Created By", authors),
                ("Report Date", f"{timezone.localdate(pm.created_at):%Y-%m-%d}"),
            ]
        elif self.layout.key == "incident_postmortem":
            span = f" ({self.clock(started)} - {self.clock(resolved)})" if resolved else ""
            fields = [
                identifier,
                ("Date", f"{started:%Y-%m-%d}"),
                ("Duration", f"{self.duration_text()}{span}" if resolved else "Ongoing"),
                severity,
                status,
                ("Services Affected", self.services_inline() or "—"),
                ("Authors", authors),
            ]
            if not resolved:
                fields.insert(3, ("Time Started", self.clock(started)))
        else:
            reviewers = ", ".join(display_name(r.reviewer) for r in pm.review_requests.all())
            fields = [
                ("Date of Incident", f"{started:%Y-%m-%d}"),
                ("Date of Post-Mortem", f"{timezone.localdate(pm.created_at):%Y-%m-%d}"),
                ("Author", authors),
                ("Reviewers", reviewers or "—"),
                identifier,
                severity,
                status,
                ("Time Started", self.clock(started)),
            ]
            if resolved:
                fields.append(("Time Resolved", self.clock(resolved)))
        for name, label in (
            ("detected_at", "Detected"),
            ("acknowledged_at", "Acknowledged"),
            ("mitigated_at", "Mitigated"),
            ("resolved_at", "Time Resolved"),
            ("all_clear_at", "All Clear"),
        ):
            value = getattr(incident, name)
            if value is not None and name not in shown:
                fields.append((label, self.clock(value)))
        if incident.commander:
            fields.append(("Incident Commander", display_name(incident.commander)))
        tags = [tag.name for tag in incident.tags.all()]
        if tags:
            fields.append(("Tags", ", ".join(tags)))
        return "\n".join(f"**{label}**: {value}  " for label, value in fields).rstrip()

    def clock(self, moment: datetime) -> str:
        """HH:MM UTC on the incident's day, with the date on any other day."""
        moment = utc(moment)
        seconds = f":{moment:%S}" if moment.second else ""
        if moment.date() == utc(self.incident.started_at).date():
            return f"{moment:%H:%M}{seconds} UTC"
        return f"{moment:%Y-%m-%d %H:%M}{seconds} UTC"

    def duration_text(self) -> str:
        """Start to resolved, from the two times the header shows (never from the timeline,
        which a reader of the header could not check)."""
        incident = self.incident
        if incident.resolved_at is None:
            return ""
        return format_duration(incident.resolved_at - incident.started_at)

    def services_inline(self) -> str:
        return ", ".join(
            f"{impact.service.name} ({impact.get_impact_display().lower()})"
            for impact in self.incident.service_impacts.all()
        )

    # Sections: a method for each section with a shape of its own; a section that is one
    # Markdown field is exported as written.

    def section(self, key: str) -> str:
        shaped: Callable[[], str] | None = getattr(self, f"section_{key}", None)
        if shaped is not None:
            return shaped()
        (field,) = SECTIONS[key].fields
        text: str = getattr(self.postmortem, field)
        return text

    def section_impact(self) -> str:
        pm = self.postmortem
        parts: list[str] = []
        users = bullets(
            [
                ("Scope", pm.user_scope),
                ("Count", f"~{pm.users_affected:,} users" if pm.users_affected else None),
                ("Duration", self.duration_text() or None),
            ]
        )
        if users and (pm.user_scope or pm.users_affected):
            parts.append(f"**Users Affected**:\n{users}")
        services = [
            f"- {impact.service.name}: {impact.get_impact_display().lower()}"
            + (f" ({impact.note})" if impact.note else "")
            for impact in self.incident.service_impacts.all()
        ]
        if services:
            parts.append("**Services Affected**:\n" + "\n".join(services))
        business = bullets(
            [
                ("Revenue Lost", f"${pm.revenue_impact:,.2f}" if pm.revenue_impact else None),
                ("SLA Breach", self.sla_breach_text()),
                (
                    "Customer Complaints",
                    f"{pm.support_tickets:,} support tickets"
                    if pm.support_tickets is not None
                    else None,
                ),
                ("Availability SLO", f"{pm.slo_target.normalize()}%" if pm.slo_target else None),
            ]
        )
        if business:
            parts.append(f"**Business Impact**:\n{business}")
        if pm.impact_summary:
            parts.append(pm.impact_summary)
        return "\n\n".join(parts)

    def sla_breach_text(self) -> str | None:
        pm = self.postmortem
        budget = pm.error_budget_minutes
        downtime = self.duration_text()
        if budget is None or not downtime or self.incident.resolved_at is None:
            return None
        minutes = (self.incident.resolved_at - self.incident.started_at).total_seconds() / 60
        breached = minutes > budget
        return (
            f"{'Yes' if breached else 'No'} ({downtime} {'>' if breached else '<'} "
            f"{budget:.1f} min monthly budget for {pm.slo_target.normalize()}%)"  # type: ignore[union-attr]
        )

    def section_timeline(self) -> str:
        events = list(self.incident.timeline_events.all())
        if not events:
            return ""
        columns = list(self.layout.timeline_columns)
        if any(e.action_taken for e in events) and len(columns) < 4:
            columns.append("Action Taken")
        if any(e.notes for e in events):
            columns.append("Notes")
        if any(e.kind != guess_kind(e.description) for e in events):
            columns.append("Kind")
        start_day = utc(self.incident.started_at).date()
        rows: list[list[str]] = []
        for event in events:
            at = utc(event.occurred_at)
            time = f"{at:%H:%M}" + (f":{at:%S}" if at.second else "")
            if at.date() != start_day:
                time = f"{at:%Y-%m-%d} {time}"
            description = event.description
            if event.is_key_decision:
                description = f"**{description}**"
            values = {
                "time": time,
                "event": description,
                "action taken": event.action_taken,
                "notes": event.notes,
                "kind": event.kind,
            }
            row: list[str] = []
            for column in columns:
                name = column.lower()
                if name.startswith("time"):
                    row.append(values["time"])
                elif name in values:
                    row.append(values[name])
                else:  # Actor, Actor/System, By Whom
                    row.append(event.actor)
            rows.append(row)
        body = table(columns, rows)
        if self.layout.key == "full" and self.duration_text():
            body += f"\n\n**Total Duration**: {self.duration_text()}"
        return body

    def section_root_cause(self) -> str:
        pm = self.postmortem
        parts = [pm.root_cause]
        if pm.trigger:
            parts.append(f"**What triggered it**:\n{pm.trigger}")
        return "\n\n".join(p for p in parts if p)

    def section_five_whys(self) -> str:
        return "\n\n".join(
            f"**{n}. {row.question}**\n→ {row.answer}".rstrip()
            for n, row in enumerate(self.postmortem.five_whys.all(), start=1)
        )

    def section_contributing_factors(self) -> str:
        by_category: dict[str, list[str]] = {}
        for factor in self.postmortem.contributing_factors.all():
            by_category.setdefault(factor.get_category_display(), []).append(factor.description)
        return "\n\n".join(
            f"**{category} Factors**:\n"
            + "\n".join(f"{n}. {indent(text, 3)}" for n, text in enumerate(texts, start=1))
            for category, texts in by_category.items()
        )

    def section_detection(self) -> str:
        pm = self.postmortem
        parts: list[str] = []
        if pm.detection_method:
            parts.append(f"**How Detected**: {pm.get_detection_method_display()}")
        if pm.alert_name:
            parts.append(f'**Alert**: "{pm.alert_name}"')
        if pm.detection_notes:
            parts.append(pm.detection_notes)
        return "\n\n".join(parts)

    def section_response(self) -> str:
        metrics = "\n".join(
            f"- **{label}**: {format_duration(value)} ({how})"
            for label, value, how in self.incident.response_metrics()
        )
        parts = [f"**Response Timeline**:\n{metrics}", self.postmortem.response_notes]
        return "\n\n".join(p for p in parts if p)

    def section_resolution(self) -> str:
        pm = self.postmortem
        if pm.resolution_short_term and not pm.resolution_long_term:
            return pm.resolution_short_term
        parts: list[str] = []
        if pm.resolution_short_term:
            parts.append(f"**Short-term**:\n\n{pm.resolution_short_term}")
        if pm.resolution_long_term:
            parts.append(f"**Long-term**:\n\n{pm.resolution_long_term}")
        return "\n\n".join(parts)

    def section_action_items(self) -> str:
        items = list(self.postmortem.action_items.all())
        if not items:
            return ""
        if not self.layout.action_items_by_term:
            return self.action_item_table(list(enumerate(items, start=1)), items)
        by_term: dict[str, list[Any]] = {}
        for item in items:
            by_term.setdefault(item.get_term_display(), []).append(item)
        # Numbered in the order they are printed, term by term.
        numbered: list[tuple[str, list[tuple[int, Any]]]] = []
        n = 0
        for term, group in by_term.items():
            numbered.append((term, list(enumerate(group, start=n + 1))))
            n += len(group)
        return "\n\n".join(
            f"**{term[0].upper()}{term[1:]}:**\n\n{self.action_item_table(rows, items)}"
            for term, rows in numbered
        )

    def action_item_table(
        self, numbered_items: Iterable[tuple[int, Any]], all_items: Sequence[Any]
    ) -> str:
        columns = list(self.layout.action_item_columns)
        for extra in ("Priority", "Category", "Term", "Tracker", "Notes"):
            wanted = {
                "Term": not self.layout.action_items_by_term,
                "Tracker": any(item.tracker_url for item in all_items),
                "Notes": any(item.description for item in all_items),
            }.get(extra, True)
            if wanted and extra not in columns:
                columns.append(extra)
        values: dict[str, Callable[[int, Any], object]] = {
            "#": lambda n, item: n,
            "ID": lambda n, item: n,
            "Action": lambda n, item: item.title,
            "Priority": lambda n, item: item.priority,
            "Owner": lambda n, item: item.owner_display or "—",
            "Due Date": lambda n, item: f"{item.due_date:%Y-%m-%d}" if item.due_date else "—",
            "Status": lambda n, item: STATUS_MARKS[item.status],
            "Category": lambda n, item: item.get_category_display(),
            "Term": lambda n, item: item.get_term_display(),
            "Tracker": lambda n, item: item.tracker_url,
            "Notes": lambda n, item: item.description,
        }
        rows = [[values[c](n, item) for c in columns] for n, item in numbered_items]
        return table(columns, rows)

    def section_supporting_info(self) -> str:
        related = [
            f"- {incident.reference} ({utc(incident.started_at):%Y-%m-%d}): {incident.title}"
            + (f" ({' '.join(link.note.split())})" if link.note else "")
            for incident, link in self.incident.linked_incidents()
        ]
        parts = [self.postmortem.supporting_info]
        if related:
            parts.append("**Related Incidents**:\n" + "\n".join(related))
        return "\n\n".join(p for p in parts if p)

    def section_follow_ups(self) -> str:
        lines: list[str] = []
        for follow_up in self.postmortem.follow_ups.all():
            mark = "x" if follow_up.completed_at else " "
            lines.append(f"- [{mark}] {follow_up.due_on:%Y-%m-%d}: {follow_up.title}")
            if follow_up.notes:
                lines.append(indent(follow_up.notes, 2, first=True))
        return "\n".join(lines)

    def section_additional_sections(self) -> str:
        return ""

    # The seeds' closing "Sign-off" block, from the review record.

    def sign_off(self) -> str:
        pm = self.postmortem
        events = list(pm.review_events.all())
        sent = [e for e in events if e.kind == "status" and e.to_status == "in_review"]
        authors = ", ".join(sorted(display_name(u) for u in pm.authors.all())) or "—"
        lines = [
            f"- [x] Author: {authors} - {day(sent[-1].at)}" if sent else f"- [ ] Author: {authors}"
        ]
        for review in pm.review_requests.all():
            role, name = ROLE_NAMES[review.role], display_name(review.reviewer)
            if review.decision == "approved":
                lines.append(f"- [x] {role}: {name} - {day(review.decided_at)}")
            elif review.decision == "changes_requested":
                note = " ".join(review.note.split())
                lines.append(
                    f"- [ ] {role}: {name} - changes requested {day(review.decided_at)}: {note}"
                )
            else:
                lines.append(f"- [ ] {role}: {name} - pending")
        status_line = f"**Status**: {pm.get_status_display()}"
        changes = [e for e in events if e.kind == "status" and e.to_status == pm.status]
        if changes:
            status_line += f" ({day(changes[-1].at)})"
        facts = [status_line]
        if pm.review_meeting_at:
            facts.append(f"**Review Meeting**: {utc(pm.review_meeting_at):%Y-%m-%d %H:%M} UTC")
        if pm.next_review_on:
            facts.append(
                f"**Next Review**: {pm.next_review_on:%Y-%m-%d} - Check action item progress"
            )
        return "\n".join(lines) + "\n\n" + "  \n".join(facts)


def bullets(pairs: Iterable[tuple[str, object]]) -> str:
    """`- **Label**: value` lines, skipping unknown values."""
    return "\n".join(f"- **{label}**: {value}" for label, value in pairs if value not in (None, ""))


def indent(text: str | None, spaces: int, first: bool = False) -> str:
    """Continuation lines of a list item, indented under it."""
    pad = " " * spaces
    lines = (text or "").split("\n")
    head = [pad + lines[0] if first and lines[0] else lines[0]]
    return "\n".join(head + [pad + line if line.strip() else "" for line in lines[1:]])
