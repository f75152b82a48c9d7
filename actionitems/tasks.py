"""Celery tasks of the follow-up engine.

Beat runs `run_sweeps` every SWEEP_INTERVAL and `sweep_weekly_digests` weekly. A sweep records
what is owed (reminders.record: one row per person, thing, kind and period, made unique by
the database) and queues `send_notification` for each row to send. Sending locks its row,
sends, and marks it sent in the same transaction; SMTP failures are retried with backoff.
"""

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from postmortems.models import Mention

from . import reminders
from .emails import compose
from .models import ActionItem, Notification

logger = logging.getLogger(__name__)

# Trouble between us and the mail server, worth trying again later: SMTPException, refused
# connections and timeouts are all OSErrors.
SMTP_FAILURES = (OSError,)


def record_and_queue(candidates):
    """Record what is owed, then queue every row due for sending (new, or left pending).

    Returns how many reminders are owed right now (recorded before or not) and how many were
    queued for sending."""
    recorded_since = timezone.now()
    with transaction.atomic():
        owed = reminders.record(candidates)
    queued = list(reminders.due_for_sending(recorded_since))
    for notification_id in queued:
        send_notification.delay(notification_id)
    return {"owed": owed, "queued": len(queued)}


@shared_task
def run_sweeps():
    """Overdue and due-soon items, review meetings, follow-ups, old drafts, mentions."""
    result = record_and_queue(reminders.daily_candidates(timezone.now()))
    logger.info("follow-up sweep: %s", result)
    return result


@shared_task
def sweep_weekly_digests():
    return record_and_queue(reminders.digest_candidates(timezone.now()))


def queue_mention_emails(sender, comment, mentions, **kwargs):
    """postmortems.signals.comment_posted: email the people a new comment mentions."""
    if mentions:
        send_mentions.delay(comment.pk)


@shared_task
def send_mentions(comment_id):
    """Right after a comment is saved, instead of waiting for the next sweep."""
    return record_and_queue(reminders.mention_candidates(timezone.now(), comment_id=comment_id))


@shared_task(
    bind=True,
    autoretry_for=SMTP_FAILURES,
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=8,
    acks_late=True,
)
def send_notification(self, notification_id):
    """Send one notification at most once: the row is locked while the email goes out and
    marked sent before the lock is released; a second worker skips it."""
    try:
        with transaction.atomic():
            notification = (
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("recipient")
                .filter(pk=notification_id, status=Notification.Status.PENDING)
                .first()
            )
            if notification is None:
                return "not pending"
            message = compose(notification)
            now = timezone.now()
            notification.attempts += 1
            notification.last_attempt_at = now
            if message is None:
                notification.status = Notification.Status.SKIPPED
                notification.save(update_fields=["status", "attempts", "last_attempt_at"])
                return "skipped"
            message.send()
            notification.status = Notification.Status.SENT
            notification.sent_at = now
            notification.last_error = ""
            notification.save()
            _after_sending(notification, now)
            return "sent"
    except SMTP_FAILURES as error:
        Notification.objects.filter(pk=notification_id).update(
            attempts=F("attempts") + 1, last_attempt_at=timezone.now(), last_error=str(error)[:2000]
        )
        logger.warning("sending notification %s failed: %s", notification_id, error)
        raise


def _after_sending(notification, now):
    kind = notification.kind
    if kind in (Notification.Kind.OVERDUE, Notification.Kind.DUE_SOON):
        ActionItem.objects.filter(pk=notification.object_id).update(last_reminded_at=now)
    elif kind == Notification.Kind.MENTION:
        Mention.objects.filter(pk=notification.object_id).update(emailed_at=now)


@worker_ready.connect
def catch_up(sender, **kwargs):
    """A worker that starts sweeps once instead of waiting for beat's next tick: reminders
    owed while no worker ran go out now."""
    if settings.SWEEP_ON_WORKER_START:
        run_sweeps.delay()
