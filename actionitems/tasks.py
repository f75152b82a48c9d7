"""Celery tasks of the follow-up engine.

Beat runs `run_sweeps` and `sweep_weekly_digests` every SWEEP_INTERVAL. A sweep records what
is owed (reminders.record: one row per person, thing, kind and period, made unique by the
database) and queues `send_notification` for each row to send. Sending claims its row (a
committed `sending_since`), then locks it, sends, and marks it sent in one transaction; SMTP
failures are recorded and retried with backoff. A sweep re-queues a claimed row nobody holds
the lock of (its worker died mid-send) at once, and any other row still pending after
RESEND_AFTER. See docs/design/follow-up-emails.md for why this is as close to exactly once
as email allows, and what the stable Message-ID covers.
"""

import logging
from collections.abc import Iterable
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from postmortems.models import Mention, Postmortem, Revision

from . import reminders, services
from .emails import compose
from .models import ActionItem, EmailAction, Notification

logger = logging.getLogger(__name__)

# Trouble between us and the mail server, worth trying again later: SMTPException, refused
# connections and timeouts are all OSErrors.
SMTP_FAILURES = (OSError,)


def record_and_queue(candidates: Iterable[reminders.Candidate]) -> dict[str, int]:
    """Record what is owed, then queue every row due for sending (new, orphaned, or left
    pending).

    Returns how many reminders are owed right now (recorded before or not) and how many were
    queued for sending."""
    recorded_since = timezone.now()
    with transaction.atomic():
        owed = reminders.record(candidates)
    queued = reminders.due_for_sending(recorded_since)
    for notification_id in queued:
        send_notification.delay(notification_id)
    return {"owed": owed, "queued": len(queued)}


@shared_task
def run_sweeps() -> dict[str, int]:
    """Overdue and due-soon items, review meetings, follow-ups, old drafts, mentions."""
    result = record_and_queue(reminders.daily_candidates(timezone.now()))
    logger.info("follow-up sweep: %s", result)
    return result


@shared_task
def sweep_weekly_digests() -> dict[str, int]:
    """Each manager's digest once a week, from their team's digest day and hour on."""
    return record_and_queue(reminders.digest_candidates(timezone.now()))


def queue_mention_emails(sender: Any, comment: Any, mentions: list[Mention], **kwargs: Any) -> None:
    """postmortems.signals.comment_posted: email the people a new comment mentions."""
    if mentions:
        send_mentions.delay(comment.pk)


@shared_task
def send_mentions(comment_id: int) -> dict[str, int]:
    """Right after a comment is saved, instead of waiting for the next sweep."""
    return record_and_queue(reminders.mention_candidates(timezone.now(), comment_id=comment_id))


@shared_task
def queue_reassignment(email_action_id: int) -> dict[str, int]:
    """After "Not mine" from an email: ask the team's managers at once."""
    action = (
        EmailAction.objects.select_related("item__postmortem__incident")
        .filter(pk=email_action_id)
        .first()
    )
    if action is None:
        return {"owed": 0, "queued": 0}
    return record_and_queue(services.reassignment_candidates(action))


def review_schedule_saved(sender: Any, instance: Revision, created: bool, **kwargs: Any) -> None:
    """post_save of postmortems.Revision: once a review schedule save is committed, tell the
    attendees' calendars if the meeting moved or was cancelled."""
    if created and instance.section == "review_schedule":
        incident_id = instance.incident_id
        transaction.on_commit(lambda: announce_meeting_change.delay(incident_id))


@shared_task
def announce_meeting_change(incident_id: int) -> dict[str, int]:
    postmortem_id = (
        Postmortem.objects.filter(incident_id=incident_id).values_list("pk", flat=True).first()
    )
    if postmortem_id is None:
        return {"owed": 0, "queued": 0}
    return record_and_queue(services.meeting_change_candidates(postmortem_id))


def _claim(notification_id: int) -> bool:
    """Mark a pending row as being sent, committed before the email leaves: if this worker
    dies while sending, the next sweep sees the claim without its lock and queues it again."""
    with transaction.atomic():
        claimed = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification_id, status=Notification.Status.PENDING)
            .values_list("pk", flat=True)
            .first()
        )
        if claimed is None:
            return False
        now = timezone.now()
        Notification.objects.filter(pk=claimed).update(
            attempts=F("attempts") + 1, last_attempt_at=now, sending_since=now
        )
    return True


@shared_task(
    bind=True,
    autoretry_for=SMTP_FAILURES,
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=8,
    acks_late=True,
)
def send_notification(self: Any, notification_id: int) -> str:
    """Send one notification at most once: the row is locked while the email goes out and
    marked sent before the lock is released; a second worker skips it."""
    if not _claim(notification_id):
        return "not pending"
    failure = None
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
            .filter(pk=notification_id, status=Notification.Status.PENDING)
            .first()
        )
        if notification is None:
            return "not pending"
        notification.sending_since = None
        message = compose(notification)
        if message is None:
            notification.status = Notification.Status.SKIPPED
            notification.save(update_fields=["status", "sending_since"])
            return "skipped"
        try:
            message.send()
        except SMTP_FAILURES as error:
            # Recorded while the lock is held, so no sweep mistakes it for a dead worker's.
            failure = error
            notification.last_error = str(error)[:2000]
            notification.save(update_fields=["last_error", "sending_since"])
        else:
            now = timezone.now()
            notification.status = Notification.Status.SENT
            notification.sent_at = now
            notification.last_error = ""
            notification.save(update_fields=["status", "sent_at", "last_error", "sending_since"])
            _after_sending(notification, now)
    if failure is not None:
        logger.warning("sending notification %s failed: %s", notification_id, failure)
        raise failure
    return "sent"


def _after_sending(notification: Notification, now: Any) -> None:
    kind = notification.kind
    if kind in (Notification.Kind.OVERDUE, Notification.Kind.DUE_SOON):
        ActionItem.objects.filter(pk=notification.object_id).update(last_reminded_at=now)
    elif kind == Notification.Kind.MENTION:
        Mention.objects.filter(pk=notification.object_id).update(emailed_at=now)


@worker_ready.connect
def catch_up(sender: Any, **kwargs: Any) -> None:
    """A worker that starts sweeps once instead of waiting for beat's next tick: reminders
    owed while no worker ran go out now, and rows a killed worker was sending are re-queued."""
    if settings.SWEEP_ON_WORKER_START:
        run_sweeps.delay()
        sweep_weekly_digests.delay()
