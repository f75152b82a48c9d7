"""Reminders, review requests and the weekly digest, posted to a team's Slack channel as well
as emailed. A post is recorded (once per thing and period, whoever the emails went to) when
the email is marked sent, and posted by Celery after that commits."""

from __future__ import annotations

import logging
from datetime import UTC, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from actionitems.models import ActionItem, Notification
from incidents.models import Team
from postmortems.models import FollowUp, Postmortem, ReviewRequest
from postmortems.templatetags.studio import display_name

from .models import SlackChannel, SlackPost

logger = logging.getLogger(__name__)
Kind = Notification.Kind


def escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(path: str, label: str) -> str:
    return f"<{settings.SITE_URL}{path}|{escape(label)}>"


def item_line(item: ActionItem) -> str:
    due = f"due {item.due_date:%Y-%m-%d}" if item.due_date else "no due date"
    owner = escape(item.owner_display or "unassigned")
    return f"{link(item.get_absolute_url(), item.title)} ({owner}, {due})"


def _item(notification: Notification) -> ActionItem | None:
    return (
        ActionItem.objects.select_related("owner", "postmortem__incident__team")
        .filter(pk=notification.object_id)
        .first()
    )


def compose(notification: Notification) -> tuple[int, str, str] | None:
    """(team id, dedupe key, text) of the post a sent email stands for, or None."""
    kind, period = notification.kind, notification.period
    if kind in (Kind.OVERDUE, Kind.ESCALATION, Kind.DUE_SOON):
        item = _item(notification)
        if item is None:
            return None
        incident = item.postmortem.incident
        about = link(incident.get_absolute_url(), f"{incident.reference} {incident.title}")
        if kind == Kind.DUE_SOON:
            text = f":hourglass: Due soon: {item_line(item)} from {about}"
            return incident.team_id, f"due_soon:{item.pk}:{period}", text
        days = (timezone.now().date() - item.due_date).days if item.due_date else 0
        escalated = " (escalated to managers)" if kind == Kind.ESCALATION else ""
        text = f":warning: Overdue {days} days{escalated}: {item_line(item)} from {about}"
        return incident.team_id, f"overdue:{item.pk}:{period}", text
    if kind == Kind.DIGEST:
        return _digest(notification)
    if kind in (Kind.REVIEW_MEETING, Kind.DRAFT_NUDGE):
        postmortem = (
            Postmortem.objects.select_related("incident").filter(pk=notification.object_id).first()
        )
        if postmortem is None:
            return None
        incident = postmortem.incident
        about = link(incident.get_absolute_url(), f"{incident.reference} {incident.title}")
        if kind == Kind.DRAFT_NUDGE:
            text = f":memo: The postmortem of {about} is still a draft."
        elif postmortem.review_meeting_at is None:
            return None
        else:
            meeting = postmortem.review_meeting_at.astimezone(UTC)
            text = f":calendar: Postmortem review of {about} at {meeting:%Y-%m-%d %H:%M} UTC."
        return incident.team_id, f"{kind}:{postmortem.pk}:{period}", text
    if kind == Kind.FOLLOW_UP:
        follow_up = (
            FollowUp.objects.select_related("postmortem__incident")
            .filter(pk=notification.object_id)
            .first()
        )
        if follow_up is None:
            return None
        incident = follow_up.postmortem.incident
        text = (
            f":calendar: Follow-up on {follow_up.due_on:%Y-%m-%d}: {escape(follow_up.title)} "
            f"for {link(incident.get_absolute_url(), incident.reference)}"
        )
        return incident.team_id, f"follow_up:{follow_up.pk}:{period}", text
    return None  # mentions are personal


def _digest(notification: Notification) -> tuple[int, str, str] | None:
    team = Team.objects.filter(pk=notification.object_id).first()
    if team is None:
        return None
    today = timezone.now().date()
    horizon = today + timedelta(days=settings.DUE_SOON_WITHIN.days)
    items = list(
        ActionItem.objects.open()
        .filter(postmortem__incident__team=team, due_date__lte=horizon)
        .select_related("owner")
        .order_by("due_date", "pk")[:51]
    )
    if not items:
        return None
    late = sum(1 for item in items if item.due_date and item.due_date < today)
    lines = [f"• {item_line(item)}" for item in items[:50]]
    if len(items) > 50:
        lines.append(f"…and more: {settings.SITE_URL}/action-items/?status=not_done")
    text = (
        f":bar_chart: Weekly follow-up digest for {escape(team.name)}: {late} overdue, "
        f"{len(items) - late} due soon.\n" + "\n".join(lines)
    )
    return team.pk, f"digest:{team.pk}:{notification.period}", text


def review_request_text(postmortem: Postmortem, reviewers: list[ReviewRequest]) -> str:
    incident = postmortem.incident
    names = ", ".join(
        f"{escape(display_name(r.reviewer))} ({r.get_role_display().lower()})" for r in reviewers
    )
    about = link(f"{incident.get_absolute_url()}#review", f"{incident.reference} {incident.title}")
    return f":eyes: Review requested: the postmortem of {about}. Reviewers: {names}."


def record_post(team_id: int, key: str, text: str) -> SlackPost | None:
    """Record a post for the team's channel (once per key) and queue it after commit."""
    channel = SlackChannel.objects.filter(team_id=team_id, is_active=True).first()
    if channel is None:
        return None
    post, created = SlackPost.objects.get_or_create(
        dedupe_key=key, defaults={"team_id": team_id, "text": text}
    )
    if created:
        transaction.on_commit(lambda: queue_post(post.pk), robust=True)
    return post


def queue_post(post_id: int) -> None:
    from .tasks import post_to_slack

    post_to_slack.delay(post_id)


def notification_sent(notification: Notification) -> None:
    """actionitems marked an email sent. Runs inside that email's transaction: whatever goes
    wrong here is logged and rolled back to a savepoint, never undoing the sent mark."""
    if notification.status != Notification.Status.SENT or notification.kind == Kind.MENTION:
        return
    try:
        with transaction.atomic():
            composed = compose(notification)
            if composed is not None:
                record_post(*composed)
    except Exception:
        logger.exception("could not record the Slack post of notification %s", notification.pk)
