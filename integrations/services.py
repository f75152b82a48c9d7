"""What the integration pages and tasks do: team settings, tickets for action items and
their states coming back, the overdue sweep. Views and tasks call these; rules live here."""

from __future__ import annotations

import logging
from contextlib import suppress
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from actionitems.models import ActionItem
from incidents.models import Team
from postmortems.models import Revision
from postmortems.services import StaleEdit, get_document_for, save_row

from . import events
from .models import (
    Delivery,
    Event,
    EventKind,
    SlackChannel,
    SlackPost,
    TrackerConnection,
    TrackerLink,
    WebhookEndpoint,
    new_signing_secret,
)
from .trackers import Ticket, TrackerError, client_for

logger = logging.getLogger(__name__)

# A "Create ticket" that died between claiming the item and hearing from the tracker frees the
# item again after this long.
CLAIM_TIMEOUT = timedelta(minutes=5)


class IntegrationError(Exception):
    """A refused request, with a sentence for the user."""


# Access: a team's integrations are seen by its members and changed by its managers.


def teams_for(user: Any) -> QuerySet[Team]:
    if user.is_superuser:
        return Team.objects.all()
    return Team.objects.filter(memberships__user=user).distinct()


def get_team_for(user: Any, slug: str, manage: bool = False) -> Team:
    """404 outside the user's teams (as for incidents); 403 for a change by a non-manager."""
    team = get_object_or_404(teams_for(user), slug=slug)
    if manage and not can_manage(team, user):
        raise PermissionDenied(f"Only managers of {team} change its integrations.")
    return team


def can_manage(team: Team, user: Any) -> bool:
    return bool(user.is_superuser or team.is_manager(user))


# Webhook endpoints and deliveries.


def add_endpoint(
    team: Team, url: str, events_wanted: list[str], description: str, by: Any
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret, shown once."""
    secret = new_signing_secret()
    endpoint = WebhookEndpoint(
        team=team, url=url, events=events_wanted, description=description, created_by=by
    )
    endpoint.secret = secret
    endpoint.save()
    return endpoint, secret


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    secret = new_signing_secret()
    endpoint.secret = secret
    endpoint.save(update_fields=["secret_encrypted"])
    return secret


def recent_deliveries(team: Team, limit: int = 50) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(endpoint__team=team)
        .select_related("event", "endpoint")
        .order_by("-created_at", "-pk")[:limit]
    )


def set_slack_url(team: Team, url: str) -> SlackChannel | None:
    """Save the team's Slack incoming webhook, or remove it with an empty URL."""
    if not url:
        SlackChannel.objects.filter(team=team).delete()
        return None
    channel = SlackChannel.objects.filter(team=team).first() or SlackChannel(team=team)
    channel.url = url
    channel.is_active = True
    channel.save()
    return channel


# Tickets.


def get_item_for(user: Any, pk: int, edit: bool = False) -> ActionItem:
    """The action item if the user may see it (404 otherwise), or change it (403)."""
    item: ActionItem = get_object_or_404(
        ActionItem.objects.visible_to(user).select_related("postmortem__incident__team"), pk=pk
    )
    get_document_for(user, item.postmortem.incident.reference, edit=edit)
    return item


def connections_for(item: ActionItem) -> QuerySet[TrackerConnection]:
    return TrackerConnection.objects.filter(
        team_id=item.postmortem.incident.team_id, is_active=True
    )


def _claim(item: ActionItem, connection: TrackerConnection, by: Any) -> TrackerLink:
    """Reserve the item's ticket before calling the tracker, so that two clicks never make
    two tickets; an abandoned claim (no key after CLAIM_TIMEOUT) can be taken over."""
    with transaction.atomic():
        TrackerLink.objects.filter(
            action_item=item, key="", created_at__lt=timezone.now() - CLAIM_TIMEOUT
        ).delete()
        try:
            with transaction.atomic():
                return TrackerLink.objects.create(
                    action_item=item,
                    connection=connection,
                    key="",
                    remote_id=f"claim:{item.pk}",
                    url="",
                    created_by=by,
                )
        except IntegrityError:
            raise IntegrationError("This action item already has a ticket.") from None


def create_ticket(item: ActionItem, connection: TrackerConnection, by: Any) -> TrackerLink:
    """Create the tracker's issue for the item, keep its key and link, and put the link on
    the item through the document's own save (a revision in the item's history)."""
    if connection.team_id != item.postmortem.incident.team_id or not connection.is_active:
        raise IntegrationError("That tracker is not one of this team's.")
    claim = _claim(item, connection, by)
    try:
        ticket = client_for(connection).create(item)
    except TrackerError as error:
        claim.delete()
        raise IntegrationError(str(error)) from None
    with transaction.atomic():
        claim.key, claim.remote_id, claim.url = ticket.key, ticket.remote_id, ticket.url
        claim.remote_status, claim.last_synced_at = ticket.status, timezone.now()
        claim.save()
        with suppress(StaleEdit):  # the item was deleted meanwhile; the link goes with it
            save_row(
                item.postmortem.incident,
                "action_items",
                item.pk,
                {"tracker_url": ticket.url},
                by,
                base_version=None,
            )
    return claim


def _note_latest_revision(item: ActionItem, note: str) -> None:
    """Say in the item's history where an automatic change came from."""
    latest = (
        Revision.objects.filter(
            incident_id=item.postmortem.incident_id, section="action_items", author=None
        )
        .order_by("-version")
        .first()
    )
    if latest is not None and not latest.note:
        latest.note = note[:200]
        latest.save(update_fields=["note"])


def apply_ticket(link: TrackerLink, ticket: Ticket) -> bool:
    """Bring the ticket's state onto the item; True when the item changed. Only a change of
    the ticket's state moves the item: closing the ticket closes the item (done, or won't do),
    reopening it reopens an item the ticket had closed."""
    now = timezone.now()
    with transaction.atomic():
        link = (
            TrackerLink.objects.select_for_update()
            .select_related("action_item__postmortem__incident", "connection")
            .get(pk=link.pk)
        )
        item = link.action_item
        new_state = TrackerLink.State.CLOSED if ticket.closed else TrackerLink.State.OPEN
        status = None
        if new_state != link.state:
            # `resolution` remembers what the ticket closed the item as, only when it did.
            if ticket.closed and not item.is_closed:
                status = link.resolution = ticket.resolution or ActionItem.Status.DONE
            elif ticket.closed:
                link.resolution = ""
            elif link.resolution and item.status == link.resolution:
                status, link.resolution = ActionItem.Status.OPEN, ""
        link.state = new_state
        link.remote_status = ticket.status
        link.last_synced_at = now
        link.last_error = ""
        link.save()
        if status is None:
            return False
        try:
            save_row(
                item.postmortem.incident,
                "action_items",
                item.pk,
                {"status": status},
                None,
                base_version=None,
            )
        except StaleEdit:
            return False
        _note_latest_revision(
            item, f"from {link.connection.name}: {link.key} is {ticket.status or new_state}"
        )
        return True


def sync_connection(connection: TrackerConnection) -> int:
    """Read the state of every open ticket of this tracker; returns how many items changed."""
    links = list(
        TrackerLink.objects.filter(connection=connection, state=TrackerLink.State.OPEN)
        .exclude(key="")
        .order_by("pk")
    )
    if not links:
        return 0
    try:
        tickets = client_for(connection).fetch([link.remote_id for link in links])
    except TrackerError as error:
        TrackerLink.objects.filter(pk__in=[link.pk for link in links]).update(
            last_error=str(error)[:2000]
        )
        logger.warning("tracker %s: %s", connection.pk, error)
        return 0
    changed = 0
    for link in links:
        ticket = tickets.get(link.remote_id)
        if ticket is not None and apply_ticket(link, ticket):
            changed += 1
    return changed


def receive_tracker_webhook(
    connection: TrackerConnection, body: bytes, headers: dict[str, str]
) -> int:
    """The tracker told us about tickets (signature checked by the client); apply ours."""
    changed = 0
    for ticket in client_for(connection).tickets_from_webhook(body, headers):
        link = TrackerLink.objects.filter(connection=connection, remote_id=ticket.remote_id).first()
        if link is not None and apply_ticket(link, ticket):
            changed += 1
    return changed


def prune(now: Any = None) -> int:
    """Forget what was settled longer than INTEGRATIONS_RETENTION ago, so the outbox does not
    grow forever. Overdue events stay: their key is what keeps an item from being announced
    overdue twice for one due date."""
    cutoff = (now or timezone.now()) - settings.INTEGRATIONS_RETENTION
    events, _ = (
        Event.objects.filter(occurred_at__lt=cutoff, dedupe_key__isnull=True)
        .exclude(deliveries__status=Delivery.Status.PENDING)
        .delete()
    )
    posts, _ = (
        SlackPost.objects.filter(created_at__lt=cutoff)
        .exclude(status=SlackPost.Status.PENDING)
        .delete()
    )
    return events + posts


# The overdue sweep.


def record_overdue_events(today: Any = None) -> int:
    """An action_item.overdue event once per item and due date, for teams that want it."""
    today = today or timezone.now().date()
    team_ids = {
        endpoint.team_id
        for endpoint in WebhookEndpoint.objects.filter(is_active=True)
        if endpoint.wants(EventKind.ACTION_ITEM_OVERDUE)
    }
    if not team_ids:
        return 0
    items = (
        ActionItem.objects.overdue(today)
        .filter(postmortem__incident__team_id__in=team_ids)
        .select_related("owner", "postmortem__incident__team")
        .order_by("pk")
    )
    recorded = 0
    for item in items.iterator(chunk_size=500):
        key = f"{EventKind.ACTION_ITEM_OVERDUE}:{item.pk}:{item.due_date}"
        if Event.objects.filter(dedupe_key=key).exists():
            continue
        try:
            with transaction.atomic():
                team_id = item.postmortem.incident.team_id
                data = partial(events.action_item_data, item)
                if events.record(team_id, EventKind.ACTION_ITEM_OVERDUE, data, dedupe_key=key):
                    recorded += 1
        except IntegrityError:
            continue  # another sweep recorded it this very moment
    return recorded
