"""Connections to the tools teams already use: outbound webhooks (an outbox of events and
their deliveries), a Slack channel for reminders, and issue trackers for action items."""

from __future__ import annotations

import os
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.urls import reverse
from django.utils import timezone

from actionitems.models import ActionItem
from incidents.models import Team

from .crypto import decrypt, encrypt, masked


class EventKind(models.TextChoices):
    INCIDENT_CREATED = "incident.created", "Incident created"
    INCIDENT_RESOLVED = "incident.resolved", "Incident resolved"
    POSTMORTEM_STATUS_CHANGED = "postmortem.status_changed", "Postmortem state changed"
    REVIEW_REQUESTED = "review.requested", "Review requested"
    REVIEW_APPROVED = "review.approved", "Review approved"
    ACTION_ITEM_CREATED = "action_item.created", "Action item created"
    ACTION_ITEM_OVERDUE = "action_item.overdue", "Action item overdue"
    ACTION_ITEM_DONE = "action_item.done", "Action item done"


class Event(models.Model):
    """One thing that happened, written in the same transaction as the change itself (the
    outbox). Its id is the `webhook-id` every receiver sees, so a receiver drops repeats."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40, choices=EventKind.choices)
    data = models.JSONField(encoder=DjangoJSONEncoder)
    occurred_at = models.DateTimeField(default=timezone.now)
    # Events found by a sweep (an item became overdue) carry a key so that a second sweep
    # records nothing new.
    dedupe_key = models.CharField(max_length=200, unique=True, null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["team", "-occurred_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.kind,
            "timestamp": self.occurred_at.isoformat(),
            "team": self.data.get("team"),
            "data": self.data,
        }


def new_signing_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 32 random bytes in base64."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookEndpoint(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField("URL", max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="Event kinds sent to this URL.")
    secret_encrypted = models.TextField(editable=False)
    is_active = models.BooleanField("active", default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url

    @property
    def secret(self) -> str:
        return decrypt(self.secret_encrypted)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = encrypt(value)

    @property
    def secret_hint(self) -> str:
        return masked(self.secret)

    def wants(self, kind: str) -> bool:
        return self.is_active and kind in self.events

    def event_labels(self) -> list[str]:
        labels = dict(EventKind.choices)
        return [str(labels.get(kind, kind)) for kind in self.events]


class Delivery(models.Model):
    """An event on its way to one endpoint: pending until a 2xx answer is recorded."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"  # gave up after WEBHOOK_MAX_ATTEMPTS; can be resent

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="unique_delivery"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event.kind} to {self.endpoint}: {self.status}"


class SlackChannel(models.Model):
    """A team's Slack incoming webhook: reminders, review requests and the digest are posted
    there as well as emailed. The URL is a secret (anyone holding it can post)."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="slack_channel")
    url_encrypted = models.TextField(editable=False)
    is_active = models.BooleanField("active", default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Slack of {self.team}"

    @property
    def url(self) -> str:
        return decrypt(self.url_encrypted)

    @url.setter
    def url(self, value: str) -> None:
        self.url_encrypted = encrypt(value)

    @property
    def url_hint(self) -> str:
        url = self.url
        return f"{url.split('/services/')[0]}/services/{masked(url)}" if url else ""


class SlackPost(models.Model):
    """One message for a team's channel, recorded before it is posted; the unique key makes
    a reminder sent to three managers one post, not three."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    dedupe_key = models.CharField(max_length=200, unique=True)
    text = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.dedupe_key}: {self.status}"


class TrackerConnection(models.Model):
    """Where a team's tickets live, and how to reach it. The token is stored encrypted, or
    named as env:VARIABLE to be read from the environment."""

    class Provider(models.TextChoices):
        JIRA = "jira", "Jira Cloud"
        GITHUB = "github", "GitHub Issues"
        LINEAR = "linear", "Linear"

    DEFAULT_URLS: dict[str, str] = {
        Provider.GITHUB: "https://api.github.com",
        Provider.LINEAR: "https://api.linear.app",
    }

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="tracker_connections")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    name = models.CharField(max_length=100, help_text='Shown on the button: "Jira OPS".')
    base_url = models.URLField(
        "base URL",
        max_length=300,
        blank=True,
        help_text="Jira: https://your-site.atlassian.net. GitHub and Linear: leave empty.",
    )
    project = models.CharField(
        max_length=200,
        help_text="Jira: the project key (OPS). GitHub: owner/repository. Linear: the team id.",
    )
    username = models.CharField(
        max_length=200, blank=True, help_text="Jira: the email address of the API token's user."
    )
    issue_type = models.CharField(
        max_length=50, blank=True, default="Task", help_text="Jira: the issue type to create."
    )
    token_encrypted = models.TextField(editable=False)
    webhook_secret_encrypted = models.TextField(editable=False, blank=True)
    # The inbound webhook's address carries this, not the database id.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_display()})"

    @property
    def token(self) -> str:
        stored = decrypt(self.token_encrypted)
        if stored.startswith("env:"):
            return os.environ.get(stored[4:], "")
        return stored

    @token.setter
    def token(self, value: str) -> None:
        self.token_encrypted = encrypt(value)

    @property
    def token_hint(self) -> str:
        stored = decrypt(self.token_encrypted)
        return stored if stored.startswith("env:") else masked(stored)

    @property
    def webhook_secret(self) -> str:
        return decrypt(self.webhook_secret_encrypted)

    @webhook_secret.setter
    def webhook_secret(self, value: str) -> None:
        self.webhook_secret_encrypted = encrypt(value)

    @property
    def api_url(self) -> str:
        return (self.base_url or self.DEFAULT_URLS.get(self.provider, "")).rstrip("/")

    def get_webhook_path(self) -> str:
        return reverse("integrations:tracker_webhook", args=[self.provider, self.public_id])


class TrackerLink(models.Model):
    """The ticket an action item became. `state` is the ticket's as last seen ("open" or
    "closed"); the item changes only when that state changes, so closing the item by hand
    while its ticket stays open is never undone by a sync."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    action_item = models.OneToOneField(
        ActionItem, on_delete=models.CASCADE, related_name="tracker_link"
    )
    connection = models.ForeignKey(
        TrackerConnection, on_delete=models.PROTECT, related_name="links"
    )
    key = models.CharField(max_length=100)  # OPS-24, #42, ENG-12
    remote_id = models.CharField(max_length=100)  # what the tracker's API looks it up by
    url = models.URLField(max_length=500)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    remote_status = models.CharField(max_length=100, blank=True)  # "In Progress", "closed"
    resolution = models.CharField(max_length=30, blank=True)  # done / wont_do when closed
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "remote_id"], name="unique_ticket_per_tracker"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} for {self.action_item}"


class SlackImportJob(models.Model):
    """A Slack channel going into an incident's timeline. Large imports run on a worker; the
    page polls this row for the progress bar."""

    class Status(models.TextChoices):
        PREVIEW = "preview", "Waiting for confirmation"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="slack_imports"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    source = models.BinaryField()  # the export zip or the copied text, as uploaded
    day = models.DateField(null=True, blank=True)  # of copied text's first message
    zone = models.CharField(max_length=64, default="UTC")
    channel = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREVIEW)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)  # already in the timeline
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Slack import into {self.incident_id}: {self.done}/{self.total} {self.status}"

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.done / self.total)

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
