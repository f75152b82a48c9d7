"""What goes into the outbox: an event per change a team's webhooks asked for, with one
delivery row per endpoint, written in the transaction of the change itself."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import transaction

from actionitems.models import ActionItem
from incidents.models import Incident
from postmortems.models import Postmortem
from postmortems.templatetags.studio import display_name

from .models import Delivery, Event, WebhookEndpoint

logger = logging.getLogger(__name__)


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def incident_data(incident: Incident) -> dict[str, Any]:
    return {
        "team": incident.team.slug,
        "incident": {
            "reference": incident.reference,
            "title": incident.title,
            "severity": incident.severity,
            "status": incident.status,
            "started_at": incident.started_at,
            "resolved_at": incident.resolved_at,
            "url": absolute(incident.get_absolute_url()),
        },
    }


def postmortem_data(postmortem: Postmortem) -> dict[str, Any]:
    incident = postmortem.incident
    return {
        **incident_data(incident),
        "postmortem": {
            "status": postmortem.status,
            "template": postmortem.template,
            "url": absolute(incident.get_absolute_url()),
        },
    }


def action_item_data(item: ActionItem) -> dict[str, Any]:
    incident = item.postmortem.incident
    return {
        **incident_data(incident),
        "action_item": {
            "id": item.pk,
            "title": item.title,
            "status": item.status,
            "priority": item.priority,
            "owner": item.owner.get_username() if item.owner else None,
            "owner_name": item.owner_display,
            "due_date": item.due_date,
            "completed_at": item.completed_at,
            "tracker_url": item.tracker_url,
            "url": absolute(item.get_absolute_url()),
        },
    }


def person(user: Any) -> dict[str, str] | None:
    if user is None:
        return None
    return {"username": user.get_username(), "name": display_name(user)}


def endpoints_for(team_id: int, kind: str) -> list[WebhookEndpoint]:
    """Few endpoints per team: filtering the list in Python works on every database."""
    return [e for e in WebhookEndpoint.objects.filter(team_id=team_id) if e.wants(kind)]


def record(
    team_id: int,
    kind: str,
    data: Callable[[], dict[str, Any]],
    *,
    dedupe_key: str | None = None,
) -> Event | None:
    """Write the event and its deliveries now (inside the caller's transaction); queue the
    deliveries once it commits. Nothing is written, and `data` is not even built, when no
    endpoint wants this kind (the usual case costs one small query)."""
    endpoints = endpoints_for(team_id, kind)
    if not endpoints:
        return None
    event = Event.objects.create(team_id=team_id, kind=kind, data=data(), dedupe_key=dedupe_key)
    deliveries = Delivery.objects.bulk_create(
        [Delivery(event=event, endpoint=endpoint) for endpoint in endpoints]
    )
    queue_on_commit([d.pk for d in deliveries])
    return event


def queue_on_commit(delivery_ids: Iterable[int]) -> None:
    ids = list(delivery_ids)
    if ids:
        # robust: a broker that is down must not fail the user's save; the sweep sends later.
        transaction.on_commit(lambda: queue_deliveries(ids), robust=True)


def queue_deliveries(delivery_ids: Iterable[int]) -> None:
    from .tasks import deliver_webhook

    for delivery_id in delivery_ids:
        deliver_webhook.delay(delivery_id)
