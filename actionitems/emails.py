"""The email each Notification becomes: subject, text and HTML bodies, headers, an .ics invite.

A builder returns None when what the reminder is about is gone or settled (the item was
done, the meeting moved, the draft went to review, the person is no longer the one to ask):
the notification is then skipped.

Every email carries a Message-ID derived from its notification (the same on every attempt),
and emails about one action item, one review meeting or one follow-up date form a thread per
recipient: one subject (what changes, like a day count, is in the body) and In-Reply-To /
References pointing at the first email of the thread. Emails a person may turn off carry
List-Unsubscribe and List-Unsubscribe-Post (RFC 8058) for that kind alone.
"""

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress

from incidents.models import Incident, Team
from postmortems.checklist import unfinished_follow_through
from postmortems.models import FollowUp, Mention, Postmortem
from postmortems.templatetags.studio import display_name

from .links import DIGEST, OVERDUE, unsubscribe_token
from .models import (
    ActionItem,
    EmailAction,
    EmailPreference,
    MeetingInvite,
    Notification,
    TeamFollowUpSettings,
    zone_of,
)
from .reminders import CATEGORY, PREFERENCE_FIELD
from .services import choices_for, current_invite, is_manager

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Kind = Notification.Kind
MEETING_LENGTH = timedelta(hours=1)

# Emails about the same thing to the same person, grouped by mail clients (see compose).
THREADS: dict[str, str] = {
    Kind.OVERDUE: "item",
    Kind.ESCALATION: "item",
    Kind.DUE_SOON: "item",
    Kind.REASSIGN: "item",
    Kind.REVIEW_MEETING: "review",
    Kind.MEETING_UPDATE: "review",
    Kind.FOLLOW_UP: "follow_up",
}


@dataclass
class Email:
    subject: str
    context: dict[str, Any]
    attachments: list[tuple[str, str, str]] = field(default_factory=list)  # name, content, type
    headers: dict[str, str] = field(default_factory=dict)
    # What the recipient may turn this email off as (links.CATEGORIES), when the kind alone
    # does not say (OPTIONAL).
    category: str | None = None


def one_line(subject: str) -> str:
    """A subject on one line: titles typed through the API or an import may hold line breaks,
    which Django refuses in a header (BadHeaderError), so the email would never be sent."""
    return " ".join(subject.split())


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def about(incident: Incident) -> str:
    return f"{incident.reference} {incident.title}"


def unsubscribe_url(user: "User", category: str = DIGEST) -> str:
    return absolute(reverse("actionitems:unsubscribe", args=[unsubscribe_token(user.pk, category)]))


def sender_address() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "studio@localhost"


def local_time(moment: datetime, zone: zoneinfo.ZoneInfo) -> str:
    """A time in UTC, and on the reader's clock too when that is not UTC."""
    utc = moment.astimezone(UTC)
    text = f"{utc:%A %Y-%m-%d %H:%M} UTC"
    if zone.key == "UTC":
        return text
    local = moment.astimezone(zone)
    day = f"{local:%A} " if local.date() != utc.date() else ""
    return f"{text} ({day}{local:%H:%M} {zone.key} time)"


def calendar_uid(name: str) -> str:
    """A calendar event's UID, in the form invites have carried since the first release (a
    new form would make calendars add the event twice)."""
    return f"{name}@{settings.SITE_URL.split('://')[-1]}"


def calendar(
    uid: str,
    summary: str,
    description: str,
    url: str,
    start: datetime | date,
    end: datetime | None = None,
    *,
    all_day: bool = False,
    sequence: int = 0,
    attendee: str | None = None,
    cancel: bool = False,
) -> tuple[str, str, str]:
    """An .ics a calendar adds, updates (same UID, higher SEQUENCE) or removes (CANCEL).

    With an attendee it is an iTIP REQUEST (RFC 5546) from the studio as organizer, the form
    calendars apply updates and cancellations to; without, a plain PUBLISH."""
    cal = Calendar()
    cal.add("prodid", "-//Postmortem Studio//EN")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancel else "REQUEST" if attendee else "PUBLISH")
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", timezone.now())
    event.add("summary", summary)
    event.add("description", f"{description}\n\n{url}")
    event.add("url", url)
    if all_day:
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(days=1))
    else:
        event.add("dtstart", start)
        event.add("dtend", end)
    if attendee:
        organizer = vCalAddress(f"mailto:{sender_address()}")
        organizer.params["cn"] = settings.SITE_NAME
        event.add("organizer", organizer)
        guest = vCalAddress(f"mailto:{attendee}")
        guest.params["role"] = "REQ-PARTICIPANT"
        event.add("attendee", guest)
    if cancel:
        event.add("status", "CANCELLED")
    cal.add_component(event)
    return ("invite.ics", cal.to_ical().decode(), "text/calendar")


def item_subject(item: ActionItem) -> str:
    return f"Action item: {item.title} ({about(item.postmortem.incident)})"


def open_item(notification: Notification) -> ActionItem | None:
    item = (
        ActionItem.objects.select_related("owner", "postmortem__incident__team")
        .filter(pk=notification.object_id)
        .first()
    )
    return item if item is not None and not item.is_closed else None


def stands_in(item: ActionItem, recipient: "User") -> bool:
    """A manager reminded in the place of an owner without an account."""
    return item.owned_by_name and is_manager(recipient.pk, item.postmortem.incident.team_id)


def item_email(notification: Notification, now: datetime) -> Email | None:
    item = open_item(notification)
    if item is None:
        return None
    recipient = notification.recipient
    incident = item.postmortem.incident
    in_place = stands_in(item, recipient)
    if notification.kind == Kind.ESCALATION:
        if item.owner_id == recipient.pk or not is_manager(recipient.pk, incident.team_id):
            return None
    elif item.owner_id != recipient.pk and not in_place:
        return None  # given to someone else since: their reminders are theirs
    zone = zone_of(recipient.pk)
    today = now.astimezone(zone).date()
    cadence = TeamFollowUpSettings.for_team(incident.team).cadence()
    context = {
        "item": item,
        "incident": incident,
        "item_url": absolute(item.get_absolute_url()),
        "escalated": notification.kind == Kind.ESCALATION,
        "in_place": in_place,
        "cadence": cadence.describe_reminders(),
        "choices": [
            (choice.label, absolute(choice.url))
            for choice in choices_for(item, recipient, notification.pk)
        ],
    }
    category = None
    if notification.kind == Kind.DUE_SOON:
        if item.due_date is None or item.due_date.isoformat() != notification.period:
            return None  # the due date moved: that date's heads-up no longer applies
        context["due_in_days"] = (item.due_date - today).days
    else:
        if item.due_date is None or item.due_date >= today:
            return None  # no longer overdue
        context["days_late"] = (today - item.due_date).days
        mutable = cadence.members_may_mute_overdue and item.owner_id == recipient.pk
        category = OVERDUE if notification.kind == Kind.OVERDUE and mutable else None
    return Email(item_subject(item), context, category=category)


def reassign_email(notification: Notification, now: datetime) -> Email | None:
    """A manager asked to give an item an owner, after its owner said "Not mine"."""
    item = open_item(notification)
    action_id = notification.period.removeprefix("action-")
    action = (
        EmailAction.objects.select_related("actor").filter(pk=action_id).first()
        if action_id.isdigit()
        else None
    )
    if item is None or action is None or item.owner_id is not None:
        return None  # done meanwhile, or someone already took it
    return Email(
        item_subject(item),
        {
            "item": item,
            "incident": item.postmortem.incident,
            "item_url": absolute(item.get_absolute_url()),
            "section_url": absolute(
                f"{item.postmortem.incident.get_absolute_url()}#section-action_items"
            ),
            "asker": display_name(action.actor) or "The owner",
            "reason": action.reason,
        },
    )


def review_meeting_email(notification: Notification, now: datetime) -> Email | None:
    postmortem = (
        Postmortem.objects.select_related("incident").filter(pk=notification.object_id).first()
    )
    if postmortem is None or postmortem.review_meeting_at is None:
        return None
    meeting = postmortem.review_meeting_at.astimezone(UTC)
    if not notification.period.startswith(f"{meeting:%Y-%m-%dT%H:%M}"):
        return None  # the meeting moved; the new time has reminders of its own
    invite = current_invite(postmortem)
    incident = postmortem.incident
    url = absolute(f"{incident.get_absolute_url()}#review")
    when = "tomorrow" if notification.period.endswith("day-before") else "today"
    return Email(
        f"Postmortem review: {about(incident)}",
        {
            "postmortem": postmortem,
            "incident": incident,
            "meeting": meeting,
            "meeting_text": local_time(meeting, zone_of(notification.recipient_id)),
            "url": url,
            "when": when,
        },
        attachments=[meeting_invite(invite, postmortem, notification.recipient.email, url)],
    )


def meeting_invite(
    invite: MeetingInvite, postmortem: Postmortem, attendee: str, url: str
) -> tuple[str, str, str]:
    incident = postmortem.incident
    start = invite.starts_at or invite.previous_starts_at
    assert start is not None, "an invite always had a time"
    return calendar(
        calendar_uid(f"postmortem-review-{postmortem.pk}"),
        f"Postmortem review: {about(incident)}",
        "Review of the postmortem, then sign-off.",
        url,
        start,
        start + MEETING_LENGTH,
        sequence=invite.sequence,
        attendee=attendee,
        cancel=invite.starts_at is None,
    )


def meeting_update_email(notification: Notification, now: datetime) -> Email | None:
    """The meeting moved or was cancelled after attendees got its invite."""
    invite = (
        MeetingInvite.objects.select_related("postmortem__incident")
        .filter(postmortem_id=notification.object_id)
        .first()
    )
    if invite is None or notification.period != f"sequence-{invite.sequence}":
        return None  # changed again since: the later update says where it is now
    postmortem = invite.postmortem
    previous = invite.previous_starts_at
    if invite.starts_at is None and (previous is None or previous < now):
        return None  # cleared after it took place: nothing on anyone's calendar to cancel
    incident = postmortem.incident
    url = absolute(f"{incident.get_absolute_url()}#review")
    zone = zone_of(notification.recipient_id)
    return Email(
        f"Postmortem review: {about(incident)}",
        {
            "incident": incident,
            "url": url,
            "cancelled": invite.starts_at is None,
            "meeting_text": local_time(invite.starts_at, zone) if invite.starts_at else "",
            "previous_text": local_time(previous, zone) if previous else "",
        },
        attachments=[meeting_invite(invite, postmortem, notification.recipient.email, url)],
    )


def follow_up_email(notification: Notification, now: datetime) -> Email | None:
    follow_up = (
        FollowUp.objects.select_related("postmortem__incident")
        .filter(pk=notification.object_id, completed_at__isnull=True)
        .first()
    )
    if follow_up is None or not notification.period.startswith(f"{follow_up.due_on:%Y-%m-%d}"):
        return None
    incident = follow_up.postmortem.incident
    url = absolute(f"{incident.get_absolute_url()}#section-follow_ups")
    when = "tomorrow" if notification.period.endswith("day-before") else "today"
    return Email(
        f"Follow-up: {follow_up.title} ({about(incident)})",
        {"follow_up": follow_up, "incident": incident, "url": url, "when": when},
        attachments=[
            calendar(
                calendar_uid(f"postmortem-follow-up-{follow_up.pk}"),
                f"{follow_up.title}: {about(incident)}",
                "Check the progress of the action items.",
                url,
                follow_up.due_on,
                all_day=True,
            )
        ],
    )


def draft_nudge_email(notification: Notification, now: datetime) -> Email | None:
    postmortem = (
        Postmortem.objects.select_related("incident")
        .filter(pk=notification.object_id, status=Postmortem.Status.DRAFT)
        .first()
    )
    resolved = postmortem.incident.resolved_at if postmortem else None
    if postmortem is None or resolved is None:
        return None
    incident = postmortem.incident
    hours = int((now - resolved).total_seconds() // 3600)
    return Email(
        f"Still a draft {hours} hours after resolution: postmortem of {about(incident)}",
        {
            "postmortem": postmortem,
            "incident": incident,
            "hours": hours,
            "url": absolute(f"{incident.get_absolute_url()}#review"),
        },
    )


def mention_email(notification: Notification, now: datetime) -> Email | None:
    mention = (
        Mention.objects.select_related("comment__author", "comment__postmortem__incident")
        .filter(pk=notification.object_id)
        .first()
    )
    if mention is None:
        return None
    comment = mention.comment
    incident = comment.postmortem.incident
    author = display_name(comment.author) or "Someone"
    return Email(
        f"{author} mentioned you in {about(incident)}",
        {
            "comment": comment,
            "author": author,
            "incident": incident,
            "section": comment.get_section_display(),
            "url": absolute(f"{incident.get_absolute_url()}#section-{comment.section}"),
        },
    )


def digest_email(notification: Notification, now: datetime) -> Email | None:
    team = Team.objects.filter(pk=notification.object_id).first()
    if team is None:
        return None
    today = now.astimezone(zone_of(notification.recipient_id)).date()
    cadence = TeamFollowUpSettings.for_team(team).cadence()
    horizon = today + timedelta(days=cadence.heads_up_days)
    items = list(
        ActionItem.objects.open()
        .filter(postmortem__incident__team=team, due_date__lte=horizon)
        .select_related("owner", "postmortem__incident")
        .order_by("postmortem__incident__started_at", "due_date", "pk")
    )
    last_digest = (
        Notification.objects.filter(
            kind=Kind.DIGEST,
            recipient_id=notification.recipient_id,
            object_id=team.pk,
            status=Notification.Status.SENT,
        )
        .exclude(pk=notification.pk)
        .order_by("-sent_at")
        .values_list("sent_at", flat=True)
        .first()
    )
    from_email = list(
        EmailAction.objects.filter(
            item__postmortem__incident__team=team,
            created_at__gte=last_digest or now - timedelta(days=7),
        )
        .select_related("actor", "item__postmortem__incident")
        .order_by("created_at", "pk")
    )
    # Published postmortems whose after-publication checklist is not done: listed every week
    # until it is.
    follow_through = [
        (postmortem, absolute(f"{postmortem.incident.get_absolute_url()}#after-publication"), left)
        for postmortem, left in unfinished_follow_through(
            Postmortem.objects.filter(incident__team=team)
        )
    ]
    if not items and not from_email and not follow_through:
        return None
    groups: dict[Postmortem, list[ActionItem]] = {}
    for item in items:
        item.url = absolute(item.get_absolute_url())
        item.is_late = item.is_overdue(today)  # False without a due date, never a TypeError
        groups.setdefault(item.postmortem, []).append(item)
    overdue = sum(item.is_late for item in items)
    subject = f"Weekly follow-up for {team}: {overdue} overdue, {len(items) - overdue} due soon"
    if not items and not from_email:
        n = len(follow_through)
        postmortems = "published postmortem" + ("s" if n != 1 else "")
        subject = f"Weekly follow-up for {team}: {n} {postmortems} to follow through"
    return Email(
        subject,
        {
            "team": team,
            "groups": [
                (postmortem, absolute(postmortem.incident.get_absolute_url()), group)
                for postmortem, group in groups.items()
            ],
            "from_email": [
                (action, absolute(action.item.get_absolute_url())) for action in from_email
            ],
            "week": notification.period,
            "follow_through": follow_through,
        },
        category=DIGEST,
    )


Builder = Callable[[Notification, datetime], "Email | None"]
BUILDERS: dict[str, Builder] = {
    Kind.OVERDUE: item_email,
    Kind.ESCALATION: item_email,
    Kind.DUE_SOON: item_email,
    Kind.REASSIGN: reassign_email,
    Kind.REVIEW_MEETING: review_meeting_email,
    Kind.MEETING_UPDATE: meeting_update_email,
    Kind.FOLLOW_UP: follow_up_email,
    Kind.DRAFT_NUDGE: draft_nudge_email,
    Kind.MENTION: mention_email,
    Kind.DIGEST: digest_email,
}


def opted_out(recipient: "User", category: str) -> bool:
    field = PREFERENCE_FIELD[category]
    return EmailPreference.objects.filter(user=recipient, **{field: False}).exists()


def thread_headers(notification: Notification) -> dict[str, str]:
    """In-Reply-To and References to the first email sent to this person about the same
    item, review or follow-up, so that mail clients show them as one conversation."""
    family = THREADS.get(notification.kind)
    if family is None:
        return {}
    first = (
        Notification.objects.filter(
            recipient_id=notification.recipient_id,
            object_id=notification.object_id,
            kind__in=[kind for kind, name in THREADS.items() if name == family],
            status=Notification.Status.SENT,
        )
        .exclude(pk=notification.pk)
        .order_by("sent_at", "pk")
        .first()
    )
    if first is None:
        return {}
    return {"In-Reply-To": first.message_id, "References": first.message_id}


def compose(
    notification: Notification, now: datetime | None = None
) -> EmailMultiAlternatives | None:
    """The message for a notification, or None when it no longer applies."""
    now = now or timezone.now()
    recipient = notification.recipient
    if not recipient.email or not recipient.is_active:
        return None
    email = BUILDERS[notification.kind](notification, now)
    if email is None:
        return None
    context = {
        **email.context,
        "recipient": recipient,
        "name": display_name(recipient),
        "site_url": settings.SITE_URL,
        "preferences_url": absolute(reverse("actionitems:preferences")),
    }
    headers = {
        "Message-ID": notification.message_id,
        "X-Postmortem-Notification": f"{notification.kind}:{notification.pk}",
        **thread_headers(notification),
        **email.headers,
    }
    category = email.category or OPTIONAL.get(notification.kind)
    if category and opted_out(recipient, category):
        return None  # turned off after the sweep recorded it
    if category:
        unsubscribe = unsubscribe_url(recipient, category)
        context["unsubscribe_url"] = unsubscribe
        context["unsubscribe_what"] = UNSUBSCRIBE_WHAT[category]
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    template = f"actionitems/emails/{notification.kind}"
    message = EmailMultiAlternatives(
        subject=one_line(email.subject),
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email],
        headers=headers,
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    for filename, content, mimetype in email.attachments:
        message.attach(filename, content, mimetype)
    return message


# What a person may turn off; their own overdue items only where the team allows it, which
# item_email decides.
OPTIONAL: dict[str, str] = {
    kind: category for kind, category in CATEGORY.items() if category != OVERDUE
}
UNSUBSCRIBE_WHAT = {
    "digest": "Stop these weekly emails",
    "nudges": "Stop heads-ups and nudges",
    "mentions": "Stop emails about mentions",
    OVERDUE: "Stop reminders about my overdue items",
}
