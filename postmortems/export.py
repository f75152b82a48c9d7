"""Export a postmortem as Markdown in the shape of its template (../shared/seeds/).

Plain Python rather than a Django template: Markdown is whitespace-sensitive and tables must
be escaped cell by cell, which template tags make hard to read.
"""

from datetime import UTC

from django.utils import timezone

from postmortems.templatetags.studio import display_name, duration, md_cell

NOT_WRITTEN = "_Not written yet._"

STATUS_MARKS = {
    "open": "📅 Open",
    "in_progress": "⏳ In progress",
    "blocked": "⛔ Blocked",
    "done": "✅ Done",
    "wont_do": "🚫 Won't do",
}


def export_filename(postmortem):
    return f"{postmortem.incident.reference}-postmortem.md"


def export_markdown(postmortem):
    return MarkdownExport(postmortem).render()


def table(header, rows):
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("-" * (len(h) + 2) for h in header) + "|",
    ]
    lines += ["| " + " | ".join(md_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def bullet_fields(pairs):
    """`- **Label**: value` lines, skipping unknown values."""
    return "\n".join(f"- **{label}**: {value}" for label, value in pairs if value not in (None, ""))


def utc(moment):
    return moment.astimezone(UTC) if moment else None


def day(moment):
    return f"{utc(moment):%Y-%m-%d}"


class MarkdownExport:
    def __init__(self, postmortem):
        self.postmortem = postmortem
        self.incident = postmortem.incident
        self.layout = postmortem.layout

    def render(self):
        title = self.layout.document_title.format(title=self.incident.title)
        parts = [f"# {title}", self.header(), "---"]
        for group in self.layout.groups:
            keys = [p.key for p in group.placements]
            if keys == ["additional_sections"] and not self.postmortem.additional_sections.all():
                continue
            parts.append(f"## {group.title}")
            for placement in group.placements:
                if not group.is_single:
                    parts.append(f"### {placement.title}")
                parts.append(self.section(placement).strip() or NOT_WRITTEN)
            parts.append("---")
        parts += ["## Sign-off", self.sign_off(), "---"]
        if self.layout.closing:
            parts.append(self.layout.closing)
        return "\n\n".join(parts).strip() + "\n"

    # Header: the facts each seed template opens with.

    def header(self):
        incident, pm = self.incident, self.postmortem
        started, resolved = utc(incident.started_at), utc(incident.resolved)
        authors = ", ".join(display_name(u) for u in pm.authors.all()) or "—"
        common = [
            ("Incident ID", f"`{incident.reference}`"),
            ("Severity", incident.get_severity_display()),
            ("Status", incident.get_status_display()),
        ]
        if self.layout.key == "incident_report":
            fields = [
                ("Date", f"{started:%Y-%m-%d}"),
                ("Time Started", f"{started:%H:%M} UTC"),
                ("Time Resolved", f"{resolved:%H:%M} UTC" if resolved else "Ongoing"),
                ("Duration", duration(incident.duration) if resolved else "Ongoing"),
                *common,
                ("Report Created By", authors),
            ]
        elif self.layout.key == "incident_postmortem":
            span = f" ({started:%H:%M} UTC - {resolved:%H:%M} UTC)" if resolved else ""
            fields = [
                *common[:1],
                ("Date", f"{started:%Y-%m-%d}"),
                ("Duration", f"{duration(incident.duration)}{span}" if resolved else "Ongoing"),
                *common[1:],
                ("Services Affected", self.services_inline() or "—"),
                ("Authors", authors),
            ]
        else:
            reviewers = ", ".join(display_name(r.reviewer) for r in pm.review_requests.all())
            fields = [
                ("Date of Incident", f"{started:%Y-%m-%d}"),
                ("Date of Post-Mortem", f"{timezone.localdate(pm.created_at):%Y-%m-%d}"),
                ("Author", authors),
                ("Reviewers", reviewers or "—"),
                *common,
            ]
        return "\n".join(f"**{label}**: {value}  " for label, value in fields).rstrip()

    def services_inline(self):
        return ", ".join(
            f"{impact.service.name} ({impact.get_impact_display().lower()})"
            for impact in self.incident.service_impacts.all()
        )

    # Sections: a method for each section with a shape of its own; a section that is one
    # Markdown field is exported as written.

    def section(self, placement):
        shaped = getattr(self, f"section_{placement.key}", None)
        if shaped is not None:
            return shaped()
        (field,) = placement.section.fields
        return getattr(self.postmortem, field)

    def section_impact(self):
        pm, incident = self.postmortem, self.incident
        parts = []
        users = bullet_fields(
            [
                ("Scope", pm.user_scope),
                ("Count", f"~{pm.users_affected:,} users" if pm.users_affected else None),
                ("Duration", duration(incident.duration) if incident.duration else None),
            ]
        )
        if users:
            parts.append(f"**Users Affected**:\n{users}")
        services = [
            f"- {impact.service.name}: {impact.get_impact_display().lower()}"
            + (f" ({impact.note})" if impact.note else "")
            for impact in incident.service_impacts.all()
        ]
        if services:
            parts.append("**Services Affected**:\n" + "\n".join(services))
        business = bullet_fields(
            [
                ("Revenue Lost", f"${pm.revenue_impact:,.2f}" if pm.revenue_impact else None),
                ("SLA Breach", self.sla_breach_text()),
                (
                    "Customer Complaints",
                    f"{pm.support_tickets:,} support tickets"
                    if pm.support_tickets is not None
                    else None,
                ),
            ]
        )
        if business:
            parts.append(f"**Business Impact**:\n{business}")
        if pm.impact_summary:
            parts.append(pm.impact_summary)
        return "\n\n".join(parts)

    def sla_breach_text(self):
        pm = self.postmortem
        budget = pm.error_budget_minutes
        if budget is None or pm.sla_breached is None:
            return None
        downtime = duration(pm.downtime)
        comparison = ">" if pm.sla_breached else "<"
        return (
            f"{'Yes' if pm.sla_breached else 'No'} ({downtime} {comparison} {budget:.1f} min "
            f"monthly budget for {pm.slo_target.normalize()}%)"
        )

    def section_timeline(self):
        columns = self.layout.timeline_columns
        bold_decisions = self.layout.key == "incident_postmortem"
        start_day = utc(self.incident.started_at).date()
        rows = []
        for event in self.incident.timeline_events.all():
            at = utc(event.occurred_at)
            time = f"{at:%H:%M}" if at.date() == start_day else f"{at:%Y-%m-%d %H:%M}"
            description = event.description
            if bold_decisions and event.is_key_decision:
                description = f"**{description}**"
            if len(columns) == 4:
                rows.append([time, description, event.action_taken, event.actor])
            else:
                rows.append([time, description, event.actor])
        if not rows:
            return ""
        body = table(columns, rows)
        if self.layout.key == "full" and self.incident.duration is not None:
            body += f"\n\n**Total Duration**: {duration(self.incident.duration)}"
        return body

    def section_root_cause(self):
        pm = self.postmortem
        parts = [pm.root_cause]
        if pm.trigger:
            parts.append(f"**What triggered it**: {pm.trigger}")
        return "\n\n".join(p for p in parts if p)

    def section_five_whys(self):
        return "\n\n".join(
            f"**{n}. {row.question}**\n→ {row.answer}"
            for n, row in enumerate(self.postmortem.five_whys.all(), start=1)
        )

    def section_contributing_factors(self):
        by_category = {}
        for factor in self.postmortem.contributing_factors.all():
            by_category.setdefault(factor.get_category_display(), []).append(factor.description)
        return "\n\n".join(
            f"**{category} Factors**:\n"
            + "\n".join(f"{n}. {text}" for n, text in enumerate(texts, start=1))
            for category, texts in by_category.items()
        )

    def section_detection(self):
        pm = self.postmortem
        parts = []
        if pm.detection_method:
            parts.append(f"**How Detected**: {pm.get_detection_method_display()}")
        if pm.alert_name:
            parts.append(f'**Alert**: "{pm.alert_name}"')
        if pm.detection_notes:
            parts.append(pm.detection_notes)
        return "\n\n".join(parts)

    def section_response(self):
        metrics = "\n".join(
            f"- **{label}**: {duration(value)} ({how})"
            for label, value, how in self.incident.response_metrics()
        )
        parts = [f"**Response Timeline**:\n{metrics}", self.postmortem.response_notes]
        return "\n\n".join(p for p in parts if p)

    def section_resolution(self):
        pm = self.postmortem
        parts = []
        if pm.resolution_short_term:
            parts.append(f"**Short-term**:\n\n{pm.resolution_short_term}")
        if pm.resolution_long_term:
            parts.append(f"**Long-term**:\n\n{pm.resolution_long_term}")
        return "\n\n".join(parts)

    def section_action_items(self):
        items = list(self.postmortem.action_items.all())
        if not items:
            return ""
        numbered = list(enumerate(items, start=1))
        if not self.layout.action_items_by_term:
            return self.action_item_table(numbered)
        by_term = {}
        for n, item in numbered:
            by_term.setdefault(item.get_term_display(), []).append((n, item))
        return "\n\n".join(
            f"**{term.capitalize()}:**\n\n{self.action_item_table(rows)}"
            for term, rows in sorted(by_term.items(), key=lambda kv: kv[1][0][0])
        )

    def action_item_table(self, numbered_items):
        values = {
            "#": lambda n, item: n,
            "ID": lambda n, item: n,
            "Action": lambda n, item: item.title,
            "Priority": lambda n, item: item.priority,
            "Owner": lambda n, item: display_name(item.owner) or "Unassigned",
            "Due Date": lambda n, item: f"{item.due_date:%Y-%m-%d}" if item.due_date else "—",
            "Status": lambda n, item: STATUS_MARKS[item.status],
        }
        columns = self.layout.action_item_columns
        rows = [[values[c](n, item) for c in columns] for n, item in numbered_items]
        return table(columns, rows)

    def section_supporting_info(self):
        related = [
            f"- {incident.reference} ({utc(incident.started_at):%Y-%m-%d}): {incident.title}"
            + (f" ({' '.join(link.note.split())})" if link.note else "")
            for incident, link in self.incident.linked_incidents()
        ]
        parts = [self.postmortem.supporting_info]
        if related:
            parts.append("**Related Incidents**:\n" + "\n".join(related))
        return "\n\n".join(p for p in parts if p)

    def section_additional_sections(self):
        return "\n\n".join(
            f"### {row.title}\n\n{row.body}".strip()
            for row in self.postmortem.additional_sections.all()
        )

    def section_follow_ups(self):
        lines = []
        for follow_up in self.postmortem.follow_ups.all():
            mark = "x" if follow_up.completed_at else " "
            line = f"- [{mark}] {follow_up.due_on:%Y-%m-%d}: {follow_up.title}"
            if follow_up.notes:
                line += f": {' '.join(follow_up.notes.split())}"
            lines.append(line)
        return "\n".join(lines)

    # The seeds' closing "Sign-off" block, from the review record.

    def sign_off(self):
        pm = self.postmortem
        events = list(pm.review_events.all())
        sent = [e for e in events if e.kind == "status" and e.to_status == "in_review"]
        authors = ", ".join(display_name(u) for u in pm.authors.all()) or "—"
        lines = [
            f"- [x] Author: {authors} - {day(sent[-1].at)}" if sent else f"- [ ] Author: {authors}"
        ]
        for review in pm.review_requests.all():
            role, name = review.get_role_display(), display_name(review.reviewer)
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
