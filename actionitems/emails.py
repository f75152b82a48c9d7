"""The email each Notification becomes: subject, text and HTML bodies, an .ics invite.

A builder returns None when what the reminder is about is gone or settled (the item was
done, the meeting moved, the draft went to review): the notification is then skipped.
"""

from dataclasses import dataclass, field
from datetime import UTC, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from postmortems.models import FollowUp, Mention, Postmortem
from postmortems.templatetags.studio import display_name

from .models import ActionItem, Notification
from .reminders import lateness

Kind = Notification.Kind
UNSUBSCRIBE_SALT = "actionitems.digest-unsubscribe"
MEETING_LENGTH = timedelta(hours=1)


@dataclass
class Email:
    subject: str
    context: dict
    attachments: list = field(default_factory=list)  # (filename, content, mimetype)
    headers: dict = field(default_factory=dict)


def absolute(path):
    return f"{settings.SITE_URL}{path}"


def about(incident):
    return f"{incident.reference} {incident.title}"


def unsubscribe_url(user):
    token = signing.dumps(user.pk, salt=UNSUBSCRIBE_SALT)
    return absolute(reverse("actionitems:unsubscribe", args=[token]))


def user_from_unsubscribe_token(token):
    """The user a digest's unsubscribe link was made for, or None for a forged token."""
    from django.contrib.auth import get_user_model

    try:
        pk = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return get_user_model().objects.filter(pk=pk).first()


def calendar(uid, summary, description, url, start, end=None, all_day=False):
    """An .ics a calendar adds (or updates, by the stable uid) with one click."""
    cal = Calendar()
    cal.add("prodid", "-//Postmortem Studio//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{uid}@{settings.SITE_URL.split('://')[-1]}")
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
    cal.add_component(event)
    return ("invite.ics", cal.to_ical().decode(), "text/calendar")


def open_item(notification):
    item = (
        ActionItem.objects.select_related("owner", "postmortem__incident__team")
        .filter(pk=notification.object_id)
        .first()
    )
    return item if item is not None and not item.is_closed else None


def item_email(notification, now):
    item = open_item(notification)
    if item is None:
        return None
    incident = item.postmortem.incident
    days_late = lateness(item.due_date, now).days if item.due_date else 0
    context = {
        "item": item,
        "incident": incident,
        "item_url": absolute(item.get_absolute_url()),
        "days_late": days_late,
        "escalated": notification.kind == Kind.ESCALATION,
    }
    if notification.kind == Kind.DUE_SOON:
        if item.due_date is None or item.due_date.isoformat() != notification.period:
            return None  # the due date moved: that date's heads-up no longer applies
        return Email(f"Due {item.due_date:%Y-%m-%d}: {item.title} ({about(incident)})", context)
    if item.due_date is None or item.due_date >= now.date():
        return None  # no longer overdue
    if notification.kind == Kind.ESCALATION:
        subject = f"Escalated, {days_late} days overdue: {item.title} ({about(incident)})"
    else:
        subject = f"Overdue: {item.title} ({about(incident)})"
    return Email(subject, context)


def review_meeting_email(notification, now):
    postmortem = (
        Postmortem.objects.select_related("incident").filter(pk=notification.object_id).first()
    )
    if postmortem is None or postmortem.review_meeting_at is None:
        return None
    meeting = postmortem.review_meeting_at.astimezone(UTC)
    if not notification.period.startswith(f"{meeting:%Y-%m-%dT%H:%M}"):
        return None  # the meeting moved; the new time has reminders of its own
    incident = postmortem.incident
    url = absolute(f"{incident.get_absolute_url()}#review")
    when = "tomorrow" if notification.period.endswith("day-before") else "today"
    summary = f"Postmortem review: {about(incident)}"
    return Email(
        f"Postmortem review {when} at {meeting:%H:%M} UTC: {about(incident)}",
        {"postmortem": postmortem, "incident": incident, "meeting": meeting, "url": url,
         "when": when},
        attachments=[
            calendar(
                f"postmortem-review-{postmortem.pk}",
                summary,
                "Review of the postmortem, then sign-off.",
                url,
                meeting,
                meeting + MEETING_LENGTH,
            )
        ],
    )  # fmt: skip


def follow_up_email(notification, now):
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
        f"Follow-up {when}: {follow_up.title} ({about(incident)})",
        {"follow_up": follow_up, "incident": incident, "url": url, "when": when},
        attachments=[
            calendar(
                f"postmortem-follow-up-{follow_up.pk}",
                f"{follow_up.title}: {about(incident)}",
                "Check the progress of the action items.",
                url,
                follow_up.due_on,
                all_day=True,
            )
        ],
    )


def draft_nudge_email(notification, now):
    postmortem = (
        Postmortem.objects.select_related("incident")
        .filter(pk=notification.object_id, status=Postmortem.Status.DRAFT)
        .first()
    )
    if postmortem is None:
        return None
    incident = postmortem.incident
    hours = int((now - incident.resolved_at).total_seconds() // 3600)
    return Email(
        f"Still a draft {hours} hours after resolution: postmortem of {about(incident)}",
        {
            "postmortem": postmortem,
            "incident": incident,
            "hours": hours,
            "url": absolute(f"{incident.get_absolute_url()}#review"),
        },
    )


def mention_email(notification, now):
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


def digest_email(notification, now):
    from incidents.models import Team

    team = Team.objects.filter(pk=notification.object_id).first()
    if team is None:
        return None
    today = now.date()
    horizon = today + timedelta(days=settings.DUE_SOON_WITHIN.days)
    items = list(
        ActionItem.objects.open()
        .filter(postmortem__incident__team=team, due_date__lte=horizon)
        .select_related("owner", "postmortem__incident")
        .order_by("postmortem__incident__started_at", "due_date", "pk")
    )
    if not items:
        return None
    groups = {}
    for item in items:
        item.url = absolute(item.get_absolute_url())
        item.is_late = item.due_date < today
        groups.setdefault(item.postmortem, []).append(item)
    overdue = sum(item.is_late for item in items)
    unsubscribe = unsubscribe_url(notification.recipient)
    return Email(
        f"Weekly follow-up for {team}: {overdue} overdue, {len(items) - overdue} due soon",
        {
            "team": team,
            "groups": [
                (postmortem, absolute(postmortem.incident.get_absolute_url()), group)
                for postmortem, group in groups.items()
            ],
            "week": notification.period,
            "unsubscribe_url": unsubscribe,
            "preferences_url": absolute(reverse("actionitems:preferences")),
        },
        headers={"List-Unsubscribe": f"<{unsubscribe}>"},
    )


BUILDERS = {
    Kind.OVERDUE: item_email,
    Kind.ESCALATION: item_email,
    Kind.DUE_SOON: item_email,
    Kind.REVIEW_MEETING: review_meeting_email,
    Kind.FOLLOW_UP: follow_up_email,
    Kind.DRAFT_NUDGE: draft_nudge_email,
    Kind.MENTION: mention_email,
    Kind.DIGEST: digest_email,
}


def compose(notification, now=None):
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
        "preferences_url": email.context.get(
            "preferences_url", absolute(reverse("actionitems:preferences"))
        ),
    }
    template = f"actionitems/emails/{notification.kind}"
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email],
        headers={"X-Postmortem-Notification": f"{notification.kind}:{notification.pk}",
                 **email.headers},
    )  # fmt: skip
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    for filename, content, mimetype in email.attachments:
        message.attach(filename, content, mimetype)
    return message
