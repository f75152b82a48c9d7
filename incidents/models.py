import re
from datetime import UTC, timedelta

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Exists, F, Min, OuterRef, Q, Value
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

REFERENCE_PATTERN = re.compile(r"^INC-(?P<year>\d{4})-(?P<number>\d{4,})$")


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def managers(self):
        return self.members.filter(
            memberships__team=self, memberships__role=Membership.Role.MANAGER
        )

    def is_member(self, user):
        return self.memberships.filter(user=user).exists()

    def is_manager(self, user):
        return self.memberships.filter(user=user, role=Membership.Role.MANAGER).exists()


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        MANAGER = "manager", "Manager"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="unique_team_membership"),
        ]

    def __str__(self):
        return f"{self.user} in {self.team} ({self.get_role_display()})"


class Service(models.Model):
    name = models.CharField(max_length=100)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="services")
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="unique_service_name_per_team"),
        ]

    def __str__(self):
        return self.name


class IncidentQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The one place read access is decided: the user's teams' incidents, and those whose
        postmortem the user was asked to review (a reviewer may come from another team)."""
        if user.is_superuser:
            return self
        review_requests = apps.get_model("postmortems", "ReviewRequest").objects
        return self.filter(
            Exists(Membership.objects.filter(team=OuterRef("team"), user=user))
            | Exists(review_requests.filter(postmortem__incident=OuterRef("pk"), reviewer=user))
        )

    def editable_by(self, user):
        """Writing is for the team that owns the incident."""
        if user.is_superuser:
            return self
        return self.filter(Exists(Membership.objects.filter(team=OuterRef("team"), user=user)))

    def with_viewer(self, user):
        """Who is asking, answered in the same query: may they edit (a member of the team) and
        do they manage the team. Incident.can_edit and is_managed_by read these instead of
        asking the database again. (SQL subqueries: cheaper to build than ORM ones, and this
        runs on every request to a document.)"""
        membership = (
            'EXISTS (SELECT 1 FROM "incidents_membership" m WHERE m."team_id" = '
            '"incidents_incident"."team_id" AND m."user_id" = %s{role})'
        )
        manager = RawSQL(
            membership.format(role=' AND m."role" = %s'),
            (user.pk, Membership.Role.MANAGER),
            output_field=models.BooleanField(),
        )
        member = (
            Value(True)
            if user.is_superuser
            else RawSQL(membership.format(role=""), (user.pk,), output_field=models.BooleanField())
        )
        return self.annotate(viewer_pk=Value(user.pk), viewer_edits=member, viewer_manages=manager)

    def with_milestones(self):
        """The first timeline event of each milestone kind, so that the response metrics need
        neither the whole timeline nor another query."""
        sql = (
            'SELECT MIN("occurred_at") FROM "incidents_timelineevent" WHERE '
            '"incident_id" = "incidents_incident"."id" AND "kind" = %s'
        )
        return self.annotate(
            **{
                f"first_{kind}_at": RawSQL(f"({sql})", (kind,), output_field=models.DateTimeField())
                for kind in Incident.MILESTONE_EVENT_KINDS.values()
            }
        )

    def with_reference(self, reference):
        match = REFERENCE_PATTERN.match(reference or "")
        if not match:
            return self.none()
        return self.filter(year=int(match["year"]), number=int(match["number"]))


class Incident(models.Model):
    class Severity(models.TextChoices):
        SEV1 = "SEV1", "SEV1 (Critical)"
        SEV2 = "SEV2", "SEV2 (High)"
        SEV3 = "SEV3", "SEV3 (Medium)"

    class Status(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"

    # The reference INC-<year>-<number> is derived from these two, never stored as text.
    year = models.PositiveSmallIntegerField(editable=False)
    number = models.PositiveIntegerField(editable=False)
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=4, choices=Severity.choices, default=Severity.SEV2)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INVESTIGATING)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="incidents")
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="commanded_incidents",
    )
    services = models.ManyToManyField(Service, through="IncidentService", blank=True)
    started_at = models.DateTimeField(help_text="When users were first affected (UTC).")
    detected_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # When the last follow-up check passed after resolution ("all clear"); the response
    # metrics keep using resolved_at.
    all_clear_at = models.DateTimeField("all clear", null=True, blank=True)
    # The pager's or ticket system's key for this incident (PagerDuty, Opsgenie, JIRA-1234).
    external_id = models.CharField(
        "external incident id", max_length=100, blank=True, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # {section key: version} of the sections this row holds (incident details and times, the
    # timeline, services). A save is one UPDATE conditional on its section's version here.
    section_versions = models.JSONField(default=dict, blank=True, editable=False)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["year", "number"], name="unique_incident_reference"),
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{name}__isnull": True})
                    | Q(**{f"{name}__gte": F("started_at")}),
                    name=f"incident_{name}_not_before_start",
                )
                for name in (
                    "detected_at",
                    "acknowledged_at",
                    "mitigated_at",
                    "resolved_at",
                    "all_clear_at",
                )
            ),
        ]
        indexes = [models.Index(fields=["team", "-started_at"])]

    def __str__(self):
        return f"{self.reference} {self.title}"

    def save(self, *args, **kwargs):
        if self.number is not None:
            return super().save(*args, **kwargs)
        # Number incidents per year. Two incidents opened at the same moment may pick the same
        # number; the unique constraint refuses the second, which then takes the next one.
        self.year = (self.started_at or timezone.now()).astimezone(UTC).year
        for _attempt in range(10):
            last = Incident.objects.filter(year=self.year).aggregate(n=models.Max("number"))["n"]
            self.number = (last or 0) + 1
            try:
                with transaction.atomic():
                    return super().save(*args, **kwargs)
            except IntegrityError:
                taken = Incident.objects.filter(year=self.year, number=self.number).exists()
                self.number = None
                if not taken:
                    raise
        raise IntegrityError("Could not allocate an incident reference; try again.")

    def get_absolute_url(self):
        return reverse("incidents:detail", args=[self.reference])

    @property
    def reference(self):
        if self.number is None:
            return "INC-(new)"
        return f"INC-{self.year}-{self.number:04d}"

    def clean(self):
        errors = {}
        if self.started_at:
            for name in (
                "detected_at",
                "acknowledged_at",
                "mitigated_at",
                "resolved_at",
                "all_clear_at",
            ):
                value = getattr(self, name)
                if value and value < self.started_at:
                    label = self._meta.get_field(name).verbose_name
                    errors[name] = f"The {label} cannot be before the incident started."
        if self.mitigated_at and self.resolved_at and self.resolved_at < self.mitigated_at:
            errors["resolved_at"] = "An incident cannot be resolved before it was mitigated."
        if self.all_clear_at and self.resolved_at and self.all_clear_at < self.resolved_at:
            errors["all_clear_at"] = "The all clear cannot come before the incident was resolved."
        if self.status == self.Status.RESOLVED and not self.resolved_at:
            errors["resolved_at"] = "A resolved incident needs the time it was resolved."
        if errors:
            raise ValidationError(errors)

    # Response metrics. Each milestone comes from the incident's own field when it was set,
    # otherwise from the earliest timeline event of the matching kind.

    MILESTONE_EVENT_KINDS = {
        "detected_at": "alert",
        "acknowledged_at": "acknowledge",
        "mitigated_at": "mitigation",
        "resolved_at": "resolution",
    }

    @cached_property
    def _first_event_by_kind(self):
        """From the prefetched timeline, the with_milestones() annotations, or one query."""
        kinds = self.MILESTONE_EVENT_KINDS.values()
        if "timeline_events" in getattr(self, "_prefetched_objects_cache", {}):
            first = {}
            for event in self.timeline_events.all():
                if event.kind not in first or event.occurred_at < first[event.kind]:
                    first[event.kind] = event.occurred_at
            return first
        if all(hasattr(self, f"first_{kind}_at") for kind in kinds):
            return {kind: getattr(self, f"first_{kind}_at") for kind in kinds}
        rows = (
            self.timeline_events.filter(kind__in=kinds)
            .order_by()
            .values("kind")
            .annotate(at=Min("occurred_at"))
            .values_list("kind", "at")
        )
        return dict(rows)

    def milestone(self, name):
        recorded = getattr(self, name)
        if recorded is not None:
            return recorded
        return self._first_event_by_kind.get(self.MILESTONE_EVENT_KINDS[name])

    @property
    def detected(self):
        return self.milestone("detected_at")

    @property
    def acknowledged(self):
        return self.milestone("acknowledged_at")

    @property
    def mitigated(self):
        return self.milestone("mitigated_at")

    @property
    def resolved(self):
        return self.milestone("resolved_at")

    @property
    def duration(self):
        """Start to resolution; None while the incident is ongoing."""
        return elapsed(self.started_at, self.resolved)

    @property
    def time_to_detect(self):
        return elapsed(self.started_at, self.detected)

    @property
    def time_to_acknowledge(self):
        """Measured from detection: how long the alert waited for a human."""
        return elapsed(self.detected, self.acknowledged)

    @property
    def time_to_mitigate(self):
        return elapsed(self.started_at, self.mitigated)

    @property
    def time_to_resolve(self):
        return elapsed(self.started_at, self.resolved)

    def response_metrics(self):
        """(label, value, how it is measured) for the page and the export."""
        return [
            ("Time to detect", self.time_to_detect, "start → first alert"),
            ("Time to acknowledge", self.time_to_acknowledge, "first alert → acknowledged"),
            ("Time to mitigate", self.time_to_mitigate, "start → mitigated"),
            ("Time to resolve", self.time_to_resolve, "start → resolved"),
        ]

    @property
    def is_resolved(self):
        return self.status == self.Status.RESOLVED

    def _viewer_answer(self, user, name):
        """An answer with_viewer() already gave for this user, or None."""
        if getattr(self, "viewer_pk", None) == user.pk and hasattr(self, name):
            return getattr(self, name)
        return None

    def can_edit(self, user):
        answer = self._viewer_answer(user, "viewer_edits")
        if answer is not None:
            return answer
        return user.is_superuser or self.team.is_member(user)

    def is_managed_by(self, user):
        """A manager of the incident's team (superusers are not managers by that alone)."""
        answer = self._viewer_answer(user, "viewer_manages")
        if answer is not None:
            return answer
        return self.team.is_manager(user)


def elapsed(start, end):
    """end - start, or None when either is unknown or they are in the wrong order."""
    if start is None or end is None:
        return None
    delta = end - start
    return delta if delta >= timedelta(0) else None


class IncidentService(models.Model):
    class Impact(models.TextChoices):
        DOWN = "down", "Down"
        DEGRADED = "degraded", "Degraded"
        UNAFFECTED = "unaffected", "Not affected"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="service_impacts")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    impact = models.CharField(max_length=20, choices=Impact.choices, default=Impact.DEGRADED)
    note = models.CharField(max_length=200, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["service__name"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "service"], name="unique_incident_service"),
        ]

    def __str__(self):
        return f"{self.service} ({self.get_impact_display()})"


class TimelineEvent(models.Model):
    class Kind(models.TextChoices):
        ALERT = "alert", "Alert"
        PAGE = "page", "Page"
        ACKNOWLEDGE = "acknowledge", "Acknowledge"
        INVESTIGATE = "investigate", "Investigate"
        DECISION = "decision", "Decision"
        ACTION = "action", "Action"
        COMMUNICATION = "communication", "Communication"
        MITIGATION = "mitigation", "Mitigation"
        RESOLUTION = "resolution", "Resolution"
        OTHER = "other", "Other"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline_events")
    occurred_at = models.DateTimeField("time (UTC)")
    description = models.TextField("event", help_text="Markdown.")
    action_taken = models.CharField(max_length=300, blank=True)
    notes = models.TextField(blank=True, help_text="Markdown. Details that are not the event.")
    actor = models.CharField(
        max_length=100, blank=True, help_text='A person, a team or a system ("PagerDuty").'
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    is_key_decision = models.BooleanField("key decision", default=False)
    # Orders events that share the same minute, in the order they were written down.
    position = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["occurred_at", "position", "pk"]
        indexes = [models.Index(fields=["incident", "occurred_at", "position"])]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.description[:60]}"
