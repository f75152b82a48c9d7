"""What the follow-up engine owes people, decided in a few batched queries.

Each sweep yields candidates (kind, recipient, object, period); `record` inserts them as
Notification rows, and the unique constraint drops every one already recorded. The period
is what makes a reminder repeat or not: the overdue interval's number, the due date, the
meeting, the ISO week of a digest. The tasks call them with the current time; tests freeze
the clock rather than pass another moment, so that the emails composed later agree.
"""

from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from itertools import chain

from django.conf import settings
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from incidents.models import Membership
from postmortems.models import FollowUp, Mention, Postmortem, ReviewRequest

from .models import ActionItem, EmailPreference, Notification

Kind = Notification.Kind
BATCH = 2000


def managers_by_team():
    managers = defaultdict(list)
    rows = Membership.objects.filter(role=Membership.Role.MANAGER).values_list("team", "user")
    for team_id, user_id in rows:
        managers[team_id].append(user_id)
    return managers


def authors_by_postmortem(postmortem_ids):
    authors = defaultdict(set)
    rows = Postmortem.authors.through.objects.filter(postmortem_id__in=postmortem_ids)
    for postmortem_id, user_id in rows.values_list("postmortem_id", "user_id"):
        authors[postmortem_id].add(user_id)
    return authors


def lateness(due_date, now):
    """How late an item is, counted as people do: due on the 11th, on the 12th it is one day
    overdue and on the 18th seven. (It only counts as overdue once its due date is over.)"""
    return now - datetime.combine(due_date, time.min, tzinfo=UTC)


def overdue_candidates(now):
    """The owner every REMINDER_INTERVAL while overdue; the team's managers too after
    ESCALATE_AFTER (an item nobody owns goes to the managers then)."""
    managers = managers_by_team()
    items = (
        ActionItem.objects.overdue(now.date())
        .values_list("pk", "owner_id", "due_date", "postmortem__incident__team_id")
        .iterator(chunk_size=BATCH)
    )
    for pk, owner_id, due_date, team_id in items:
        late = lateness(due_date, now)
        period = str(int(late / settings.REMINDER_INTERVAL))
        if owner_id is not None:
            yield Kind.OVERDUE, owner_id, pk, period
        if late >= settings.ESCALATE_AFTER:
            for manager_id in managers.get(team_id, ()):
                if manager_id != owner_id:
                    yield Kind.ESCALATION, manager_id, pk, period


def due_soon_candidates(now):
    """One heads-up per item and due date, DUE_SOON_WITHIN before it."""
    today = now.date()
    within = timedelta(days=settings.DUE_SOON_WITHIN.days)
    items = (
        ActionItem.objects.due_soon(within=within, today=today)
        .filter(owner__isnull=False)
        .values_list("pk", "owner_id", "due_date")
        .iterator(chunk_size=BATCH)
    )
    for pk, owner_id, due_date in items:
        yield Kind.DUE_SOON, owner_id, pk, due_date.isoformat()


def which_day(day, today):
    return "day-before" if day == today + timedelta(days=1) else "on-the-day"


def review_meeting_candidates(now):
    """Reviewers (and authors) the day before the review meeting and on the day."""
    today = now.date()
    meetings = dict(
        Postmortem.objects.exclude(status=Postmortem.Status.PUBLISHED)
        .filter(review_meeting_at__date__in=[today, today + timedelta(days=1)])
        .filter(review_meeting_at__gt=now)
        .values_list("pk", "review_meeting_at")
    )
    people = authors_by_postmortem(meetings)
    reviewers = ReviewRequest.objects.filter(postmortem_id__in=meetings)
    for postmortem_id, reviewer_id in reviewers.values_list("postmortem_id", "reviewer_id"):
        people[postmortem_id].add(reviewer_id)
    for postmortem_id, meeting in meetings.items():
        meeting = meeting.astimezone(UTC)
        period = f"{meeting:%Y-%m-%dT%H:%M}:{which_day(meeting.date(), today)}"
        for user_id in people[postmortem_id]:
            yield Kind.REVIEW_MEETING, user_id, postmortem_id, period


def follow_up_candidates(now):
    """Authors the day before a follow-up date and on the day, until it is done."""
    today = now.date()
    follow_ups = list(
        FollowUp.objects.filter(
            completed_at__isnull=True, due_on__in=[today, today + timedelta(days=1)]
        ).values_list("pk", "postmortem_id", "due_on")
    )
    authors = authors_by_postmortem({postmortem_id for _, postmortem_id, _ in follow_ups})
    for pk, postmortem_id, due_on in follow_ups:
        for user_id in authors[postmortem_id]:
            yield Kind.FOLLOW_UP, user_id, pk, f"{due_on:%Y-%m-%d}:{which_day(due_on, today)}"


def draft_nudge_candidates(now):
    """Authors of a postmortem still in draft DRAFT_NUDGE_AFTER after the incident resolved."""
    drafts = list(
        Postmortem.objects.filter(
            status=Postmortem.Status.DRAFT,
            incident__resolved_at__lte=now - settings.DRAFT_NUDGE_AFTER,
        ).values_list("pk", flat=True)
    )
    for postmortem_id, user_ids in authors_by_postmortem(drafts).items():
        for user_id in user_ids:
            yield Kind.DRAFT_NUDGE, user_id, postmortem_id, "draft"


def mention_candidates(now, comment_id=None):
    mentions = Mention.objects.filter(emailed_at__isnull=True)
    if comment_id is not None:
        mentions = mentions.filter(comment_id=comment_id)
    for pk, user_id in mentions.values_list("pk", "user_id").iterator(chunk_size=BATCH):
        yield Kind.MENTION, user_id, pk, "mention"


def iso_week(day):
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def digest_candidates(now):
    """Each team manager who did not opt out, for teams with overdue or due-soon items."""
    today = now.date()
    horizon = today + timedelta(days=settings.DUE_SOON_WITHIN.days)
    busy_teams = set(
        ActionItem.objects.open()
        .filter(due_date__lte=horizon)
        .values_list("postmortem__incident__team_id", flat=True)
        .distinct()
    )
    opted_out = set(
        EmailPreference.objects.filter(weekly_digest=False).values_list("user_id", flat=True)
    )
    week = iso_week(today)
    for team_id, manager_ids in managers_by_team().items():
        if team_id in busy_teams:
            for manager_id in manager_ids:
                if manager_id not in opted_out:
                    yield Kind.DIGEST, manager_id, team_id, week


def daily_candidates(now):
    return chain(
        overdue_candidates(now),
        due_soon_candidates(now),
        review_meeting_candidates(now),
        follow_up_candidates(now),
        draft_nudge_candidates(now),
        mention_candidates(now),
    )


def record(candidates):
    """Insert what is owed; rows recorded before (by this or any sweep) are left alone.
    Returns how many were owed."""
    rows = (
        Notification(kind=kind, recipient_id=recipient_id, object_id=object_id, period=period)
        for kind, recipient_id, object_id, period in candidates
    )
    batch, count = [], 0
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            Notification.objects.bulk_create(batch, ignore_conflicts=True)
            count, batch = count + len(batch), []
    if batch:
        Notification.objects.bulk_create(batch, ignore_conflicts=True)
        count += len(batch)
    return count


def due_for_sending(recorded_since, clock=None):
    """Pending rows to queue: the ones this sweep recorded, and any left pending for longer
    than RESEND_AFTER (a worker died before sending, or SMTP kept failing)."""
    clock = clock or timezone.now()
    stale = clock - settings.RESEND_AFTER
    return (
        Notification.objects.filter(status=Notification.Status.PENDING)
        .alias(last_touched=Coalesce(F("last_attempt_at"), F("created_at")))
        .filter(Q(created_at__gte=recorded_since, attempts=0) | Q(last_touched__lt=stale))
        .values_list("pk", flat=True)
    )
