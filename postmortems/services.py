"""The rules of the document: versioned saves, revisions, presence, comments."""

import re
from datetime import UTC, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, Prefetch, Q
from django.http import Http404
from django.utils import timezone

from incidents.models import Incident, TimelineEvent
from incidents.services import get_incident_for
from incidents.timeline_paste import parse_timeline

from .editing import FIELD_SECTIONS, ROW_SECTIONS
from .models import (
    Comment,
    Mention,
    Postmortem,
    Presence,
    ReviewEvent,
    ReviewRequest,
    Revision,
)
from .signals import comment_posted, send_on_commit


def incidents_with_documents():
    """Everything the document page and the export read, in a fixed number of queries."""
    return Incident.objects.select_related("team", "commander", "postmortem").prefetch_related(
        "timeline_events",
        "service_impacts__service",
        "postmortem__authors",
        "postmortem__five_whys",
        "postmortem__contributing_factors",
        "postmortem__action_items__owner",
        "postmortem__follow_ups",
        "postmortem__additional_sections",
        "tags",
        "links_out__related",
        "links_in__incident",
        Prefetch(
            "postmortem__review_requests",
            queryset=ReviewRequest.objects.select_related("reviewer"),
        ),
        Prefetch(
            "postmortem__review_events",
            queryset=ReviewEvent.objects.select_related("actor", "reviewer"),
        ),
    )


def get_document_for(user, reference, edit=False):
    """The incident (with its postmortem and every section prefetched) if the user may see it,
    or with edit=True change it."""
    return get_incident_for(user, reference, incidents_with_documents(), edit=edit)


def get_postmortem_for(user, reference):
    """The postmortem of a visible incident, with its whole document prefetched; 404 if none."""
    incident = get_document_for(user, reference)
    try:
        return incident.postmortem
    except Postmortem.DoesNotExist:
        raise Http404("This incident has no postmortem yet.") from None


def start_postmortem(incident, template, by):
    """Open the postmortem of an incident, with whoever starts it as its first author."""
    postmortem, _created = Postmortem.objects.get_or_create(
        incident=incident, defaults={"template": template}
    )
    postmortem.authors.add(by)
    return postmortem


class StaleEdit(Exception):
    """Someone saved the section (or row) after the editor loaded it."""

    def __init__(self, current_text, current_version, revision=None, gone=False):
        self.current_text = current_text
        self.current_version = current_version
        self.revision = revision  # who changed it, and when
        self.gone = gone  # the row was deleted meanwhile
        super().__init__(f"stale edit; current version is {current_version}")


def _lock(incident):
    """Serialize the saves of one document; the unique version constraint backs this up."""
    return Incident.objects.select_for_update().get(pk=incident.pk)


def _latest_revision(incident, key):
    return Revision.objects.filter(incident=incident, section=key).order_by("-version").first()


def _record(incident, key, old_text, new_text, data, by, restored_from=None):
    latest = _latest_revision(incident, key)
    return Revision.objects.create(
        incident=incident,
        section=key,
        version=(latest.version if latest else 0) + 1,
        author=by,
        old_text=old_text,
        new_text=new_text,
        data=data,
        restored_from=restored_from,
    )


def save_section(incident, key, values, by, base_version, restored_from=None):
    """Save a field section if nobody saved it since `base_version`; record the revision.

    Returns the new Revision, or None when the values are what the section already holds
    (which is never a conflict, even against an old version).
    """
    section = FIELD_SECTIONS[key]
    with transaction.atomic():
        locked = _lock(incident)
        target = section.target(locked)
        latest = _latest_revision(locked, key)
        current_version = latest.version if latest else 0
        old_values = section.values(target)
        if section.snapshot(old_values) == section.snapshot(values):
            return None
        if base_version != current_version:
            raise StaleEdit(section.describe(old_values), current_version, latest)
        section.apply(target, values)
        return _record(
            locked,
            key,
            section.describe(old_values),
            section.describe(values),
            section.snapshot(values),
            by,
            restored_from=restored_from,
        )


def restore_revision(incident, key, version, by, base_version):
    """Bring back a section as it was after `version`; the restore is itself a new revision."""
    revision = Revision.objects.get(incident=incident, section=key, version=version)
    if key in ROW_SECTIONS:
        return _restore_rows(incident, key, revision, by, base_version)
    values = FIELD_SECTIONS[key].values_from_snapshot(revision.data)
    return save_section(incident, key, values, by, base_version, restored_from=version)


def _restore_rows(incident, key, revision, by, base_version):
    section = ROW_SECTIONS[key]
    if not section.restorable:
        raise ValueError(f"{key} rows cannot be restored")
    with transaction.atomic():
        locked = _lock(incident)
        latest = _latest_revision(locked, key)
        current_version = latest.version if latest else 0
        if base_version != current_version:
            raise StaleEdit(latest.new_text if latest else "", current_version, latest)
        before = list(section.rows(locked))
        section.rows(locked).delete()
        parent = {section.parent: section.parent_object(locked)}
        for position, values in enumerate(section.rows_from_snapshot(revision.data)):
            row = section.model(**parent, **values)
            if hasattr(row, "position"):
                row.position = position
            row.save()
        after = list(section.rows(locked))
        return _record(
            locked,
            key,
            section.describe(before),
            section.describe(after),
            section.snapshot(after),
            by,
            restored_from=revision.version,
        )


def _row_change(incident, key, by, change):
    """Run `change(locked_incident)` and record the section's text before and after it."""
    section = ROW_SECTIONS[key]
    with transaction.atomic():
        locked = _lock(incident)
        before = list(section.rows(locked))
        result = change(locked)
        after = list(section.rows(locked))
        old_text, new_text = section.describe(before), section.describe(after)
        if old_text != new_text:
            _record(locked, key, old_text, new_text, section.snapshot(after), by)
        return result


def _locked_row(section, incident, pk, base_version):
    row = section.rows(incident).select_for_update().filter(pk=pk).first()
    if row is None:
        raise StaleEdit("", 0, gone=True)
    if base_version is not None and row.version != base_version:
        raise StaleEdit(section.describe_row(row), row.version)
    return row


def _next_position(section, incident):
    top = section.rows(incident).aggregate(top=Max("position"))["top"]
    return 0 if top is None else top + 1


def add_row(incident, key, values, by):
    section = ROW_SECTIONS[key]

    def create(locked):
        row = section.model(**{section.parent: section.parent_object(locked)}, **values)
        if hasattr(row, "position"):
            row.position = _next_position(section, locked)
        if hasattr(row, "created_by_id"):
            row.created_by = by
        row.save()
        return row

    return _row_change(incident, key, by, create)


def save_row(incident, key, pk, values, by, base_version):
    """Save a row if nobody changed it since `base_version`; base_version=None is a one-click
    change (an action item's status) that applies whatever the row's version."""
    section = ROW_SECTIONS[key]

    def update(locked):
        row = _locked_row(section, locked, pk, base_version)
        for name, value in values.items():
            setattr(row, name, value)
        row.version += 1
        row.save()
        return row

    return _row_change(incident, key, by, update)


def delete_row(incident, key, pk, by, base_version):
    section = ROW_SECTIONS[key]
    return _row_change(
        incident, key, by, lambda locked: _locked_row(section, locked, pk, base_version).delete()
    )


def move_row(incident, key, pk, by, offset):
    """Swap a row with its neighbour above (offset -1) or below (+1)."""
    section = ROW_SECTIONS[key]

    def move(locked):
        rows = list(section.rows(locked).select_for_update())
        index = next((i for i, row in enumerate(rows) if row.pk == pk), None)
        if index is None:
            raise StaleEdit("", 0, gone=True)
        other = index + offset
        if not 0 <= other < len(rows):
            return rows[index]
        rows[index], rows[other] = rows[other], rows[index]
        for position, row in enumerate(rows):
            if row.position != position:
                row.position = position
                row.version += 1
                row.save(update_fields=["position", "version"])
        return rows[other]

    return _row_change(incident, key, by, move)


def paste_timeline(incident, text, by):
    """Add every event of pasted notes at once, or none if a line cannot be read."""
    events = parse_timeline(text, incident.started_at.astimezone(UTC).date())

    def create(locked):
        start = _next_position(ROW_SECTIONS["timeline"], locked)
        return TimelineEvent.objects.bulk_create(
            TimelineEvent(
                incident=locked,
                occurred_at=event.occurred_at,
                description=event.description,
                actor=event.actor,
                action_taken=event.action_taken,
                kind=event.kind,
                is_key_decision=event.is_key_decision,
                position=start + n,
                created_by=by,
            )
            for n, event in enumerate(events)
        )

    return _row_change(incident, "timeline", by, create)


# Presence: who has the document open, and what they are editing.


def presence_cutoff(now=None):
    return (now or timezone.now()) - timedelta(seconds=settings.PRESENCE_TTL_SECONDS)


def heartbeat(incident, user, editing="", now=None):
    """Note that `user` has the document open; forget everyone who stopped polling."""
    now = now or timezone.now()
    Presence.objects.update_or_create(
        incident=incident, user=user, defaults={"editing": editing[:40], "last_seen": now}
    )
    Presence.objects.filter(incident=incident, last_seen__lt=presence_cutoff(now)).delete()


def others_present(incident, user, now=None):
    return (
        Presence.objects.filter(incident=incident, last_seen__gte=presence_cutoff(now))
        .exclude(user=user)
        .select_related("user")
        .order_by("user__first_name", "user__username")
    )


def leave(incident, user):
    Presence.objects.filter(incident=incident, user=user).delete()


# Comments and @mentions.

MENTION = re.compile(r"(?<![\w@.])@(?P<username>[\w.+-]*\w)")


def mentioned_users(incident, text, author):
    """People named with @username who can see the document (never the author)."""
    usernames = {match["username"] for match in MENTION.finditer(text)}
    if not usernames:
        return get_user_model().objects.none()
    return (
        get_user_model()
        .objects.filter(username__in=usernames, is_active=True)
        .filter(Q(memberships__team=incident.team_id) | Q(is_superuser=True))
        .exclude(pk=author.pk)
        .distinct()
    )


def add_comment(postmortem, section, author, body, parent=None):
    """Comment on a section; a reply to a reply joins the thread (one level of replies)."""
    if parent is not None and parent.parent_id:
        parent = parent.parent
    with transaction.atomic():
        comment = Comment.objects.create(
            postmortem=postmortem,
            section=parent.section if parent else section,
            author=author,
            parent=parent,
            body=body,
        )
        mentions = Mention.objects.bulk_create(
            [
                Mention(comment=comment, user=user)
                for user in mentioned_users(postmortem.incident, body, author)
            ]
        )
        # The follow-up engine emails the mentions once the comment is saved.
        send_on_commit(comment_posted, Comment, comment=comment, mentions=mentions)
    return comment


def set_thread_resolved(comment, by, resolved):
    thread = comment.parent or comment
    thread.resolved_at = timezone.now() if resolved else None
    thread.resolved_by = by if resolved else None
    thread.save(update_fields=["resolved_at", "resolved_by"])
    return thread
