"""Receivers connected in IntegrationsConfig.ready() to the models of the apps below, so the
outbox row is written inside the transaction that made the change (the apps below import
nothing from here). Statuses are remembered when an instance is loaded (post_init, no query),
so a save can tell "became resolved" from "was resolved already"."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from actionitems.models import ActionItem, Notification
from incidents.models import Incident
from postmortems.models import Postmortem, ReviewEvent, ReviewRequest

from . import events, slack_notify
from .models import EventKind

LOADED = "_integrations_loaded_status"


def remember_status(sender: type, instance: Any, **kwargs: Any) -> None:
    # __dict__, not getattr: a deferred status must not cost a query per instance.
    setattr(instance, LOADED, instance.__dict__.get("status"))


def _became(instance: Any, status: str, created: bool) -> bool:
    became = instance.status == status and (created or getattr(instance, LOADED, None) != status)
    setattr(instance, LOADED, instance.status)
    return became


def incident_saved(
    sender: type, instance: Incident, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if raw:
        return
    resolved = _became(instance, Incident.Status.RESOLVED, created)

    def data() -> dict[str, Any]:
        return events.incident_data(instance)

    if created:
        events.record(instance.team_id, EventKind.INCIDENT_CREATED, data)
    if resolved:
        events.record(instance.team_id, EventKind.INCIDENT_RESOLVED, data)


def incident_section_saved(
    sender: type,
    owner: Any,
    before: dict[str, Any],
    after: dict[str, Any],
    **kwargs: Any,
) -> None:
    """A section of the incident saved by the document's conditional UPDATE (no post_save):
    the incident became resolved when its status did."""
    if not isinstance(owner, Incident) or "status" not in after:
        return
    if after["status"] != Incident.Status.RESOLVED or before.get("status") == after["status"]:
        return
    incident = copy.copy(owner)
    for name, value in after.items():
        if not isinstance(value, list):  # many-to-many values are not attributes
            setattr(incident, name, value)
    setattr(owner, LOADED, after["status"])
    events.record(incident.team_id, EventKind.INCIDENT_RESOLVED,
                  lambda: events.incident_data(incident))  # fmt: skip


def action_item_saved(
    sender: type, instance: ActionItem, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if raw:
        return
    done = _became(instance, ActionItem.Status.DONE, created)
    if not (created or done):
        return
    team_id = instance.postmortem.incident.team_id

    def data() -> dict[str, Any]:
        return events.action_item_data(instance)

    if created:
        events.record(team_id, EventKind.ACTION_ITEM_CREATED, data)
    if done:
        events.record(team_id, EventKind.ACTION_ITEM_DONE, data)


def review_event_saved(
    sender: type, instance: ReviewEvent, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """A step of the review: state changes, reviewers asked while in review, approvals."""
    if raw or not created:
        return
    postmortem = instance.postmortem
    team_id = postmortem.incident.team_id

    def data(**extra: Any) -> dict[str, Any]:
        described = events.postmortem_data(postmortem)
        if instance.to_status:  # the postmortem itself is saved after its event
            described["postmortem"]["status"] = instance.to_status
        return {
            **described,
            "actor": events.person(instance.actor),
            "note": instance.note,
            **extra,
        }

    Kind = ReviewEvent.Kind
    if instance.kind == Kind.STATUS:
        moved = {"from_status": instance.from_status, "to_status": instance.to_status}
        events.record(team_id, EventKind.POSTMORTEM_STATUS_CHANGED, lambda: data(**moved))
        if instance.to_status == Postmortem.Status.IN_REVIEW:
            requests = list(postmortem.review_requests.select_related("reviewer").order_by("pk"))
            _review_requested(postmortem, data, requests, f"round:{instance.pk}")
    elif instance.kind == Kind.REVIEWER_ADDED and postmortem.status == Postmortem.Status.IN_REVIEW:
        requests = list(
            postmortem.review_requests.select_related("reviewer").filter(reviewer=instance.reviewer)
        )
        _review_requested(postmortem, data, requests, f"reviewer:{instance.pk}")
    elif instance.kind == Kind.DECISION and instance.decision == ReviewRequest.Decision.APPROVED:
        approval = {"reviewer": events.person(instance.reviewer), "role": instance.role}
        events.record(team_id, EventKind.REVIEW_APPROVED, lambda: data(**approval))


def _review_requested(
    postmortem: Postmortem,
    data: Callable[..., dict[str, Any]],
    requests: list[ReviewRequest],
    key: str,
) -> None:
    if not requests:
        return
    reviewers = [{**(events.person(r.reviewer) or {}), "role": r.role} for r in requests]
    team_id = postmortem.incident.team_id
    events.record(team_id, EventKind.REVIEW_REQUESTED, lambda: data(reviewers=reviewers))
    slack_notify.record_post(
        team_id,
        f"review:{postmortem.pk}:{key}",
        slack_notify.review_request_text(postmortem, requests),
    )


def notification_saved(
    sender: type, instance: Notification, raw: bool = False, **kwargs: Any
) -> None:
    if not raw:
        slack_notify.notification_sent(instance)
