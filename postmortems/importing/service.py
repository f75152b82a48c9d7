"""Write a parsed postmortem into the app, in one transaction, after showing what goes where.

`plan_import` reads the text and matches what it names to this team (owners and authors to
accounts, services, a possible duplicate); the preview shows the plan. `write_import` writes
it, and every section gets an "imported" revision so its history starts from the document.
Nothing the parser read is dropped here: a name that matches no account stays as text (a
free-text owner, a line in "Details" or "Sign-off notes").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import FieldDoesNotExist
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from incidents.models import (
    Incident,
    IncidentLink,
    IncidentService,
    IncidentTag,
    Service,
    Team,
    TimelineEvent,
    normalize_tag,
)

from ..editing import EDITABLE_SECTIONS, ROW_SECTIONS, FieldSection
from ..layouts import LAYOUTS, SECTIONS, Layout
from ..limits import TextTooLong
from ..models import (
    AdditionalSection,
    ContributingFactor,
    FiveWhy,
    FollowUp,
    Postmortem,
    ReviewEvent,
    ReviewRequest,
    Revision,
)
from ..services import sync_section_versions
from ..templatetags.studio import display_name
from .parser import DETAILS, ParsedDocument, SignOffRow, guess_kind, parse_document
from .vocabulary import normalize

MAX_IMPORT_BYTES = 2 * 1024 * 1024


class ImportRefused(ValueError):
    """Input this importer will not write; the message says why."""


@dataclass
class PersonMatch:
    written: str
    user: User | None
    reason: str = ""  # why it matched no account


@dataclass
class ImportPlan:
    document: ParsedDocument
    team: Team
    template: str
    people: dict[str, PersonMatch] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    duplicate_of: Incident | None = None

    @property
    def layout(self) -> Layout:
        return LAYOUTS[self.template]

    @property
    def template_label(self) -> str:
        return str(Postmortem.Template(self.template).label)

    def person(self, written: str) -> PersonMatch:
        return self.people[written]

    def rows(self) -> list[tuple[str, str, int]]:
        """(section title, what landed, how many) for the preview."""
        document = self.document
        out: list[tuple[str, str, int]] = []
        for key, section in SECTIONS.items():
            if key == "additional_sections":
                continue  # listed one by one
            count = document.count(key)
            fields = [name for name in section.fields if document.texts.get(name)]
            if key == "impact":
                fields += [n for n in document.impact_numbers]
            if key == "detection":
                fields += list(document.detection)
            if count or fields:
                what = f"{count} rows" if count else ", ".join(_field_label(f) for f in fields)
                out.append((section.title, what, count or len(fields)))
        if document.services:
            out.append(("Services affected", f"{len(document.services)} services", 0))
        if document.sign_off:
            out.append(("Sign-off", f"{len(document.sign_off)} sign-offs", 0))
        return out


IMPACT_LABELS = {
    "count": "users affected",
    "scope": "scope",
    "customer complaints": "support tickets",
    "revenue lost": "revenue lost",
    "availability slo": "SLO target",
}


def _field_label(name: str) -> str:
    if name in IMPACT_LABELS:
        return IMPACT_LABELS[name]
    try:
        field = Postmortem._meta.get_field(name)
    except FieldDoesNotExist:  # a detection detail ("method", "alert")
        return {"method": "how detected", "alert": "alert name"}.get(name, name)
    return str(getattr(field, "verbose_name", name))


def read_upload(upload: UploadedFile[bytes]) -> str:
    """The text of an uploaded file; refused when too big, binary or not UTF-8-ish. The size
    an upload announces may be unknown (None): then what is read decides."""
    size = upload.size
    if size is not None and size > MAX_IMPORT_BYTES:
        raise ImportRefused(
            f"The file is {size / 1024 / 1024:.1f} MB; import at most "
            f"{MAX_IMPORT_BYTES // 1024 // 1024} MB of Markdown."
        )
    raw = upload.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        raise ImportRefused(f"Import at most {MAX_IMPORT_BYTES // 1024 // 1024} MB of Markdown.")
    return decode(raw)


def decode(raw: bytes) -> str:
    if b"\x00" in raw[:8000]:
        raise ImportRefused("This is not a text file (it looks like a binary file).")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def plan_import(text: str, *, team: Team, template: str = "", zone: str = "UTC") -> ImportPlan:
    if len(text.encode("utf-8", "replace")) > MAX_IMPORT_BYTES:
        raise ImportRefused(f"Import at most {MAX_IMPORT_BYTES // 1024 // 1024} MB of Markdown.")
    from .parser import NotMarkdown
    from .times import TimeRefused

    try:
        document = parse_document(text, zone=zone or "UTC")
    except (NotMarkdown, TimeRefused) as refused:
        raise ImportRefused(str(refused)) from None
    if not _looks_like_a_postmortem(document):
        raise ImportRefused(
            "This does not look like a postmortem: no heading, timeline, action item or "
            "section this importer knows was found. Import a Markdown document with headings "
            "such as Summary, Timeline, Root Cause, Action Items."
        )
    plan = ImportPlan(document, team, template if template in LAYOUTS else document.template)
    members = list(
        get_user_model()
        .objects.filter(memberships__team=team, is_active=True)
        .order_by("pk")
        .distinct()
    )
    names = [row.owner for row in document.action_items if row.owner]
    for fact in ("authors", "reviewers", "commander"):
        if fact in document.facts:
            names += _names(document.facts[fact].value)
    names += [name for row in document.sign_off for name in _names(row.names)]
    for name in names:
        if name not in plan.people:
            plan.people[name] = match_person(name, members)
    plan.warnings = [str(problem) for problem in document.problems]
    for name, match in plan.people.items():
        if match.user is None and name in {row.owner for row in document.action_items}:
            plan.warnings.append(f'Owner "{name}" {match.reason}: kept as the owner\'s name.')
    if document.external_id:
        plan.duplicate_of = (
            Incident.objects.filter(team=team)
            .filter(Q(external_id=document.external_id) | Q(pk__in=_by_reference(document)))
            .first()
        )
        if plan.duplicate_of:
            plan.warnings.append(
                f"Possibly a duplicate of {plan.duplicate_of.reference} "
                f"({plan.duplicate_of.title}): same incident id {document.external_id}."
            )
    if document.started_at is None:
        plan.warnings.append(
            "No start time in the header: the incident starts at "
            f"{_start_of(document):%Y-%m-%d %H:%M} UTC (its first timeline event or its date)."
        )
    if not document.severity:
        plan.warnings.append("No severity in the header: SEV2 is used.")
    return plan


def _by_reference(document: ParsedDocument) -> QuerySet[Incident, Any]:
    return Incident.objects.with_reference(document.external_id).values("pk")


def _looks_like_a_postmortem(document: ParsedDocument) -> bool:
    return bool(
        document.texts
        or document.events
        or document.action_items
        or document.whys
        or document.factors
        or any(p.target not in ("group", "additional") for p in document.placed)
    )


def _names(value: str) -> list[str]:
    from .parser import NOTHING

    cleaned = re.sub(r"[\[\]`]", "", value)
    names = [n.strip() for n in re.split(r",|;|\band\b|&", cleaned) if n.strip()]
    return [name for name in names if name.lower() not in NOTHING]


def match_person(written: str, people: list[User]) -> PersonMatch:
    """An account for a name as documents write it: "jane", "@jane", "Jane Park",
    "Lisa (QA)", "Dev (Mike)". A first name two teammates share matches nobody."""
    text = written.strip().lstrip("@")
    inside = re.findall(r"\(([^()]+)\)", text)
    outside = re.sub(r"\([^()]*\)", "", text).strip()
    candidates = [c.strip().lower() for c in [text, outside, *inside] if c.strip()]
    for candidate in candidates:
        exact = [
            p
            for p in people
            if candidate in (p.get_username().lower(), p.get_full_name().lower(), p.email.lower())
        ]
        if len(exact) == 1:
            return PersonMatch(written, exact[0])
    for candidate in candidates:
        first = [p for p in people if p.first_name and p.first_name.lower() == candidate]
        if len(first) == 1:
            return PersonMatch(written, first[0])
        if len(first) > 1:
            names = ", ".join(display_name(p) for p in first)
            return PersonMatch(written, None, f"could be {names}")
    return PersonMatch(written, None, "has no account in this team")


def _start_of(document: ParsedDocument) -> datetime:
    if document.started_at:
        return document.started_at
    if document.events:
        return min(event.occurred_at for event in document.events)
    if document.day:
        return datetime.combine(document.day, time.min, tzinfo=UTC)
    return timezone.now().replace(second=0, microsecond=0)


# Writing.


def write_import(plan: ImportPlan, *, by: User | None) -> Incident:
    """Everything in one transaction: the incident, its postmortem, every row."""
    document = plan.document
    try:
        return _write(plan, document, by)
    except TextTooLong as too_long:  # refused whole: an import is one transaction
        raise ImportRefused(f"Some text is too long to keep: {too_long}.") from None


def _write(plan: ImportPlan, document: ParsedDocument, by: User | None) -> Incident:
    with transaction.atomic():
        incident = _incident(plan, by)
        postmortem = _postmortem(plan, incident, by)
        unmatched = _sign_off(plan, postmortem, by)
        if unmatched:
            _add_note(document, "Sign-off notes", "sign_off", unmatched)
        _rows(plan, incident, postmortem, by)
        _links(plan, incident, postmortem)
        _record_revisions(incident, by)
    return Incident.objects.get(pk=incident.pk)


def _add_note(document: ParsedDocument, title: str, after: str, lines: list[str]) -> None:
    """Lines to keep as text, joined to the notes section of that title if there is one."""
    from .parser import AdditionalRow

    for row in document.additional:
        if row.title == title and row.after == after:
            row.body = "\n".join([*lines, "", row.body]).strip()
            return
    document.additional.append(AdditionalRow(0, title, "\n".join(lines), after))


def _incident(plan: ImportPlan, by: User | None) -> Incident:
    document = plan.document
    start = _start_of(document)
    times = {
        name: getattr(document, name)
        for name in ("detected_at", "acknowledged_at", "mitigated_at", "resolved_at")
    }
    times["all_clear_at"] = document.all_clear_at
    for name, moment in list(times.items()):
        if moment is not None and moment < start:
            plan.warnings.append(f"{name.replace('_', ' ')} was before the start: left out.")
            times[name] = None
    status = document.status or (
        Incident.Status.RESOLVED if times["resolved_at"] else Incident.Status.INVESTIGATING
    )
    commander = None
    if "commander" in document.facts:
        names = _names(document.facts["commander"].value)
        commander = plan.people[names[0]].user if names else None
    incident = Incident(
        title=document.title[:200],
        severity=document.severity or Incident.Severity.SEV2,
        status=status,
        team=plan.team,
        commander=commander,
        started_at=start,
        external_id=document.external_id[:100],
        created_by=by,
        **times,
    )
    incident.save()
    return incident


def _postmortem(plan: ImportPlan, incident: Incident, by: User | None) -> Postmortem:
    document = plan.document
    texts = {name: value for name, value in document.texts.items()}
    numbers: dict[str, Any] = document.impact_numbers
    detection = document.detection
    method = next(
        (
            value
            for value, label in Postmortem.DetectionMethod.choices
            if label.lower() == detection.get("method", "").lower()
        ),
        "",
    )
    if detection.get("method") and not method:
        texts["detection_notes"] = (
            f"**How Detected**: {detection['method']}\n\n" + texts.get("detection_notes", "")
        ).strip()
    postmortem = Postmortem.objects.create(
        incident=incident,
        template=plan.template,
        users_affected=numbers.get("count"),
        user_scope=str(numbers.get("scope", ""))[:200],
        support_tickets=numbers.get("customer complaints"),
        revenue_impact=numbers.get("revenue lost"),
        slo_target=_slo(numbers.get("availability slo")),
        detection_method=method,
        alert_name=detection.get("alert", "")[:200],
        review_meeting_at=document.review_meeting_at,
        next_review_on=document.next_review_on,
        **texts,
    )
    if document.written_on:
        written = datetime.combine(document.written_on, time(12), tzinfo=UTC)
        Postmortem.objects.filter(pk=postmortem.pk).update(created_at=written)
    # The authors the document names; whoever imports it when it names nobody with an account.
    named = _names(document.facts["authors"].value) if "authors" in document.facts else []
    authors = [user for name in named if (user := plan.people[name].user) is not None]
    if not authors and by is not None:
        authors = [by]
    unmatched = [
        plan.people[name].written
        for fact in ("authors", "reviewers", "commander")
        if fact in document.facts
        for name in _names(document.facts[fact].value)
        if plan.people[name].user is None
    ]
    if unmatched:
        lines = [
            document.facts[fact].raw
            for fact in ("authors", "reviewers", "commander")
            if fact in document.facts
            and any(plan.people[n].user is None for n in _names(document.facts[fact].value))
        ]
        _add_note(document, DETAILS, "", lines)
    if "review_status" in document.facts and not document.sign_off:
        fact = document.facts["review_status"]
        _add_note(document, DETAILS, "sign_off", [fact.raw])
    postmortem.authors.set(authors)
    return postmortem


def _slo(value: Decimal | float | str | None) -> Decimal | None:
    if value is None:
        return None
    target = Decimal(value)
    return target if Decimal("0.001") <= target <= Decimal("99.999") else None


def _rows(plan: ImportPlan, incident: Incident, postmortem: Postmortem, by: User | None) -> None:
    document = plan.document
    services = {s.name.lower(): s for s in plan.team.services.all()}
    impacts = []
    for row in document.services:
        service = services.get(row.name.lower())
        if service is None:
            service = Service.objects.create(team=plan.team, name=row.name[:100])
            services[row.name.lower()] = service
        impacts.append(
            IncidentService(
                incident=incident, service=service, impact=row.impact, note=row.note[:200]
            )
        )
    IncidentService.objects.bulk_create(impacts)
    for name in dict.fromkeys(normalize_tag(tag) for tag in document.tags):
        if name:
            IncidentTag.objects.get_or_create(incident=incident, name=name[:50])
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            incident=incident,
            occurred_at=event.occurred_at,
            description=event.description,
            actor=event.actor[:100],
            action_taken=event.action_taken[:300],
            notes=event.notes,
            kind=event.kind or guess_kind(event.description),
            is_key_decision=event.is_key_decision,
            position=position,
            created_by=by,
        )
        for position, event in enumerate(document.events)
    )
    FiveWhy.objects.bulk_create(
        FiveWhy(postmortem=postmortem, position=n, question=row.question[:500], answer=row.answer)
        for n, row in enumerate(document.whys)
    )
    ContributingFactor.objects.bulk_create(
        ContributingFactor(
            postmortem=postmortem, position=n, category=row.category, description=row.description
        )
        for n, row in enumerate(document.factors)
    )
    FollowUp.objects.bulk_create(
        FollowUp(
            postmortem=postmortem,
            due_on=row.due_on,
            title=row.title[:200],
            notes=row.notes,
            completed_at=datetime.combine(row.due_on, time(12), tzinfo=UTC) if row.done else None,
        )
        for row in document.follow_ups
    )
    items = ROW_SECTIONS["action_items"].model
    bulk = []
    for position, item in enumerate(document.action_items):
        owner = plan.people[item.owner].user if item.owner else None
        values = {
            "postmortem": postmortem,
            "title": item.title[:300],
            "description": item.description,
            "owner": owner,
            "owner_name": "" if owner is not None else item.owner[:200],
            "due_date": item.due_date,
            "status": item.status,
            "tracker_url": item.tracker_url[:500],
            "position": position,
            "completed_at": timezone.now() if item.status in ("done", "wont_do") else None,
        }
        for name in ("priority", "category", "term"):
            if getattr(item, name):
                values[name] = getattr(item, name)
        if not item.category:
            values["category"] = guess_item_category(item.title)
        bulk.append(items(**values))
    items._default_manager.bulk_create(bulk)
    AdditionalSection.objects.bulk_create(
        AdditionalSection(
            postmortem=postmortem,
            title=row.title[:200] or "Untitled",
            body=row.body,
            after=row.after[:40],
            position=n,
        )
        for n, row in enumerate(document.additional)
    )


ITEM_CATEGORY_WORDS = {
    "detect": ("alert", "monitor", "dashboard", "metric", "detect", "observab", "logging"),
    "respond": ("runbook", "escalat", "on-call", "on call", "training", "communicat", "playbook"),
    "recover": ("circuit breaker", "rollback", "roll back", "backup", "restore", "failover",
                "recover", "graceful"),
}  # fmt: skip


RELATED_BLOCK = re.compile(r"(?:\n\n|^)\*\*Related Incidents\*\*:\n((?:- [^\n]*(?:\n|$))+)\s*$")
RELATED_LINE = re.compile(r"^- (INC-\d{4}-\d{4,}) \((\d{4}-\d{2}-\d{2})\): (.*)$")


def _links(plan: ImportPlan, incident: Incident, postmortem: Postmortem) -> None:
    """The export's "Related Incidents" list becomes links again, for incidents of this team
    that it names exactly (reference, date and title); other lines stay text."""
    text = postmortem.supporting_info
    block = RELATED_BLOCK.search(text)
    if not block:
        return
    kept = []
    for line in block[1].strip("\n").split("\n"):
        match = RELATED_LINE.match(line)
        other = (
            Incident.objects.filter(team=plan.team)
            .with_reference(match[1])
            .exclude(pk=incident.pk)
            .first()
            if match
            else None
        )
        rest = match[3] if match else ""
        note = rest[len(other.title) :].strip() if other and rest.startswith(other.title) else None
        same_day = (
            other is not None
            and match is not None
            and f"{other.started_at.astimezone(UTC):%Y-%m-%d}" == match[2]
        )
        if note is None or not same_day or (note and not (note[0] == "(" and note[-1] == ")")):
            kept.append(line)
            continue
        IncidentLink.objects.get_or_create(
            incident=incident, related=other, defaults={"note": note[1:-1][:200]}
        )
    rest_of_text = text[: block.start()]
    if kept:
        rest_of_text += "\n\n**Related Incidents**:\n" + "\n".join(kept)
    Postmortem.objects.filter(pk=postmortem.pk).update(supporting_info=rest_of_text.strip("\n"))
    postmortem.supporting_info = rest_of_text.strip("\n")


def guess_item_category(title: str) -> str:
    value = title.lower()
    for category, words in ITEM_CATEGORY_WORDS.items():
        if any(word in value for word in words):
            return category
    return "prevent"


def _sign_off(plan: ImportPlan, postmortem: Postmortem, by: User | None) -> list[str]:
    """The document's sign-off block becomes the review record, with the dates it carries.
    Returns the sign-off lines naming nobody with an account, to keep as text."""
    document = plan.document
    team = plan.team
    unmatched: list[str] = []
    history: list[tuple[datetime, ReviewEvent]] = []
    requests: list[ReviewRequest] = []
    for row in document.sign_off:
        people = [plan.people[name] for name in _names(row.names)]
        when = _noon(row.decided_on) if row.decided_on else None
        if row.role == "author":
            named = {plan.people[name].user for name in _names(row.names)}
            if None in named or not named or (row.decision == "approved" and not when):
                unmatched.append(_sign_off_line(row))
                continue
            if row.decision == "approved" and when:
                history.append(
                    (
                        when,
                        ReviewEvent(
                            postmortem=postmortem,
                            kind=ReviewEvent.Kind.STATUS,
                            actor=by,
                            from_status="draft",
                            to_status="in_review",
                            note="Imported.",
                        ),
                    )
                )
            continue
        for person in people:
            user = person.user
            role = row.role
            if user is None or (role == "manager" and not team.is_manager(user)):
                unmatched.append(_sign_off_line(row))
                break
            if any(r.reviewer_id == user.pk for r in requests):
                continue
            decided = when if row.decision != "pending" else None
            request = ReviewRequest(
                postmortem=postmortem,
                reviewer=user,
                role=role,
                requested_by=by,
                decision=row.decision if decided else "pending",
                note=row.note,
                decided_at=decided,
            )
            requests.append(request)
            if decided:
                history.append(
                    (
                        decided,
                        ReviewEvent(
                            postmortem=postmortem,
                            kind=ReviewEvent.Kind.DECISION,
                            actor=user,
                            reviewer=user,
                            role=role,
                            decision=row.decision,
                            note=row.note or "Imported.",
                        ),
                    )
                )
    ReviewRequest.objects.bulk_create(requests)
    status = _review_status(document, requests, team)
    if status != postmortem.status:
        written = re.search(r"\((\d{4}-\d{2}-\d{2})\)", document.review_status or "")
        moment = (
            _noon(datetime.fromisoformat(written[1]).date())
            if written
            else max((when for when, _e in history), default=None) or timezone.now()
        )
        history.append(
            (
                moment + timedelta(seconds=1),
                ReviewEvent(
                    postmortem=postmortem,
                    kind=ReviewEvent.Kind.STATUS,
                    actor=by,
                    from_status=postmortem.status,
                    to_status=status,
                    note="Imported with its sign-off record.",
                ),
            )
        )
        Postmortem.objects.filter(pk=postmortem.pk).update(status=status)
        postmortem.status = status
    for when, event in sorted(history, key=lambda pair: pair[0]):
        event.save()
        ReviewEvent.objects.filter(pk=event.pk).update(at=when)
    if requests:
        ReviewRequest.objects.filter(postmortem=postmortem).update(
            requested_at=min(when for when, _e in history) if history else timezone.now()
        )
    return unmatched


def _sign_off_line(row: SignOffRow) -> str:
    mark = "x" if row.decision == "approved" else " "
    role = {"author": "Author", "engineering_lead": "Engineering Lead", "manager": "Manager"}
    when = f" - {row.decided_on:%Y-%m-%d}" if row.decided_on else ""
    return f"- [{mark}] {role.get(row.role, row.role)}: {row.names}{when}"


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def _review_status(document: ParsedDocument, requests: list[ReviewRequest], team: Team) -> str:
    written = normalize(document.review_status).split(" ")[0] if document.review_status else ""
    statuses = {
        "draft": "draft",
        "in": "in_review",
        "approved": "approved",
        "published": "published",
    }
    if written in statuses:
        return statuses[written]
    approved = [r for r in requests if r.decision == "approved"]
    if (
        requests
        and len(approved) == len(requests)
        and any(r.role == "manager" and team.is_manager(r.reviewer) for r in approved)
    ):
        return "approved"
    return "draft"


def _record_revisions(incident: Incident, by: User | None) -> None:
    """Each section's history starts with the imported text."""
    incident = Incident.objects.get(pk=incident.pk)
    revisions: list[Revision] = []
    text: str
    data: dict[str, Any]
    for key, editable in EDITABLE_SECTIONS.items():
        if isinstance(editable, FieldSection):
            values = editable.values(editable.target(incident))
            if all(value in (None, "", []) for value in values.values()):
                continue
            text, data = editable.describe(values), editable.snapshot(values)
        else:
            rows = list(editable.rows(incident))
            if not rows:
                continue
            text, data = editable.describe(rows), editable.snapshot(rows)
        revisions.append(
            Revision(
                incident=incident,
                section=key,
                version=1,
                author=by,
                old_text="",
                new_text=text,
                data=data,
                note="imported",
            )
        )
    Revision.objects.bulk_create(revisions)
    sync_section_versions(incident)  # the next save starts from these versions
