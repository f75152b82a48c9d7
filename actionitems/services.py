"""Changes people make from their emails, and what the follow-up engine owes after a change.

A one-click link (links.py) is checked here, every time, in the same order: signed by us,
not expired, for a person and an item that still exist, not used before, made for the item
as it still is, and for something that person may still do. A link that fails any of these
raises LinkRefused, which says why and changes nothing; one that passes is applied through
the document's own save (postmortems.services.save_row, against the version in the link) so
that the change is a revision like any other, noted "from email".
"""

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse

from incidents.models import Membership
from postmortems import limits
from postmortems.models import Postmortem, Revision
from postmortems.services import StaleEdit, save_row
from postmortems.templatetags.studio import display_name

from .links import (
    OVERDUE,
    ActionLink,
    LinkExpired,
    LinkForged,
    action_token,
    read_action_token,
)
from .models import (
    ActionItem,
    EmailAction,
    EmailPreference,
    MeetingInvite,
    Notification,
    TeamFollowUpSettings,
    local_today,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User
else:
    User = get_user_model()

logger = logging.getLogger(__name__)
Action = EmailAction.Action
Kind = Notification.Kind

SNOOZE_DAYS: dict[str, int] = {Action.SNOOZE_3_DAYS: 3, Action.SNOOZE_1_WEEK: 7}
OWNER_ACTIONS = [
    Action.DONE,
    Action.SNOOZE_3_DAYS,
    Action.SNOOZE_1_WEEK,
    Action.MOVE,
    Action.NOT_MINE,
]
# A manager reminded in an owner's place (or about an escalated item) can settle or re-plan
# it; "Not mine" is the owner's word.
MANAGER_ACTIONS = OWNER_ACTIONS[:-1]
LONGEST_MOVE = timedelta(days=366)
REASON_LENGTH = limits.REASON


class LinkRefused(Exception):
    """A link that changes nothing, and why. `reason` picks the page's wording and status."""

    STATUS = {
        "forged": 400,
        "expired": 410,
        "gone": 410,
        "used": 409,
        "stale": 409,
        "closed": 409,
        "not_allowed": 403,
    }

    def __init__(
        self,
        reason: str,
        *,
        link: ActionLink | None = None,
        item: ActionItem | None = None,
        recipient: User | None = None,
        used: EmailAction | None = None,
        changes: list[str] | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = self.STATUS[reason]
        self.link = link
        self.item = item
        self.recipient = recipient
        self.used = used
        self.changes = changes or []

    def current_choices(self) -> list["Choice"]:
        """What the person may do with the item as it is now (stale and used links only: the
        link proved who they are, and the fresh links are bound to the current version)."""
        if self.reason not in ("stale", "used", "closed") or self.item is None:
            return []
        if self.recipient is None or self.link is None:
            return []
        return choices_for(self.item, self.recipient, self.link.notification_id)


class ActionInvalid(Exception):
    """The confirmation form's input cannot be applied (a due date in the past...)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Choice:
    action: str
    label: str
    url: str


@dataclass
class Offer:
    """A valid link: who may do what to which item, as the confirmation page shows it."""

    link: ActionLink
    item: ActionItem
    recipient: User
    today: date  # the recipient's date, for snoozes and the due date picker
    choices: list[Choice] = field(default_factory=list)

    @property
    def action(self) -> str:
        return self.link.action

    @property
    def label(self) -> str:
        return Action(self.action).label

    @property
    def new_due(self) -> date | None:
        if self.action in SNOOZE_DAYS:
            return snoozed(self.item.due_date, self.today, SNOOZE_DAYS[self.action])
        return None


def snoozed(due: date | None, today: date, days: int) -> date:
    """Snoozing pushes the due date `days` past today or past the due date, whichever is
    later: an overdue item gets `days` from now, one not due yet keeps its lead."""
    return max(due or today, today) + timedelta(days=days)


def is_manager(user_id: int, team_id: int) -> bool:
    return Membership.objects.filter(
        user_id=user_id, team_id=team_id, role=Membership.Role.MANAGER
    ).exists()


def allowed_actions(item: ActionItem, user: User) -> list[str]:
    """What `user` may do to `item` from an email: its owner everything, a manager of its
    team all but "Not mine", anyone else nothing; nothing once it is closed or for someone
    who left the team."""
    if item.is_closed or not user.is_active:
        return []
    role = (
        Membership.objects.filter(user_id=user.pk, team_id=item.postmortem.incident.team_id)
        .values_list("role", flat=True)
        .first()
    )
    if role is None and not user.is_superuser:
        return []  # writing is for the team (Incident.editable_by)
    if item.owner_id == user.pk:
        return list(OWNER_ACTIONS)
    if role == Membership.Role.MANAGER:
        return list(MANAGER_ACTIONS)
    return []


def make_link(item: ActionItem, user_id: int, action: str, notification_id: int | None) -> str:
    token = action_token(
        user_id=user_id,
        item_id=item.pk,
        action=action,
        version=item.version,
        status=item.status,
        due=item.due_date,
        owner_id=item.owner_id,
        notification_id=notification_id,
    )
    return reverse("actionitems:email_action", args=[token])


def choices_for(item: ActionItem, user: User, notification_id: int | None) -> list[Choice]:
    return [
        Choice(action, Action(action).label, make_link(item, user.pk, action, notification_id))
        for action in allowed_actions(item, user)
    ]


def what_changed(link: ActionLink, item: ActionItem) -> list[str]:
    """Since the email was written, as a person reads it."""
    changes = []
    if link.status != item.status:
        old, new = ActionItem.Status(link.status).label, item.get_status_display()
        changes.append(f"Its status changed from {old} to {new}.")
    if link.due != item.due_date:
        old = f"{link.due:%Y-%m-%d}" if link.due else "no date"
        new = f"{item.due_date:%Y-%m-%d}" if item.due_date else "no date"
        changes.append(f"Its due date moved from {old} to {new}.")
    if link.owner_id != item.owner_id:
        old_owner = User.objects.filter(pk=link.owner_id).first() if link.owner_id else None
        old = display_name(old_owner) or "nobody"
        changes.append(f"Its owner changed from {old} to {item.owner_display or 'nobody'}.")
    if not changes and link.version != item.version:
        changes.append("It was edited (its title, priority or notes).")
    for done in item.email_actions.select_related("actor")[:3]:
        who = display_name(done.actor) or "Someone"
        changes.append(
            f"{who} {done.summary()} from an email on {done.created_at:%Y-%m-%d %H:%M} UTC."
        )
    return changes


def open_link(token: str) -> Offer:
    """The offer a link makes, or LinkRefused saying why it makes none."""
    try:
        link = read_action_token(token)
    except LinkForged:
        raise LinkRefused("forged") from None
    except LinkExpired:
        raise LinkRefused("expired") from None
    if link.action not in Action.values:
        raise LinkRefused("forged")
    recipient = User.objects.filter(pk=link.user_id, is_active=True).first()
    if recipient is None:
        raise LinkRefused("not_allowed", link=link)
    item = (
        ActionItem.objects.select_related("owner", "postmortem__incident__team")
        .filter(pk=link.item_id)
        .first()
    )
    if item is None:
        raise LinkRefused("gone", link=link, recipient=recipient)
    used = EmailAction.objects.select_related("actor").filter(token_digest=link.digest).first()
    if used is not None:
        raise LinkRefused("used", used=used, link=link, item=item, recipient=recipient)
    # The version changes with every save in the app; the rest catches changes made where
    # versions are not counted (the admin).
    as_written = (link.version, link.status, link.due, link.owner_id)
    if as_written != (item.version, item.status, item.due_date, item.owner_id):
        changes = what_changed(link, item)
        raise LinkRefused("stale", changes=changes, link=link, item=item, recipient=recipient)
    if link.action not in allowed_actions(item, recipient):
        reason = "closed" if item.is_closed else "not_allowed"
        raise LinkRefused(reason, link=link, item=item, recipient=recipient)
    return Offer(link, item, recipient, local_today(recipient.pk))


def _values(offer: Offer, due_date: date | None, reason: str) -> dict[str, object]:
    errors = {}
    if len(reason) > REASON_LENGTH:
        errors["reason"] = f"Keep the reason under {REASON_LENGTH} characters."
    values: dict[str, object]
    if offer.action == Action.DONE:
        values = {"status": ActionItem.Status.DONE}
    elif offer.action in SNOOZE_DAYS:
        values = {"due_date": offer.new_due}
    elif offer.action == Action.MOVE:
        if due_date is None:
            errors["due_date"] = "Pick the new due date."
        elif due_date < offer.today:
            errors["due_date"] = f"Pick today ({offer.today:%Y-%m-%d}) or a later date."
        elif due_date > offer.today + LONGEST_MOVE:
            errors["due_date"] = "Pick a date within a year; re-plan longer work in the app."
        elif due_date == offer.item.due_date:
            errors["due_date"] = "That is already its due date."
        values = {"due_date": due_date}
    else:  # NOT_MINE
        values = {"owner": None}
    if errors:
        raise ActionInvalid(errors)
    return values


def apply_email_action(
    token: str, *, due_date: date | None = None, reason: str = ""
) -> EmailAction:
    """Apply what the link offers, once: recorded as a revision by the link's person, noted
    "from email", and logged for the item's history and the next digest."""
    reason = reason.strip()
    with transaction.atomic():
        offer = open_link(token)
        item, link = offer.item, offer.link
        values = _values(offer, due_date, reason)
        before = (item.status, item.due_date, item.owner_id)
        incident = item.postmortem.incident
        note = f"from email: {reason}" if reason else "from email"
        try:
            saved = save_row(
                incident,
                "action_items",
                item.pk,
                values,
                offer.recipient,
                base_version=link.version,
                note=note[:200],
            )
        except StaleEdit:
            # Two clicks at once: the other one won. Or the item changed a moment ago.
            used = EmailAction.objects.filter(token_digest=link.digest).first()
            fresh = ActionItem.objects.filter(pk=item.pk).first()
            who = offer.recipient
            if used is not None:
                raise LinkRefused("used", used=used, link=link, item=fresh, recipient=who) from None
            if fresh is None:
                raise LinkRefused("gone", link=link, recipient=who) from None
            changes = what_changed(link, fresh)
            raise LinkRefused(
                "stale", changes=changes, link=link, item=fresh, recipient=who
            ) from None
        revision = (
            Revision.objects.filter(incident=incident, section="action_items")
            .order_by("-version")
            .first()
        )
        try:
            with transaction.atomic():
                action = EmailAction.objects.create(
                    item=item,
                    actor=offer.recipient,
                    action=link.action,
                    notification_id=link.notification_id,
                    token_digest=link.digest,
                    from_status=before[0],
                    to_status=saved.status,
                    from_due=before[1],
                    to_due=saved.due_date,
                    from_owner_id=before[2],
                    reason=reason,
                    revision=revision,
                )
        except IntegrityError:
            raise LinkRefused("used", link=link, item=item, recipient=offer.recipient) from None
        if link.action == Action.NOT_MINE:
            from .tasks import queue_reassignment

            transaction.on_commit(partial(queue_reassignment.delay, action.pk))
    logger.info(
        "email action %s on action item %s by user %s (revision %s)",
        action.action,
        item.pk,
        offer.recipient.pk,
        revision.version if revision else None,
    )
    return action


def reassignment_candidates(action: EmailAction) -> list[tuple[str, int, int, str]]:
    """ "Not mine": every manager of the item's team is asked to give it an owner."""
    team_id = action.item.postmortem.incident.team_id
    managers = Membership.objects.filter(team_id=team_id, role=Membership.Role.MANAGER)
    return [
        (Kind.REASSIGN, manager_id, action.item_id, f"action-{action.pk}")
        for manager_id in managers.values_list("user_id", flat=True)
        if manager_id != action.actor_id
    ]


# Unsubscribe (RFC 8058 one-click) and the preferences it changes.

FIELD_OF_CATEGORY = {
    "digest": "weekly_digest",
    "nudges": "nudges",
    "mentions": "mentions",
    OVERDUE: "overdue_reminders",
}


def may_mute_overdue(user: User) -> bool:
    """Reminders about one's own overdue items stay on unless a team manager allowed them
    off (TeamFollowUpSettings.members_may_mute_overdue) in a team of this person."""
    return TeamFollowUpSettings.objects.filter(
        team__memberships__user=user, members_may_mute_overdue=True
    ).exists()


def stop_emails(user: User, category: str) -> bool:
    """Stop one kind of email for this person; False when it cannot be stopped."""
    if category == OVERDUE and not may_mute_overdue(user):
        return False
    EmailPreference.objects.update_or_create(
        user=user, defaults={FIELD_OF_CATEGORY[category]: False}
    )
    logger.info("user %s unsubscribed from %s emails", user.pk, category)
    return True


# Review meetings: calendars hold what they were last sent.


def current_invite(postmortem: Postmortem) -> MeetingInvite:
    """The invite for the meeting as the postmortem now has it, with a higher SEQUENCE when
    the time changed since attendees were last sent one. Call it inside a transaction."""
    meeting = postmortem.review_meeting_at
    invite, created = MeetingInvite.objects.select_for_update().get_or_create(
        postmortem=postmortem, defaults={"starts_at": meeting}
    )
    if not created and invite.starts_at != meeting:
        invite.previous_starts_at, invite.starts_at = invite.starts_at, meeting
        invite.sequence += 1
        invite.save()
    return invite


def meeting_change_candidates(postmortem_id: int) -> list[tuple[str, int, int, str]]:
    """After a save of a postmortem's review schedule: when the meeting attendees were sent
    is no longer the postmortem's (moved, or removed: cancelled), each of them is owed an
    update carrying the next SEQUENCE. Nothing when no invite went out yet: the reminders
    will carry the time as it is."""
    with transaction.atomic():
        invite = (
            MeetingInvite.objects.select_for_update().filter(postmortem_id=postmortem_id).first()
        )
        if invite is None:
            return []
        meeting = (
            Postmortem.objects.filter(pk=postmortem_id)
            .values_list("review_meeting_at", flat=True)
            .first()
        )
        if meeting == invite.starts_at:
            return []
        invite.previous_starts_at, invite.starts_at = invite.starts_at, meeting
        invite.sequence += 1
        invite.save()
        attendees = (
            Notification.objects.filter(
                kind__in=[Kind.REVIEW_MEETING, Kind.MEETING_UPDATE],
                object_id=postmortem_id,
                status=Notification.Status.SENT,
            )
            .values_list("recipient_id", flat=True)
            .distinct()
        )
        period = f"sequence-{invite.sequence}"
        return [(Kind.MEETING_UPDATE, user_id, postmortem_id, period) for user_id in attendees]
