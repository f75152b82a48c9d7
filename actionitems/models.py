from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident, Team
from postmortems.models import Postmortem, Revision

from .cadence import DAILY, EVERY_N_DAYS, WEEKDAY_NAMES, Cadence, weekday_number

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class ActionItemQuerySet(models.QuerySet["ActionItem"]):
    def visible_to(self, user: User) -> ActionItemQuerySet:
        if user.is_superuser:
            return self
        return self.filter(postmortem__incident__in=Incident.objects.visible_to(user))

    def open(self) -> ActionItemQuerySet:
        return self.exclude(status__in=ActionItem.CLOSED_STATUSES)

    def overdue(self, today: date | None = None) -> ActionItemQuerySet:
        return self.open().filter(due_date__lt=today or timezone.localdate())

    def due_soon(
        self, within: timedelta = timedelta(days=2), today: date | None = None
    ) -> ActionItemQuerySet:
        today = today or timezone.localdate()
        return self.open().filter(due_date__gte=today, due_date__lte=today + within)


class ActionItem(models.Model):
    class Priority(models.TextChoices):
        P0 = "P0", "P0 (Critical)"
        P1 = "P1", "P1 (High)"
        P2 = "P2", "P2 (Medium)"
        P3 = "P3", "P3 (Low)"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        BLOCKED = "blocked", "Blocked"
        DONE = "done", "Done"
        WONT_DO = "wont_do", "Won't do"

    class Category(models.TextChoices):
        PREVENT = "prevent", "Prevent"
        DETECT = "detect", "Detect"
        RESPOND = "respond", "Respond"
        RECOVER = "recover", "Recover"

    class Term(models.TextChoices):
        IMMEDIATE = "immediate", "Immediate (this week)"
        SHORT_TERM = "short_term", "Short-term (this month)"
        LONG_TERM = "long_term", "Long-term (this quarter)"

    CLOSED_STATUSES = (Status.DONE, Status.WONT_DO)

    postmortem = models.ForeignKey(
        Postmortem, on_delete=models.CASCADE, related_name="action_items"
    )
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="action_items",
    )
    # An owner without an account: a team ("QA Team", "DevOps") or a person not signed up.
    # Their reminders go to the team's managers, who pass them on.
    owner_name = models.CharField(
        "owner (name)",
        max_length=200,
        blank=True,
        help_text="A team or a person without an account, when no user owns it.",
    )
    due_date = models.DateField(null=True, blank=True)
    priority = models.CharField(max_length=2, choices=Priority.choices, default=Priority.P2)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.PREVENT)
    term = models.CharField(max_length=20, choices=Term.choices, default=Term.SHORT_TERM)
    tracker_url = models.URLField("tracker link", max_length=500, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ActionItemQuerySet.as_manager()
    # Set on the rows the weekly digest lists (emails.digest_email), read by its templates.
    url: str
    is_late: bool

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["done", "wont_do"], completed_at__isnull=False)
                | (~Q(status__in=["done", "wont_do"]) & Q(completed_at__isnull=True)),
                name="action_item_completed_at_iff_closed",
            ),
            models.CheckConstraint(
                condition=Q(owner__isnull=True) | Q(owner_name=""),
                name="action_item_one_kind_of_owner",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_date"]),
            models.Index(fields=["owner", "status"]),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        # completed_at follows the status, whoever changes it (form, admin, one-click button).
        if self.status in self.CLOSED_STATUSES:
            self.completed_at = self.completed_at or timezone.now()
        else:
            self.completed_at = None
        if kwargs.get("update_fields") is not None and "status" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "completed_at"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("actionitems:detail", args=[self.pk])

    def clean(self) -> None:
        if self.owner_id is not None and self.owner_name:
            raise ValidationError({"owner_name": "Choose an account or write a name, not both."})

    @property
    def owner_display(self) -> str:
        """Who owns it, as people read it: the account's name or the free-text owner."""
        if self.owner is not None:
            return self.owner.get_full_name() or self.owner.get_username()
        return self.owner_name

    @property
    def owned_by_name(self) -> bool:
        """Owned by a team or a person without an account: the managers pass reminders on."""
        return self.owner_id is None and bool(self.owner_name)

    @property
    def has_owner(self) -> bool:
        return self.owner_id is not None or bool(self.owner_name)

    @property
    def is_closed(self) -> bool:
        return self.status in self.CLOSED_STATUSES

    def is_overdue(self, today: date | None = None) -> bool:
        if self.is_closed or self.due_date is None:
            return False
        return self.due_date < (today or timezone.localdate())

    @property
    def overdue(self) -> bool:
        return self.is_overdue()


def site_host() -> str:
    """The host name emails' Message-IDs and calendar UIDs are made unique with."""
    return urlsplit(settings.SITE_URL).hostname or "localhost"


class Notification(models.Model):
    """One email to one person about one thing, for one period: recorded before it is sent.

    The unique constraint is the whole of "exactly once": a sweep that runs twice, a retried
    task or two sweeps at the same moment all try to insert the same row, and only one row
    exists to be sent. A row still pending after RESEND_AFTER is queued again, so a worker
    that died between recording and sending loses nothing; a row whose sender died while
    sending (`sending_since` set, its row lock gone) is queued again by the next sweep.
    """

    class Kind(models.TextChoices):
        OVERDUE = "overdue", "Overdue action item"
        ESCALATION = "escalation", "Overdue action item, escalated"
        DUE_SOON = "due_soon", "Action item due soon"
        REASSIGN = "reassign", "Action item to reassign"
        DIGEST = "digest", "Weekly digest"
        REVIEW_MEETING = "review_meeting", "Review meeting"
        MEETING_UPDATE = "meeting_update", "Review meeting moved or cancelled"
        FOLLOW_UP = "follow_up", "Follow-up date"
        DRAFT_NUDGE = "draft_nudge", "Draft postmortem"
        MENTION = "mention", "Mention"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"  # what it was about is gone or no longer applies

    kind = models.CharField(max_length=20, choices=Kind.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    # What it is about; the kind says which model (an action item, a postmortem, a team...).
    object_id = models.PositiveBigIntegerField()
    period = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set (and committed) just before a worker sends, cleared when it is done either way.
    # Still set while nobody holds the row's lock: that worker died mid-send.
    sending_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "recipient", "object_id", "period"], name="unique_notification"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(
                fields=["sending_since"],
                condition=Q(sending_since__isnull=False),
                name="notification_in_flight",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient} ({self.period}): {self.status}"

    @property
    def message_id(self) -> str:
        """The Message-ID of this notification's email, the same on every attempt: a message
        sent twice (the worker died after the mail server took it, before the row was marked
        sent) is one message to the receiving servers and to Mailpit, which drop the copy.
        The creation time keeps it unique when a fresh database starts its ids at 1 again."""
        created = self.created_at or timezone.now()
        return f"<{self.kind}.{self.pk}.{created:%Y%m%d%H%M%S}@{site_host()}>"


@cache
def valid_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in valid_timezones():
        raise ValidationError(f"{value!r} is not a time zone name such as Europe/Berlin.")


class EmailPreference(models.Model):
    """What a person chose to receive, and their clock. Reminders about their own overdue
    items are not optional unless their team's managers allow it (TeamFollowUpSettings)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preference"
    )
    timezone = models.CharField(
        "time zone",
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="Reminders arrive during your working hours in this zone.",
    )
    weekly_digest = models.BooleanField(
        default=True, help_text="Managers: the weekly email of overdue and due-soon items."
    )
    nudges = models.BooleanField(
        default=True,
        help_text="Heads-ups before due dates, review meeting and follow-up date reminders, "
        "drafts left open.",
    )
    mentions = models.BooleanField(default=True, help_text="When someone @mentions you.")
    overdue_reminders = models.BooleanField(
        default=True,
        help_text="Reminders about your own overdue items; only where your team allows "
        "turning them off.",
    )

    def __str__(self) -> str:
        return f"Email preferences of {self.user}"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


def zone_of(user_id: int) -> zoneinfo.ZoneInfo:
    """A person's time zone, UTC until they choose one."""
    name = (
        EmailPreference.objects.filter(user_id=user_id).values_list("timezone", flat=True).first()
    )
    return zoneinfo.ZoneInfo(name or "UTC")


def local_today(user_id: int, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(zone_of(user_id)).date()


class TeamFollowUpSettings(models.Model):
    """How a team wants its follow-up work chased; teams without a row get the defaults from
    the environment (REMINDER_INTERVAL, DUE_SOON_WITHIN, ESCALATE_AFTER, DIGEST_*)."""

    class Reminder(models.TextChoices):
        # The same values as cadence.DAILY, EVERY_N_DAYS and WEEKDAYS.
        DAILY = "daily", "Every day"
        EVERY_N_DAYS = "every_n_days", "Every few days"
        WEEKDAYS = "weekdays", "Weekdays only"

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="follow_up_settings")
    reminder_cadence = models.CharField(
        "overdue reminders", max_length=20, choices=Reminder.choices, default=DAILY
    )
    reminder_every_days = models.PositiveSmallIntegerField(
        "every how many days",
        default=2,
        validators=[MinValueValidator(2), MaxValueValidator(30)],
        help_text="With “Every few days”: 2 to 30.",
    )
    heads_up_days = models.PositiveSmallIntegerField(
        "heads-up days before the due date",
        default=2,
        validators=[MaxValueValidator(30)],
        help_text="0 turns the heads-up off.",
    )
    escalate_after_days = models.PositiveSmallIntegerField(
        "tell the managers after this many days overdue",
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
    )
    digest_weekday = models.PositiveSmallIntegerField(
        "digest day",
        default=0,
        choices=[(n, name) for n, name in enumerate(WEEKDAY_NAMES)],
    )
    digest_hour = models.PositiveSmallIntegerField(
        "digest hour",
        default=8,
        validators=[MaxValueValidator(23)],
        help_text="0 to 23, on each manager's own clock.",
    )
    members_may_mute_overdue = models.BooleanField(
        "members may turn off reminders about their own overdue items", default=False
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "team follow-up settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(reminder_every_days__gte=2, reminder_every_days__lte=30),
                name="team_follow_up_every_days_range",
            ),
            models.CheckConstraint(
                condition=Q(heads_up_days__lte=30), name="team_follow_up_heads_up_range"
            ),
            models.CheckConstraint(
                condition=Q(escalate_after_days__gte=1, escalate_after_days__lte=90),
                name="team_follow_up_escalation_range",
            ),
            models.CheckConstraint(
                condition=Q(digest_weekday__lte=6, digest_hour__lte=23),
                name="team_follow_up_digest_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Follow-up settings of {self.team}"

    @classmethod
    def for_team(cls, team: Team) -> TeamFollowUpSettings:
        """The team's settings, or (unsaved) the defaults it gets until a manager saves some."""
        found = cls.objects.filter(team=team).first()
        return found if found is not None else cls(team=team, **env_defaults())

    def cadence(self) -> Cadence:
        return Cadence(
            reminder=self.reminder_cadence,
            every_days=self.reminder_every_days if self.reminder_cadence == EVERY_N_DAYS else 1,
            heads_up_days=self.heads_up_days,
            escalate_after_days=self.escalate_after_days,
            digest_weekday=self.digest_weekday,
            digest_hour=self.digest_hour,
            members_may_mute_overdue=self.members_may_mute_overdue,
        )


def env_defaults() -> dict[str, object]:
    """The settings a team without its own row follows, from the environment."""
    every = max(1, settings.REMINDER_INTERVAL.days)
    return {
        "reminder_cadence": DAILY if every == 1 else EVERY_N_DAYS,
        "reminder_every_days": min(max(every, 2), 30),
        "heads_up_days": min(settings.DUE_SOON_WITHIN.days, 30),
        "escalate_after_days": min(max(settings.ESCALATE_AFTER.days, 1), 90),
        "digest_weekday": weekday_number(settings.DIGEST_DAY_OF_WEEK),
        "digest_hour": settings.DIGEST_HOUR,
    }


def default_cadence() -> Cadence:
    return TeamFollowUpSettings(**env_defaults()).cadence()


def team_cadences() -> dict[int, Cadence]:
    """Every team that chose its own cadence; the others follow default_cadence()."""
    return {row.team_id: row.cadence() for row in TeamFollowUpSettings.objects.all()}


class EmailAction(models.Model):
    """One change made with a signed link from an email, for the item's history and the next
    digest. The link's digest is unique: a link works once."""

    class Action(models.TextChoices):
        DONE = "done", "Mark done"
        SNOOZE_3_DAYS = "snooze_3d", "Snooze 3 days"
        SNOOZE_1_WEEK = "snooze_1w", "Snooze 1 week"
        MOVE = "move", "Move due date"
        NOT_MINE = "not_mine", "Not mine"

    item = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="email_actions")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    # The email the link came from, and the link itself as a SHA-256 of the token.
    notification = models.ForeignKey(
        Notification, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    token_digest = models.CharField(max_length=64, unique=True)
    from_status = models.CharField(max_length=20, choices=ActionItem.Status.choices)
    to_status = models.CharField(max_length=20, choices=ActionItem.Status.choices)
    from_due = models.DateField(null=True, blank=True)
    to_due = models.DateField(null=True, blank=True)
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    revision = models.ForeignKey(
        Revision, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["item", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} on {self.item} by {self.actor} (from email)"

    def summary(self) -> str:
        """What it did, as the history, the digest and the stale-link page say it."""
        if self.action == self.Action.DONE:
            return "marked it done"
        if self.action == self.Action.NOT_MINE:
            return "said it is not theirs and asked the managers to reassign it"
        before = f"{self.from_due:%Y-%m-%d}" if self.from_due else "no date"
        verb = "moved" if self.action == self.Action.MOVE else "snoozed"
        return f"{verb} the due date from {before} to {self.to_due:%Y-%m-%d}"


class MeetingInvite(models.Model):
    """What attendees' calendars were last told about a postmortem's review meeting: the
    invite's SEQUENCE grows with every change, so calendars apply updates in order."""

    postmortem = models.OneToOneField(
        Postmortem, on_delete=models.CASCADE, related_name="meeting_invite"
    )
    starts_at = models.DateTimeField(null=True, blank=True)  # None: cancelled
    previous_starts_at = models.DateTimeField(null=True, blank=True)
    sequence = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Review meeting invite of {self.postmortem} (sequence {self.sequence})"
