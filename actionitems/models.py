from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident
from postmortems.models import Postmortem


class ActionItemQuerySet(models.QuerySet):
    def visible_to(self, user):
        if user.is_superuser:
            return self
        return self.filter(postmortem__incident__in=Incident.objects.visible_to(user))

    def open(self):
        return self.exclude(status__in=ActionItem.CLOSED_STATUSES)

    def overdue(self, today=None):
        return self.open().filter(due_date__lt=today or timezone.localdate())

    def due_soon(self, within=timedelta(days=2), today=None):
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

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        # completed_at follows the status, whoever changes it (form, admin, one-click button).
        if self.status in self.CLOSED_STATUSES:
            self.completed_at = self.completed_at or timezone.now()
        else:
            self.completed_at = None
        if kwargs.get("update_fields") is not None and "status" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "completed_at"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("actionitems:detail", args=[self.pk])

    def clean(self):
        if self.owner_id is not None and self.owner_name:
            raise ValidationError({"owner_name": "Choose an account or write a name, not both."})

    @property
    def owner_display(self):
        """Who owns it, as people read it: the account's name or the free-text owner."""
        if self.owner is not None:
            return self.owner.get_full_name() or self.owner.get_username()
        return self.owner_name

    @property
    def has_owner(self):
        return self.owner_id is not None or bool(self.owner_name)

    @property
    def is_closed(self):
        return self.status in self.CLOSED_STATUSES

    def is_overdue(self, today=None):
        if self.is_closed or self.due_date is None:
            return False
        return self.due_date < (today or timezone.localdate())

    @property
    def overdue(self):
        return self.is_overdue()


class Notification(models.Model):
    """One email to one person about one thing, for one period: recorded before it is sent.

    The unique constraint is the whole of "exactly once": a sweep that runs twice, a retried
    task or two sweeps at the same moment all try to insert the same row, and only one row
    exists to be sent. A row still pending after RESEND_AFTER is queued again, so a worker
    that died between recording and sending loses nothing.
    """

    class Kind(models.TextChoices):
        OVERDUE = "overdue", "Overdue action item"
        ESCALATION = "escalation", "Overdue action item, escalated"
        DUE_SOON = "due_soon", "Action item due soon"
        DIGEST = "digest", "Weekly digest"
        REVIEW_MEETING = "review_meeting", "Review meeting"
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

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "recipient", "object_id", "period"], name="unique_notification"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.recipient} ({self.period}): {self.status}"


class EmailPreference(models.Model):
    """What a person chose to receive; reminders about their own work are not optional."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preference"
    )
    weekly_digest = models.BooleanField(
        default=True, help_text="Managers: the Monday email of overdue and due-soon items."
    )

    def __str__(self):
        return f"Email preferences of {self.user}"
