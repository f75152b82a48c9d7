"""Sending what the outbox holds: signed webhook requests and Slack posts, each attempt
made while the row is locked and recorded before the lock is released.

Webhooks follow the Standard Webhooks specification (standardwebhooks.com), so receivers can
verify them with its libraries in any language:
    webhook-id         the event's id, the same on every retry: receivers drop repeats
    webhook-timestamp  Unix seconds of this attempt; refuse one too far from now
    webhook-signature  "v1," + base64(HMAC-SHA256(secret, f"{id}.{timestamp}.{body}"))
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from .http import client
from .models import Delivery, SlackPost
from .urlsafety import UnsafeURL, check_url

USER_AGENT = "PostmortemStudio-Webhooks/1"


def signing_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    message = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, event_id: str, body: bytes, now: datetime) -> dict[str, str]:
    timestamp = int(now.timestamp())
    return {
        "content-type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, event_id, timestamp, body),
    }


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: 30 s, 1 min, 2 min... capped at six hours."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    seconds = min(base, settings.WEBHOOK_RETRY_MAX_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


@dataclass
class Outcome:
    """What one attempt did; `retry_in` is None when it will not be retried."""

    status: str
    retry_in: timedelta | None = None


def _post(
    url: str,
    *,
    content: bytes | None = None,
    json: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    check_url(url)
    return client().post(
        url,
        content=content,
        json=json,
        headers={"user-agent": USER_AGENT, **(headers or {})},
        timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
    )


def attempt_delivery(delivery_id: int) -> Outcome:
    """One attempt at a pending delivery. The row stays locked during the request, so a
    duplicate task (a redelivered message, a sweep) skips it, and it is marked delivered in
    the same transaction: a delivery recorded as delivered is never sent again."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "endpoint")
            .filter(pk=delivery_id, status=Delivery.Status.PENDING)
            .first()
        )
        if delivery is None:
            return Outcome("not pending")
        now = timezone.now()
        if delivery.next_attempt_at > now + timedelta(seconds=5):
            return Outcome("not due")  # an early duplicate; the scheduled retry sends it
        event, endpoint = delivery.event, delivery.endpoint
        body = json.dumps(event.payload(), cls=DjangoJSONEncoder).encode()
        headers = signed_headers(endpoint.secret, str(event.id), body, now)
        delivery.attempts += 1
        delivery.last_attempt_at = now
        error, code = "", None
        try:
            response = _post(endpoint.url, content=body, headers=headers)
            code = response.status_code
            if not 200 <= code < 300:
                error = f"HTTP {code}: {response.text[:500]}"
        except (httpx.HTTPError, UnsafeURL) as failure:
            error = f"{type(failure).__name__}: {failure}"[:2000]
        delivery.response_status = code
        delivery.last_error = error
        if not error:
            delivery.status = Delivery.Status.DELIVERED
            delivery.delivered_at = now
            delivery.save()
            return Outcome("delivered")
        if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            delivery.status = Delivery.Status.FAILED
            delivery.save()
            return Outcome("failed")
        delay = retry_delay(delivery.attempts)
        delivery.next_attempt_at = now + delay
        delivery.save()
        return Outcome("retry", delay)


def resend(delivery: Delivery) -> None:
    """A manager asked to send it again (it failed, or the receiver lost it): the same event,
    the same id, queued now."""
    from .events import queue_on_commit

    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.PENDING, next_attempt_at=timezone.now(), last_error=""
        )
        queue_on_commit([delivery.pk])


# Slack answers 200 "ok", or an error word: invalid_payload, no_service, channel_not_found,
# channel_is_archived, action_prohibited... none of which a retry fixes; 429 and 5xx it does.
SLACK_RETRYABLE = {429, 500, 502, 503, 504}


def attempt_slack_post(post_id: int) -> Outcome:
    with transaction.atomic():
        post = (
            SlackPost.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=post_id, status=SlackPost.Status.PENDING)
            .first()
        )
        if post is None:
            return Outcome("not pending")
        now = timezone.now()
        if post.next_attempt_at > now + timedelta(seconds=5):
            return Outcome("not due")  # an early duplicate; the scheduled retry posts it
        channel = getattr(post.team, "slack_channel", None)
        post.attempts += 1
        if channel is None or not channel.is_active or not channel.url:
            post.status, post.last_error = SlackPost.Status.FAILED, "No Slack channel set up."
            post.save()
            return Outcome("failed")
        retry_after: timedelta | None = None
        try:
            response = _post(channel.url, json={"text": post.text, "unfurl_links": False})
            error = (
                ""
                if response.status_code == 200
                else (f"HTTP {response.status_code}: {response.text[:300]}")
            )
            if response.status_code in SLACK_RETRYABLE:
                seconds = response.headers.get("retry-after", "")
                retry_after = (
                    timedelta(seconds=int(seconds))
                    if seconds.isdigit()
                    else retry_delay(post.attempts)
                )
        except httpx.HTTPError as failure:
            error, retry_after = f"{type(failure).__name__}: {failure}", retry_delay(post.attempts)
        except UnsafeURL as failure:
            error = str(failure)
        post.last_error = error[:2000]
        if not error:
            post.status, post.sent_at = SlackPost.Status.SENT, now
        elif retry_after is None or post.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            post.status = SlackPost.Status.FAILED
        else:
            post.next_attempt_at = now + retry_after
        post.save()
        if post.status == SlackPost.Status.PENDING:
            return Outcome("retry", retry_after)
        return Outcome(post.status)
