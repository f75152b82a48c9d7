"""A Slack channel into an incident's timeline: preview, then write, on a worker when large.

The records come from slack_import (pure); this module matches their authors to the team's
accounts (as the Markdown import does), leaves out messages already in the timeline, and
writes events through postmortems.services.add_rows, a chunk (one revision) at a time, so a
5,000-message channel shows its progress and never holds the document's lock for long.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from incidents.models import Incident
from postmortems import limits
from postmortems.importing.parser import guess_kind
from postmortems.importing.service import PersonMatch, match_person
from postmortems.importing.times import TimeRefused, zone_named
from postmortems.services import add_rows
from postmortems.templatetags.studio import display_name

from . import slack_import
from .models import SlackImportJob

SYNC_LIMIT = 300  # more messages than this import on a worker, with a progress bar
CHUNK = 500  # messages per write (and per revision)
PREVIEW_ROWS = 200


class SlackRefused(ValueError):
    """What cannot be imported, with the reason."""


@dataclass
class SlackPreview:
    records: list[slack_import.SlackRecord]
    people: dict[str, PersonMatch]
    duplicates: int
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def shown(self) -> list[slack_import.SlackRecord]:
        return self.records[:PREVIEW_ROWS]

    @property
    def with_problems(self) -> int:
        return sum(1 for record in self.records if record.problems)


def read(source: bytes, *, day: date | None, zone: str, channel: str) -> slack_import.SlackImport:
    try:
        tz = zone_named(zone or "UTC")
        return slack_import.parse(source, day=day, tz=tz, channel=channel or None)
    except (slack_import.SlackImportError, TimeRefused) as refused:
        raise SlackRefused(str(refused)) from None


def preview(
    incident: Incident, source: bytes, *, day: date | None, zone: str, channel: str
) -> SlackPreview:
    parsed = read(source, day=day, zone=zone, channel=channel)
    new, duplicates = _new_records(incident, parsed.records)
    if not parsed.records:
        raise SlackRefused("No messages were found in it.")
    return SlackPreview(new, _people(incident, new), duplicates, parsed.problems)


def _new_records(
    incident: Incident, records: list[slack_import.SlackRecord]
) -> tuple[list[slack_import.SlackRecord], int]:
    """The records not in the timeline yet (same minute, same text)."""
    existing = {
        (at.replace(second=0, microsecond=0), text)
        for at, text in incident.timeline_events.values_list("occurred_at", "description")
    }
    new = [
        record
        for record in records
        if (record.occurred_at.replace(second=0, microsecond=0), record.text) not in existing
    ]
    return new, len(records) - len(new)


def _people(incident: Incident, records: list[slack_import.SlackRecord]) -> dict[str, PersonMatch]:
    members = list(
        get_user_model().objects.filter(memberships__team=incident.team_id, is_active=True)
    )
    people: dict[str, PersonMatch] = {}
    for key, (name, handle, email) in slack_import.authors(records).items():
        match = PersonMatch(name, None, "has no account in this team")
        for written in (email, handle, name):
            if written:
                match = match_person(written, members)
                if match.user is not None:
                    break
        people[key] = PersonMatch(name, match.user, match.reason)
    return people


def propose(
    incident: Incident, source: bytes, *, day: date | None, zone: str, channel: str, by: Any
) -> tuple[SlackImportJob, SlackPreview]:
    """Read the upload and keep it until the user confirms (the preview shows what comes)."""
    found = preview(incident, source, day=day, zone=zone, channel=channel)
    job = SlackImportJob.objects.create(
        incident=incident, created_by=by, source=source, day=day, zone=zone or "UTC",
        channel=channel, total=len(found.records), skipped=found.duplicates,
    )  # fmt: skip
    return job, found


def start(job: SlackImportJob) -> SlackImportJob:
    """The confirmed import: written now when small, on a worker with progress when large."""
    from .tasks import import_slack

    updated = SlackImportJob.objects.filter(pk=job.pk, status=SlackImportJob.Status.PREVIEW).update(
        status=SlackImportJob.Status.QUEUED
    )
    if updated and job.total <= SYNC_LIMIT:
        run(job.pk)
    elif updated:
        transaction.on_commit(lambda: import_slack.delay(job.pk))
    job.refresh_from_db()
    return job


def run(job_id: int) -> SlackImportJob:
    """Write the import's events a chunk at a time, counting as it goes; safe to run again
    (what is already in the timeline is skipped)."""
    job = SlackImportJob.objects.select_related("incident__team", "created_by").get(pk=job_id)
    if job.finished or job.status == SlackImportJob.Status.PREVIEW:
        return job
    incident = job.incident
    try:
        parsed = read(bytes(job.source), day=job.day, zone=job.zone, channel=job.channel)
    except SlackRefused as refused:
        return _finish(job, SlackImportJob.Status.FAILED, error=str(refused))
    records, skipped = _new_records(incident, parsed.records)
    people = _people(incident, records)
    SlackImportJob.objects.filter(pk=job.pk).update(
        status=SlackImportJob.Status.RUNNING, total=len(records), skipped=skipped, done=0
    )
    for start_at in range(0, len(records), CHUNK):
        chunk = records[start_at : start_at + CHUNK]
        add_rows(incident, "timeline", [_event(record, people) for record in chunk], job.created_by)
        SlackImportJob.objects.filter(pk=job.pk).update(done=start_at + len(chunk))
    return _finish(job, SlackImportJob.Status.DONE)


def _event(record: slack_import.SlackRecord, people: dict[str, PersonMatch]) -> dict[str, Any]:
    person = people.get(record.user_id or record.author)
    actor = display_name(person.user) if person and person.user else record.author
    problems = list(record.problems)
    text = record.text
    if len(text) > limits.ROW_TEXT:  # Slack allows 40,000 characters in a message
        text = text[: limits.ROW_TEXT - 1] + "…"
        problems.append(f"message cut to {limits.ROW_TEXT:,} characters")
    return {
        "occurred_at": record.occurred_at,
        "description": text,
        "actor": actor[:100],
        "kind": guess_kind(text),
        "notes": "; ".join(problems)[: limits.ROW_TEXT],
    }


def _finish(job: SlackImportJob, status: str, error: str = "") -> SlackImportJob:
    SlackImportJob.objects.filter(pk=job.pk).update(
        status=status, error=error, finished_at=timezone.now(), source=b""
    )
    job.refresh_from_db()
    return job


def first_day(incident: Incident) -> date:
    moment: datetime = incident.started_at
    return moment.date()
