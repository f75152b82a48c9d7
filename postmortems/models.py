from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from incidents.models import ActionRefused, Activity, Archivable, Incident

from .layouts import LAYOUTS, SECTIONS, Layout

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SLO_PERIOD = timedelta(days=30)


def error_budget_minutes(
    slo_target_percent: Decimal | float | str | None, period: timedelta = SLO_PERIOD
) -> Decimal | None:
    """Downtime an availability SLO allows over the period: 99.9% of 30 days -> 43.2 min."""
    if slo_target_percent is None:
        return None
    allowed_fraction = (Decimal(100) - Decimal(slo_target_percent)) / Decimal(100)
    period_minutes = Decimal(int(period.total_seconds())) / Decimal(60)
    return allowed_fraction * period_minutes


class PostmortemQuerySet(models.QuerySet["Postmortem"]):
    def visible_to(self, user: User) -> PostmortemQuerySet:
        return self.filter(incident__in=Incident.objects.visible_to(user))

    def active(self) -> PostmortemQuerySet:
        """Neither the postmortem nor its incident archived: what My work and reminders use."""
        return self.filter(archived_at__isnull=True, incident__archived_at__isnull=True)


class Postmortem(Archivable):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        PUBLISHED = "published", "Published"

    class Template(models.TextChoices):
        FULL = "full", "Full postmortem"
        INCIDENT_POSTMORTEM = "incident_postmortem", "Incident postmortem"
        INCIDENT_REPORT = "incident_report", "Incident report"

    class DetectionMethod(models.TextChoices):
        AUTOMATED_ALERT = "automated_alert", "Automated monitoring alert"
        USER_REPORT = "user_report", "User report"
        INTERNAL = "internal", "Internal team noticed"
        VENDOR = "vendor", "External vendor notification"
        OTHER = "other", "Other"

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="postmortem")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    template = models.CharField(max_length=30, choices=Template.choices, default=Template.FULL)
    authors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="authored_postmortems", blank=True
    )

    executive_summary = models.TextField(blank=True)

    impact_summary = models.TextField("impact", blank=True)
    users_affected = models.PositiveIntegerField(null=True, blank=True)
    user_scope = models.CharField(
        "scope", max_length=200, blank=True, help_text="All users, a region, a feature…"
    )
    support_tickets = models.PositiveIntegerField(null=True, blank=True)
    revenue_impact = models.DecimalField(
        "revenue impact (USD)", max_digits=14, decimal_places=2, null=True, blank=True
    )
    slo_target = models.DecimalField(
        "availability SLO target (%)",
        max_digits=6,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.001")), MaxValueValidator(Decimal("99.999"))],
        help_text="For example 99.9; the error budget is computed over 30 days.",
    )

    root_cause = models.TextField(blank=True)
    trigger = models.TextField("what triggered it", blank=True)
    why_not_caught = models.TextField("why it wasn't caught", blank=True)

    detection_method = models.CharField(
        "how detected", max_length=30, choices=DetectionMethod.choices, blank=True
    )
    alert_name = models.CharField(max_length=200, blank=True)
    detection_notes = models.TextField("detection quality", blank=True)

    response_notes = models.TextField("response", blank=True)
    resolution_short_term = models.TextField("short-term fix", blank=True)
    resolution_long_term = models.TextField("long-term prevention", blank=True)

    went_well = models.TextField("what went well", blank=True)
    went_wrong = models.TextField("what went wrong", blank=True)
    prevention = models.TextField("preventable? prevention strategies", blank=True)
    lessons_learned = models.TextField(blank=True)
    communication_log = models.TextField(blank=True)
    supporting_info = models.TextField("supporting information", blank=True)
    acknowledgments = models.TextField(blank=True)

    review_meeting_at = models.DateTimeField("review meeting", null=True, blank=True)
    next_review_on = models.DateField("next review", null=True, blank=True)
    # Keys of the sections a share link leaves out (set by the team: names, customers, costs).
    internal_sections = models.JSONField(default=list, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # {section key: version} of the sections this row holds (every text section, the five
    # whys, factors, action items...). A save is one UPDATE conditional on the version here.
    section_versions = models.JSONField(default=dict, blank=True, editable=False)

    objects = PostmortemQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Postmortem of {self.incident}"

    def get_absolute_url(self) -> str:
        return self.incident.get_absolute_url()

    def may_resolve_threads(self, user: Any) -> bool:
        """Who may resolve or reopen any comment thread on this document: its authors, the
        team that owns it (members edit it, managers sign it off), and staff. A reviewer
        from another team comments; the people who write the document decide it is settled.
        (A thread's own author may always resolve it: Comment.may_be_resolved_by.)"""
        incident = self.incident
        return bool(
            user.is_staff
            or incident.can_edit(user)  # a member or manager of the team, or a superuser
            or incident.is_managed_by(user)
            or self.authors.filter(pk=user.pk).exists()
        )

    def get_export_url(self) -> str:
        return reverse("postmortems:export", args=[self.incident.reference])

    @property
    def title(self) -> str:
        return self.incident.title

    def archive_label(self) -> str:
        return "This postmortem"

    def archive_log(self) -> tuple[Incident, str, str]:
        kinds = Activity.Kind
        return self.incident, kinds.POSTMORTEM_ARCHIVED, kinds.POSTMORTEM_UNARCHIVED

    @property
    def is_deletable(self) -> bool:
        """Only a draft: once in review, others have signed or commented on the record."""
        return self.status == self.Status.DRAFT

    def delete_draft(self, *, by: Any) -> Activity:
        """Delete a draft with everything written in it (rows, comments, the history of its
        sections, so that a postmortem started again numbers its versions from 1). The
        deletion is logged on the incident, which stays."""
        if not self.is_deletable:
            raise ActionRefused(
                f"Only a draft can be deleted; this postmortem is {self.get_status_display()}."
            )
        with transaction.atomic():
            incident = self.incident
            sections = list(self.section_versions)
            Revision.objects.filter(incident=incident, section__in=sections).delete()
            note = f"{self.get_template_display()}, {len(sections)} section(s) written"
            self.delete()
            return Activity.record(incident, Activity.Kind.POSTMORTEM_DELETED, by=by, note=note)

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    def is_internal(self, key: str) -> bool:
        """Whether a section stays inside the team: left out of every share link."""
        return key in (self.internal_sections or [])

    @property
    def layout(self) -> Layout:
        return LAYOUTS[self.template]

    @property
    def downtime(self) -> timedelta | None:
        return self.incident.duration

    @property
    def error_budget_minutes(self) -> Decimal | None:
        return error_budget_minutes(self.slo_target)

    @property
    def error_budget_consumed_percent(self) -> Decimal | None:
        budget, downtime = self.error_budget_minutes, self.downtime
        if not budget or downtime is None:
            return None
        return Decimal(downtime.total_seconds()) / 60 / budget * 100

    @property
    def sla_breached(self) -> bool | None:
        """True when this incident alone used more than the month's error budget."""
        budget, downtime = self.error_budget_minutes, self.downtime
        if budget is None or downtime is None:
            return None
        return Decimal(downtime.total_seconds()) / 60 > budget


class FiveWhy(models.Model):
    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="five_whys")
    position = models.PositiveIntegerField(default=0)
    question = models.CharField("why", max_length=500)
    answer = models.TextField("because", blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = "five whys row"
        verbose_name_plural = "five whys"

    def __str__(self) -> str:
        return self.question


class ContributingFactor(models.Model):
    class Category(models.TextChoices):
        TECHNICAL = "technical", "Technical"
        PROCESS = "process", "Process"
        HUMAN = "human", "Human"

    postmortem = models.ForeignKey(
        Postmortem, on_delete=models.CASCADE, related_name="contributing_factors"
    )
    category = models.CharField(max_length=20, choices=Category.choices)
    description = models.TextField()
    position = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.description[:60]}"


class FollowUp(models.Model):
    """A dated check-in after the postmortem (the 1-week and 1-month follow-ups)."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="follow_ups")
    due_on = models.DateField()
    title = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["due_on", "pk"]

    def __str__(self) -> str:
        return f"{self.due_on}: {self.title}"


class AdditionalSection(models.Model):
    """A titled Markdown section the templates have no place for: a heading of an imported
    document that maps to no known section ("Customer Communication", "Monitoring Graphs"),
    or one an author adds. Kept in order, with its heading, and exported."""

    postmortem = models.ForeignKey(
        Postmortem, on_delete=models.CASCADE, related_name="additional_sections"
    )
    title = models.CharField("heading", max_length=200)
    body = models.TextField(blank=True, help_text="Markdown.")
    # The known section it followed in the source document (a key of layouts.SECTIONS), so an
    # export can put it back where it was; empty: at the end.
    after = models.CharField(max_length=40, blank=True)
    position = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.title


class Comment(models.Model):
    """A remark on one section; replies are one level deep, and a thread can be resolved."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="comments")
    section = models.CharField(
        max_length=40, choices=[(key, s.title) for key, s in SECTIONS.items()]
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="comments"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    body = models.TextField(help_text="Markdown. Mention someone with @username.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["postmortem", "section"])]
        constraints = [
            # Only a thread (a top-level comment) is resolved, never a single reply.
            models.CheckConstraint(
                condition=Q(parent__isnull=True) | Q(resolved_at__isnull=True),
                name="comment_only_threads_resolve",
            ),
        ]

    def __str__(self) -> str:
        return f"Comment by {self.author} on {self.get_section_display()}"

    def may_be_resolved_by(self, user: Any) -> bool:
        """The thread's author, or whoever may resolve the document's threads."""
        thread = self.parent or self
        return thread.author_id == user.pk or thread.postmortem.may_resolve_threads(user)


class Mention(models.Model):
    """@username in a comment; the follow-up engine emails it once (emailed_at)."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentions"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "user"], name="unique_mention_per_comment"),
        ]

    def __str__(self) -> str:
        return f"@{self.user} in {self.comment}"


class ReviewRequest(models.Model):
    """A reviewer asked to review the postmortem, in a role, and their decision."""

    class Role(models.TextChoices):
        ENGINEERING_LEAD = "engineering_lead", "Engineering lead"
        MANAGER = "manager", "Manager"

    class Decision(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"

    postmortem = models.ForeignKey(
        Postmortem, on_delete=models.CASCADE, related_name="review_requests"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_requests"
    )
    role = models.CharField(max_length=30, choices=Role.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decision = models.CharField(max_length=30, choices=Decision.choices, default=Decision.PENDING)
    note = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["postmortem", "reviewer"], name="unique_reviewer_per_postmortem"
            ),
            models.CheckConstraint(
                condition=Q(decision="pending", decided_at__isnull=True)
                | (~Q(decision="pending") & Q(decided_at__isnull=False)),
                name="review_decided_at_iff_decided",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} as {self.get_role_display()}: {self.get_decision_display()}"


class RevisionQuerySet(models.QuerySet["Revision"]):
    def current_versions(self, incident: Incident) -> dict[str, int]:
        """{section key: latest version} for one document, in one query."""
        rows = (
            self.filter(incident=incident)
            .values("section")
            .annotate(latest=models.Max("version"))
            .values_list("section", "latest")
        )
        return dict(rows)


class Revision(models.Model):
    """One save of one section of an incident's document: who, when, the text before and after.

    The latest version of a section is its current version; an editor saves against the
    version they loaded, and the unique constraint refuses a second save on the same base.
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="revisions")
    section = models.CharField(max_length=40)
    version = models.PositiveIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    old_text = models.TextField(blank=True)
    new_text = models.TextField(blank=True)
    # The section's values after this save, so that it can be restored exactly.
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    # How the change arrived when not through the editor: "imported", "from email", "merged
    # with <name>", "admin"; shown in the history.
    note = models.CharField(max_length=200, blank=True)
    restored_from = models.PositiveIntegerField(null=True, blank=True)

    objects = RevisionQuerySet.as_manager()

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "section", "version"], name="unique_section_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident.reference} {self.section} v{self.version}"


class Presence(models.Model):
    """Who has a document open, and which section they are editing; stale after PRESENCE_TTL."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="presences")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presences"
    )
    editing = models.CharField(max_length=40, blank=True)
    last_seen = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "user"], name="unique_presence"),
        ]
        indexes = [models.Index(fields=["incident", "last_seen"])]

    def __str__(self) -> str:
        return f"{self.user} on {self.incident}"


class ReviewEvent(models.Model):
    """One step of the review, for the sign-off record: who did what, when, and why."""

    class Kind(models.TextChoices):
        STATUS = "status", "Status change"
        DECISION = "decision", "Review decision"
        REVIEWER_ADDED = "reviewer_added", "Reviewer requested"
        REVIEWER_REMOVED = "reviewer_removed", "Reviewer removed"
        TEMPLATE = "template", "Template switched"

    postmortem = models.ForeignKey(
        Postmortem, on_delete=models.CASCADE, related_name="review_events"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    from_status = models.CharField(max_length=20, choices=Postmortem.Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Postmortem.Status.choices, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    role = models.CharField(max_length=30, choices=ReviewRequest.Role.choices, blank=True)
    decision = models.CharField(max_length=30, choices=ReviewRequest.Decision.choices, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]
        # When a postmortem first reached a status (approved, published), for many at once.
        indexes = [
            models.Index(
                fields=["postmortem", "kind", "to_status", "at"], name="review_event_first_status"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.actor} at {self.at:%Y-%m-%d %H:%M}"


class Heartbeat(models.Model):
    """When a Celery worker last ran the heartbeat task (one row per name), for /readyz."""

    name = models.CharField(max_length=50, unique=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"


class PublicationCheck(models.Model):
    """One step of the after-publication checklist that a person ticks (the review meeting was
    held, the document was shared): who said so, and when. The derived steps (a follow-up
    date, tickets for P0 items) are read from the document, never stored."""

    class Item(models.TextChoices):
        REVIEW_MEETING = "review_meeting", "Review meeting held"
        SHARED = "shared", "Shared with the engineering organization"

    postmortem = models.ForeignKey(
        Postmortem, on_delete=models.CASCADE, related_name="publication_checks"
    )
    item = models.CharField(max_length=30, choices=Item.choices)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    done_at = models.DateTimeField()

    class Meta:
        ordering = ["done_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "item"], name="unique_publication_check"),
            models.CheckConstraint(
                condition=Q(item__in=["review_meeting", "shared"]),
                name="publication_check_known_item",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_item_display()} on {self.postmortem_id}"


class ShareLinkQuerySet(models.QuerySet["ShareLink"]):
    def active(self, now: datetime | None = None) -> ShareLinkQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


class ShareLink(models.Model):
    """A read-only link to a published postmortem for people outside the team.

    The URL carries the link's id and a random nonce, signed with SECRET_KEY (postmortems/
    sharing.py): a forged or altered URL fails the signature, and one made with a leaked key
    still needs the nonce from the database. The row decides the rest at every request:
    revoked or expired links are gone (410) at once."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="share_links")
    nonce = models.CharField(max_length=32, editable=False)
    label = models.CharField(
        "shared with", max_length=100, blank=True, help_text="Who it is for: a customer, a team."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_viewed_at = models.DateTimeField(null=True, blank=True)
    views = models.PositiveIntegerField(default=0)

    # The lifetimes a team member may choose, in days; the default comes from the settings.
    LIFETIMES = (1, 7, 30, 90)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="share_link_expires_after_creation",
            ),
        ]

    def __str__(self) -> str:
        return f"Share link {self.pk} of {self.postmortem}"

    def get_absolute_url(self) -> str:
        from .sharing import share_token

        return reverse("shared_postmortem", args=[share_token(self)])

    def is_active(self, now: datetime | None = None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or timezone.now())


def attachment_path(instance: Attachment, filename: str) -> str:
    """Where the storage keeps a file: under its postmortem, by a random name (the name the
    reader sees is in the row, never in the storage's path)."""
    import uuid

    extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"attachments/{instance.postmortem_id}/{uuid.uuid4().hex}.{extension}"


class Attachment(models.Model):
    """A file pasted or dropped into a postmortem's text (a monitoring graph, a log excerpt).
    Stored through Django's storage API and served only by a view that checks the reader
    may read the postmortem: there is no public media URL."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=255)
    name = models.CharField(max_length=100)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(size__gt=0), name="attachment_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse(
            "postmortems:attachment",
            args=[self.postmortem.incident.reference, self.pk, self.name],
        )

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def markdown(self) -> str:
        """What the editor inserts at the cursor: an image shows inline, a file is a link."""
        label = self.name.replace("[", "").replace("]", "")
        return f"{'!' if self.is_image else ''}[{label}]({self.get_absolute_url()})"
