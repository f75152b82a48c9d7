"""What the follow-up engine owes people, decided in a few batched queries.

Each sweep yields candidates (kind, recipient, object, period); `record` inserts them as
Notification rows, and the unique constraint drops every one already recorded. The period
is what makes a reminder repeat or not: the recipient's date (or the cadence's cycle) for
overdue items, the due date, the meeting, the ISO week of a digest. Each team's cadence
(TeamFollowUpSettings, rules in cadence.py) decides how often; each recipient's time zone
decides their date, and reminders wait for their working hours (REMINDER_HOURS). The tasks
call the sweeps with the current time; tests freeze the clock rather than pass another
moment, so that the emails composed later agree.
"""

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import chain

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from incidents.models import Membership
from postmortems.checklist import unfinished_follow_through
from postmortems.models import FollowUp, Mention, Postmortem, ReviewRequest

from . import cadence as rules
from .cadence import Cadence, which_day
from .links import DIGEST, MENTIONS, NUDGES, OVERDUE
from .models import (
    ActionItem,
    EmailAction,
    EmailPreference,
    Notification,
    default_cadence,
    team_cadences,
)

Kind = Notification.Kind
BATCH = 2000
Candidate = tuple[str, int, int, str]

# The kinds a person may turn off, by what they are (links.CATEGORIES); the others are how
# work gets finished (overdue items one owns, escalations to managers, meeting changes).
CATEGORY: dict[str, str] = {
    Kind.DIGEST: DIGEST,
    Kind.DUE_SOON: NUDGES,
    Kind.REVIEW_MEETING: NUDGES,
    Kind.FOLLOW_UP: NUDGES,
    Kind.DRAFT_NUDGE: NUDGES,
    Kind.MENTION: MENTIONS,
    Kind.OVERDUE: OVERDUE,
}
PREFERENCE_FIELD = {
    DIGEST: "weekly_digest",
    NUDGES: "nudges",
    MENTIONS: "mentions",
    OVERDUE: "overdue_reminders",
}


class Audience:
    """Every recipient's clock and choices, read once per sweep (most people have no row:
    UTC, everything on)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.zones: dict[int, str] = {}
        self.opted_out: dict[str, set[int]] = {category: set() for category in PREFERENCE_FIELD}
        fields = ["user_id", "timezone", *PREFERENCE_FIELD.values()]
        for row in EmailPreference.objects.values(*fields).iterator(chunk_size=BATCH):
            if row["timezone"] != "UTC":
                self.zones[row["user_id"]] = row["timezone"]
            for category, field in PREFERENCE_FIELD.items():
                if not row[field]:
                    self.opted_out[category].add(row["user_id"])
        self._clocks: dict[str, datetime] = {}

    def clock(self, user_id: int) -> datetime:
        """The time on this person's own clock."""
        name = self.zones.get(user_id, "UTC")
        if name not in self._clocks:
            self._clocks[name] = self.now.astimezone(zoneinfo.ZoneInfo(name))
        return self._clocks[name]

    def today(self, user_id: int) -> date:
        return self.clock(user_id).date()

    def awake(self, user_id: int) -> bool:
        return rules.awake(self.clock(user_id), settings.REMINDER_HOURS)

    def wants(self, user_id: int, kind: str, cadence: Cadence | None = None) -> bool:
        category = CATEGORY.get(kind)
        if category is None:
            return True
        if category == OVERDUE and not (cadence and cadence.members_may_mute_overdue):
            return True  # one's own overdue items, unless the team allows turning them off
        return user_id not in self.opted_out[category]


def managers_by_team() -> dict[int, list[int]]:
    managers = defaultdict(list)
    rows = Membership.objects.filter(role=Membership.Role.MANAGER).values_list("team", "user")
    for team_id, user_id in rows:
        managers[team_id].append(user_id)
    return managers


def authors_by_postmortem(postmortem_ids: Iterable[int]) -> dict[int, set[int]]:
    authors = defaultdict(set)
    rows = Postmortem.authors.through.objects.filter(postmortem_id__in=postmortem_ids)
    for postmortem_id, user_id in rows.values_list("postmortem_id", "user_id"):
        authors[postmortem_id].add(user_id)
    return authors


class Teams:
    """Cadences and managers of every team, read once per sweep."""

    def __init__(self) -> None:
        self.cadences = team_cadences()
        self.default = default_cadence()
        self.managers = managers_by_team()

    def cadence(self, team_id: int) -> Cadence:
        return self.cadences.get(team_id, self.default)

    @property
    def longest_heads_up(self) -> int:
        return max([self.default.heads_up_days, *(c.heads_up_days for c in self.cadences.values())])


def overdue_candidates(now: datetime) -> Iterator[Candidate]:
    """The owner on the team's cadence while an item is overdue; the team's managers too once
    it is overdue for the team's escalation days (an item nobody owns goes to the managers
    then). An item owned by a name (a team, a person without an account) reminds the
    managers in the owner's place, from the first day."""
    audience, teams = Audience(now), Teams()
    # The latest date anywhere on Earth: an item due today in UTC is overdue in Kiribati.
    items = (
        ActionItem.objects.overdue((now + timedelta(days=1)).date())
        .values_list("pk", "owner_id", "owner_name", "due_date", "postmortem__incident__team_id")
        .iterator(chunk_size=BATCH)
    )
    for pk, owner_id, owner_name, due_date, team_id in items:
        if due_date is None:  # not selected (NULL is never overdue); narrows the type
            continue
        cadence = teams.cadence(team_id)
        managers = teams.managers.get(team_id, ())
        stand_ins = managers if owner_id is None and owner_name else ()
        for user_id in [owner_id] if owner_id is not None else stand_ins:
            if audience.awake(user_id) and audience.wants(user_id, Kind.OVERDUE, cadence):
                period = cadence.overdue_period(due_date, audience.today(user_id))
                if period:
                    yield Kind.OVERDUE, user_id, pk, period
        if stand_ins:
            continue  # the managers already have it
        for manager_id in managers:
            if manager_id == owner_id or not audience.awake(manager_id):
                continue
            today = audience.today(manager_id)
            if cadence.escalates(due_date, today):
                period = cadence.overdue_period(due_date, today)
                if period:
                    yield Kind.ESCALATION, manager_id, pk, period


def due_soon_candidates(now: datetime) -> Iterator[Candidate]:
    """One heads-up per item and due date, the team's heads-up days before it; to the
    managers in the place of an owner without an account."""
    audience, teams = Audience(now), Teams()
    first, last = (now - timedelta(days=1)).date(), (now + timedelta(days=1)).date()
    items = (
        ActionItem.objects.open()
        .filter(due_date__gte=first, due_date__lte=last + timedelta(days=teams.longest_heads_up))
        .filter(Q(owner__isnull=False) | ~Q(owner_name=""))
        .values_list("pk", "owner_id", "due_date", "postmortem__incident__team_id")
        .iterator(chunk_size=BATCH)
    )
    for pk, owner_id, due_date, team_id in items:
        if due_date is None:  # not selected (NULL is in no date range); narrows the type
            continue
        cadence = teams.cadence(team_id)
        recipients = [owner_id] if owner_id is not None else teams.managers.get(team_id, ())
        for user_id in recipients:
            if (
                audience.awake(user_id)
                and audience.wants(user_id, Kind.DUE_SOON)
                and cadence.heads_up(due_date, audience.today(user_id))
            ):
                yield Kind.DUE_SOON, user_id, pk, due_date.isoformat()


def review_meeting_candidates(now: datetime) -> Iterator[Candidate]:
    """Reviewers (and authors) the day before the review meeting and on the day, by their
    own calendar."""
    audience = Audience(now)
    meetings = dict(
        Postmortem.objects.exclude(status=Postmortem.Status.PUBLISHED)
        .filter(review_meeting_at__gt=now, review_meeting_at__lt=now + timedelta(days=3))
        .values_list("pk", "review_meeting_at")
    )
    people = authors_by_postmortem(meetings)
    reviewers = ReviewRequest.objects.filter(postmortem_id__in=meetings)
    for postmortem_id, reviewer_id in reviewers.values_list("postmortem_id", "reviewer_id"):
        people[postmortem_id].add(reviewer_id)
    for postmortem_id, meeting in meetings.items():
        if meeting is None:
            continue  # (filtered out above; for the type checker)
        for user_id in people[postmortem_id]:
            clock = audience.clock(user_id)
            day = which_day(meeting.astimezone(clock.tzinfo).date(), clock.date())
            if day and audience.awake(user_id) and audience.wants(user_id, Kind.REVIEW_MEETING):
                period = f"{meeting.astimezone(UTC):%Y-%m-%dT%H:%M}:{day}"
                yield Kind.REVIEW_MEETING, user_id, postmortem_id, period


def follow_up_candidates(now: datetime) -> Iterator[Candidate]:
    """Authors the day before a follow-up date and on the day, until it is done."""
    audience = Audience(now)
    follow_ups = list(
        FollowUp.objects.filter(
            completed_at__isnull=True,
            due_on__gte=(now - timedelta(days=1)).date(),
            due_on__lte=(now + timedelta(days=2)).date(),
        ).values_list("pk", "postmortem_id", "due_on")
    )
    authors = authors_by_postmortem({postmortem_id for _, postmortem_id, _ in follow_ups})
    for pk, postmortem_id, due_on in follow_ups:
        for user_id in authors[postmortem_id]:
            day = which_day(due_on, audience.today(user_id))
            if day and audience.awake(user_id) and audience.wants(user_id, Kind.FOLLOW_UP):
                yield Kind.FOLLOW_UP, user_id, pk, f"{due_on:%Y-%m-%d}:{day}"


def draft_nudge_candidates(now: datetime) -> Iterator[Candidate]:
    """Authors of a postmortem still in draft DRAFT_NUDGE_AFTER after the incident resolved
    (not archived: an archived draft was set aside on purpose)."""
    audience = Audience(now)
    drafts = list(
        Postmortem.objects.active()
        .filter(
            status=Postmortem.Status.DRAFT,
            incident__resolved_at__lte=now - settings.DRAFT_NUDGE_AFTER,
        )
        .values_list("pk", flat=True)
    )
    for postmortem_id, user_ids in authors_by_postmortem(drafts).items():
        for user_id in user_ids:
            if audience.awake(user_id) and audience.wants(user_id, Kind.DRAFT_NUDGE):
                yield Kind.DRAFT_NUDGE, user_id, postmortem_id, "draft"


def mention_candidates(now: datetime, comment_id: int | None = None) -> Iterator[Candidate]:
    """Right away, whatever the hour: someone is waiting for an answer."""
    opted_out = EmailPreference.objects.filter(mentions=False).values("user_id")
    mentions = Mention.objects.filter(emailed_at__isnull=True).exclude(user_id__in=opted_out)
    if comment_id is not None:
        mentions = mentions.filter(comment_id=comment_id)
    for pk, user_id in mentions.values_list("pk", "user_id").iterator(chunk_size=BATCH):
        yield Kind.MENTION, user_id, pk, "mention"


def digest_candidates(now: datetime) -> Iterator[Candidate]:
    """Each team manager who did not opt out, once a week from the team's digest day and hour
    on the manager's clock, for teams with overdue or due-soon items, changes made from
    emails that week, or published postmortems whose after-publication checklist is not done."""
    audience, teams = Audience(now), Teams()
    horizon = (now + timedelta(days=1)).date() + timedelta(days=teams.longest_heads_up)
    busy_teams = set(
        ActionItem.objects.open()
        .filter(due_date__lte=horizon)
        .values_list("postmortem__incident__team_id", flat=True)
        .distinct()
    ) | set(
        EmailAction.objects.filter(created_at__gte=now - timedelta(days=7))
        .values_list("item__postmortem__incident__team_id", flat=True)
        .distinct()
    )
    busy_teams |= {p.incident.team_id for p, _left in unfinished_follow_through(Postmortem.objects)}
    for team_id, manager_ids in teams.managers.items():
        if team_id not in busy_teams:
            continue
        cadence = teams.cadence(team_id)
        for manager_id in manager_ids:
            week = cadence.digest_week(audience.clock(manager_id))
            if week and audience.wants(manager_id, Kind.DIGEST):
                yield Kind.DIGEST, manager_id, team_id, week


def daily_candidates(now: datetime) -> Iterator[Candidate]:
    return chain(
        overdue_candidates(now),
        due_soon_candidates(now),
        review_meeting_candidates(now),
        follow_up_candidates(now),
        draft_nudge_candidates(now),
        mention_candidates(now),
    )


def record(candidates: Iterable[Candidate]) -> int:
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


def due_for_sending(recorded_since: datetime, clock: datetime | None = None) -> list[int]:
    """Pending rows to queue: the ones this sweep recorded; the ones a sender claimed and no
    longer holds (its worker died mid-send: no need to wait); and any left pending for longer
    than RESEND_AFTER (the sweep died before queueing, or SMTP kept failing)."""
    clock = clock or timezone.now()
    stale = clock - settings.RESEND_AFTER
    pending = Notification.objects.filter(status=Notification.Status.PENDING)
    queued = set(
        pending.alias(last_touched=Coalesce(F("last_attempt_at"), F("created_at")))
        .filter(Q(created_at__gte=recorded_since, attempts=0) | Q(last_touched__lt=stale))
        .values_list("pk", flat=True)
    )
    with transaction.atomic():
        # A live sender holds its row's lock until the row is marked sent; SKIP LOCKED leaves
        # exactly those out. Queueing a row twice is harmless: the send locks and re-checks.
        orphans = (
            pending.filter(sending_since__isnull=False)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        queued.update(orphans)
    return sorted(queued)
