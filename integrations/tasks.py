"""Celery tasks of the integrations: deliver webhooks, post to Slack, sync trackers.

Every task takes an id and is safe to run twice: an attempt locks its row and skips one that
is not pending. The sweep (beat, every INTEGRATIONS_SWEEP_INTERVAL, and when a worker starts)
queues again whatever is pending and due: a message lost with a killed worker, a retry whose
countdown died with it, or a queueing that failed because the broker was down."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.utils import timezone

from . import delivery, services
from .models import Delivery, SlackPost, TrackerConnection

logger = logging.getLogger(__name__)
BATCH = 1000


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> str:
    outcome = delivery.attempt_delivery(delivery_id)
    if outcome.retry_in is not None:
        deliver_webhook.apply_async((delivery_id,), countdown=outcome.retry_in.total_seconds())
    return outcome.status


@shared_task(acks_late=True)
def post_to_slack(post_id: int) -> str:
    outcome = delivery.attempt_slack_post(post_id)
    if outcome.retry_in is not None:
        post_to_slack.apply_async((post_id,), countdown=outcome.retry_in.total_seconds())
    return outcome.status


@shared_task(acks_late=True)
def import_slack(job_id: int) -> str:
    """A large Slack channel into a timeline, a chunk at a time (see slack_timeline.run)."""
    from . import slack_timeline

    return slack_timeline.run(job_id).status


@shared_task
def sweep() -> dict[str, int]:
    now = timezone.now()
    overdue = services.record_overdue_events(now.date())
    due_deliveries = list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:BATCH]
    )
    for delivery_id in due_deliveries:
        deliver_webhook.delay(delivery_id)
    due_posts = list(
        SlackPost.objects.filter(status=SlackPost.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:BATCH]
    )
    for post_id in due_posts:
        post_to_slack.delay(post_id)
    result = {
        "overdue_events": overdue,
        "deliveries": len(due_deliveries),
        "posts": len(due_posts),
        "pruned": services.prune(now),
    }
    logger.info("integrations sweep: %s", result)
    return result


@shared_task
def sync_trackers() -> dict[str, int]:
    """Pull the state of open tickets from every tracker; items whose ticket closed are done."""
    changed = 0
    for connection_id in TrackerConnection.objects.filter(is_active=True).values_list(
        "pk", flat=True
    ):
        changed += sync_tracker(connection_id)
    return {"changed": changed}


@shared_task
def sync_tracker(connection_id: int) -> int:
    connection = TrackerConnection.objects.filter(pk=connection_id, is_active=True).first()
    return services.sync_connection(connection) if connection else 0


@worker_ready.connect
def catch_up(sender: Any, **kwargs: Any) -> None:
    """A worker that starts sends what waited while no worker ran, without waiting for beat."""
    if settings.INTEGRATIONS_SWEEP_ON_WORKER_START:
        sweep.delay()
