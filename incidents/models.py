from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Exists, F, Min, OuterRef, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Greatest, Least
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler

REFERENCE_PATTERN = re.compile(r"^INC-(?P<year>\d{4})-(?P<number>\d{4,})$")


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )
    # How long after resolution a postmortem should be approved; empty: the site's default
    # (settings.POSTMORTEM_APPROVAL_TARGET). The incident list and insights measure against it.
    approval_target_days = models.PositiveSmallIntegerField(
        "postmortem approval target (days)",
        null=True,
        blank=True,
        help_text="Days from resolution to an approved postmortem. Empty: the site's default.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def managers(self) -> models.QuerySet[User]:
        return self.members.filter(
            memberships__team=self, memberships__role=Membership.Role.MANAGER
        )

    def is_member(self, user: User) -> bool:
        return self.memberships.filter(user=user).exists()

    def is_manager(self, user: User) -> bool:
        return self.memberships.filter(user=user, role=Membership.Role.MANAGER).exists()

    @property
    def approval_target(self) -> timedelta:
        if self.approval_target_days is not None:
            return timedelta(days=self.approval_target_days)
        target: timedelta = settings.POSTMORTEM_APPROVAL_TARGET
        return target


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

    def __str__(self) -> str:
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

    def __str__(self) -> str:
        return self.name


class IncidentQuerySet(models.QuerySet["Incident"]):
    def visible_to(self, user: User) -> IncidentQuerySet:
        """The one place read access is decided: the user's teams' incidents, and those whose
        postmortem the user was asked to review (a reviewer may come from another team)."""
        if user.is_superuser:
            return self
        review_requests = apps.get_model("postmortems", "ReviewRequest").objects
        return self.filter(
            Exists(Membership.objects.filter(team=OuterRef("team"), user=user))
            | Exists(review_requests.filter(postmortem__incident=OuterRef("pk"), reviewer=user))
        )

    def active(self) -> IncidentQuerySet:
        """Not archived: what lists, search, insights and My work show by default."""
        return self.filter(archived_at__isnull=True)

    def editable_by(self, user: User) -> IncidentQuerySet:
        """Writing is for the team that owns the incident."""
        if user.is_superuser:
            return self
        return self.filter(Exists(Membership.objects.filter(team=OuterRef("team"), user=user)))

    def with_viewer(self, user: User) -> IncidentQuerySet:
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
        # Typed: an anonymous reader (a share link) has no pk, and a bare Value(None) has no type.
        viewer_pk = Value(user.pk, output_field=models.BigIntegerField())
        return self.annotate(viewer_pk=viewer_pk, viewer_edits=member, viewer_manages=manager)

    def with_first_events(self) -> IncidentQuerySet:
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

    def with_reference(self, reference: str | None) -> IncidentQuerySet:
        match = REFERENCE_PATTERN.match(reference or "")
        if not match:
            return self.none()
        return self.filter(year=int(match["year"]), number=int(match["number"]))

    def with_milestones(self, *names: str) -> IncidentQuerySet:
        """Each milestone as the response metrics read it, in SQL: the incident's own time, or
        else the earliest timeline event of the matching kind (see Incident.milestone). Adds
        `detected_time`, `acknowledged_time`, `mitigated_time` and `resolved_time` (or those
        of `names`, e.g. "resolved_at") for sorting and aggregating."""
        return self.annotate(
            **{
                name.replace("_at", "_time"): milestone_expression(name)
                for name in (names or Incident.MILESTONE_EVENT_KINDS)
            }
        )

    def similar_to(self, incident: Incident, limit: int = 5) -> list[Incident]:
        """Earlier incidents that look like this one, best first: shared services and tags,
        and on PostgreSQL words of the title in common (stemmed: "exhausted" ~ "exhaustion").
        Each comes with `shared_services`, `shared_tags` and `title_match` (0..1) for the page
        to say why. Incidents already linked to this one are left out."""
        services = IncidentService.objects.filter(incident=incident).values("service")
        tags = IncidentTag.objects.filter(incident=incident).values("name")
        linked = IncidentLink.objects.filter(
            Q(incident=incident, related=OuterRef("pk"))
            | Q(related=incident, incident=OuterRef("pk"))
        )
        candidates = (
            self.exclude(pk=incident.pk)
            .filter(started_at__lt=incident.started_at)
            .exclude(Exists(linked))
            .annotate(
                shared_services=models.Count(
                    "service_impacts",
                    filter=Q(service_impacts__service__in=services),
                    distinct=True,
                ),
                shared_tags=models.Count("tags", filter=Q(tags__name__in=tags), distinct=True),
            )
        )
        if connection.vendor == "postgresql":
            title_match: models.Expression = TitleSimilarity(incident.title)
        else:
            title_match = models.Value(0.0, output_field=models.FloatField())
        ranked = candidates.annotate(title_match=title_match).annotate(
            score=F("shared_services") * 3 + F("shared_tags") * 2 + F("title_match") * 4
        )
        alike = Q(shared_services__gt=0) | Q(shared_tags__gt=0) | Q(title_match__gt=0.2)
        return list(
            ranked.filter(alike).select_related("team").order_by("-score", "-started_at")[:limit]
        )


# An incident's recorded times, in the order a response goes through them; every one after the
# start cannot come before it.
TIME_FIELDS = (
    "started_at",
    "detected_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
    "all_clear_at",
)


class Archivable(models.Model):
    """Set aside: out of the default lists (incidents: also search and insights; postmortems:
    My work and the reminders), still reachable by its URL. Each change is logged on the
    incident (Activity), which outlives a deleted postmortem."""

    archived_at = models.DateTimeField(null=True, blank=True, editable=False)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        abstract = True

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def archive(self, *, by: User) -> Activity:
        return self._set_archived(True, by)

    def unarchive(self, *, by: User) -> Activity:
        return self._set_archived(False, by)

    # What refusals call it, where the change is logged, and as what (archived, unarchived).
    def archive_label(self) -> str:
        raise NotImplementedError

    def archive_log(self) -> tuple[Incident, str, str]:
        raise NotImplementedError

    def _set_archived(self, archived: bool, by: User) -> Activity:
        if self.is_archived == archived:
            state = "already archived" if archived else "not archived"
            raise ActionRefused(f"{self.archive_label()} is {state}.")
        incident, archived_kind, unarchived_kind = self.archive_log()
        with transaction.atomic():
            self.archived_at = timezone.now() if archived else None
            self.archived_by = by if archived else None
            type(self)._default_manager.filter(pk=self.pk).update(
                archived_at=self.archived_at, archived_by=self.archived_by
            )
            kind = archived_kind if archived else unarchived_kind
            return Activity.record(incident, kind, by=by)


class Incident(Archivable):
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
                for name in TIME_FIELDS[1:]
            ),
        ]
        indexes = [models.Index(fields=["team", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
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

    def get_absolute_url(self) -> str:
        return reverse("incidents:detail", args=[self.reference])

    def archive_label(self) -> str:
        return self.reference

    def archive_log(self) -> tuple[Incident, str, str]:
        return self, Activity.Kind.ARCHIVED, Activity.Kind.UNARCHIVED

    @property
    def reference(self) -> str:
        if self.number is None:
            return "INC-(new)"
        return f"INC-{self.year}-{self.number:04d}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.started_at:
            for name in TIME_FIELDS[1:]:
                value = getattr(self, name)
                if value and value < self.started_at:
                    label = Incident._meta.get_field(name).verbose_name  # type: ignore[union-attr]
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
    def _first_event_by_kind(self) -> dict[str, datetime]:
        """From the prefetched timeline, the with_milestones() annotations, or one query."""
        kinds = self.MILESTONE_EVENT_KINDS.values()
        if "timeline_events" in getattr(self, "_prefetched_objects_cache", {}):
            first: dict[str, datetime] = {}
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

    def milestone(self, name: str) -> datetime | None:
        recorded: datetime | None = getattr(self, name)
        if recorded is not None:
            return recorded
        return self._first_event_by_kind.get(self.MILESTONE_EVENT_KINDS[name])

    @property
    def detected(self) -> datetime | None:
        return self.milestone("detected_at")

    @property
    def acknowledged(self) -> datetime | None:
        return self.milestone("acknowledged_at")

    @property
    def mitigated(self) -> datetime | None:
        return self.milestone("mitigated_at")

    @property
    def resolved(self) -> datetime | None:
        return self.milestone("resolved_at")

    # Duration and time to resolve answer two questions, so they are measured differently:
    # how long users were affected (start -> resolved), and how long the response took to
    # fix it once someone knew (detected -> resolved). The gap between them is the time to
    # detect.

    @property
    def duration(self) -> timedelta | None:
        """Impact: start (users first affected) to resolution; None while ongoing."""
        return elapsed(self.started_at, self.resolved)

    @property
    def time_to_detect(self) -> timedelta | None:
        return elapsed(self.started_at, self.detected)

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        """Measured from detection: how long the alert waited for a human."""
        return elapsed(self.detected, self.acknowledged)

    @property
    def time_to_mitigate(self) -> timedelta | None:
        return elapsed(self.started_at, self.mitigated)

    @property
    def time_to_resolve(self) -> timedelta | None:
        """The response: detection (first alert) to resolution. Not the duration, which
        counts from the start and so includes the time nobody knew."""
        return elapsed(self.detected, self.resolved)

    DURATION_HELP = "How long users were affected: start → resolved."

    def response_metrics(self) -> list[tuple[str, timedelta | None, str]]:
        """(label, value, how it is measured) for the page and the export."""
        return [
            ("Time to detect", self.time_to_detect, "start → first alert"),
            ("Time to acknowledge", self.time_to_acknowledge, "first alert → acknowledged"),
            ("Time to mitigate", self.time_to_mitigate, "start → mitigated"),
            ("Time to resolve", self.time_to_resolve, "first alert → resolved"),
        ]

    @property
    def is_resolved(self) -> bool:
        return self.status == self.Status.RESOLVED

    def _viewer_answer(self, user: User, name: str) -> bool | None:
        """An answer with_viewer() already gave for this user, or None."""
        if getattr(self, "viewer_pk", None) == user.pk and hasattr(self, name):
            return bool(getattr(self, name))
        return None

    def linked_incidents(self) -> list[tuple[Incident, IncidentLink]]:
        """(the other incident, the link) for every link of this incident, made from either
        side, oldest incident first; reads the prefetched `links_out` and `links_in`."""
        ends = [(link.related, link) for link in self.links_out.all()]
        ends += [(link.incident, link) for link in self.links_in.all()]
        return sorted(ends, key=lambda end: (end[0].started_at, end[0].pk))

    def can_edit(self, user: User) -> bool:
        answer = self._viewer_answer(user, "viewer_edits")
        if answer is not None:
            return answer
        return user.is_superuser or self.team.is_member(user)

    def is_managed_by(self, user: User) -> bool:
        """A manager of the incident's team (superusers are not managers by that alone)."""
        answer = self._viewer_answer(user, "viewer_manages")
        if answer is not None:
            return answer
        return self.team.is_manager(user)


def milestone_expression(name: str, via: str = "") -> Coalesce:
    """SQL for Incident.milestone(name): the recorded time, else the first event of its kind.
    `via` reaches the incident from another model: "incident__" from its services or tags."""
    return Coalesce(
        F(f"{via}{name}"),
        first_event_subquery(Incident.MILESTONE_EVENT_KINDS[name], via),
        output_field=models.DateTimeField(),
    )


def first_event_subquery(kind: str, via: str = "") -> models.Subquery:
    """The time of the incident's earliest timeline event of this kind (None if there is none)."""
    incident = OuterRef(via.removesuffix("__") or "pk")
    return models.Subquery(
        TimelineEvent.objects.filter(incident=incident, kind=kind)
        .order_by("occurred_at")
        .values("occurred_at")[:1],
        output_field=models.DateTimeField(),
    )


class TitleSimilarity(models.Func):
    """How many of a title's words (stemmed, stop words dropped) an incident's title shares, as
    0..1: the words of `title` become an OR query ranked against each incident's title with
    ts_rank_cd (normalization 32 maps the rank into 0..1). PostgreSQL only."""

    output_field = models.FloatField()

    def __init__(self, title: str) -> None:
        super().__init__(F("title"), models.Value(title))

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        column, column_params = compiler.compile(self.source_expressions[0])
        title, title_params = compiler.compile(self.source_expressions[1])
        # plainto_tsquery drops punctuation and stop words; its & become | for "any word".
        words = f"replace(plainto_tsquery('english', {title})::text, '&', '|')::tsquery"
        sql = f"ts_rank_cd(to_tsvector('english', {column}), {words}, 32)"
        return sql, (*column_params, *title_params)


def elapsed(start: datetime | None, end: datetime | None) -> timedelta | None:
    """end - start, or None when either is unknown or they are in the wrong order."""
    if start is None or end is None:
        return None
    delta = end - start
    return delta if delta >= timedelta(0) else None


class ActionRefused(Exception):
    """A change the incident's or postmortem's state does not allow; the message says why."""


class Activity(models.Model):
    """What was done to an incident or its postmortem as a whole (archived, unarchived, the
    draft postmortem deleted): who and when. Kept on the incident, so that it outlives a
    deleted postmortem. Section edits have their own history (postmortems.Revision)."""

    class Kind(models.TextChoices):
        ARCHIVED = "archived", "Incident archived"
        UNARCHIVED = "unarchived", "Incident unarchived"
        POSTMORTEM_ARCHIVED = "postmortem_archived", "Postmortem archived"
        POSTMORTEM_UNARCHIVED = "postmortem_unarchived", "Postmortem unarchived"
        POSTMORTEM_DELETED = "postmortem_deleted", "Draft postmortem deleted"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["incident", "-at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.actor} at {self.at:%Y-%m-%d %H:%M}"

    @classmethod
    def record(cls, incident: Incident, kind: str, *, by: Any, note: str = "") -> Activity:
        return cls.objects.create(incident=incident, kind=kind, actor=by, note=note)


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

    def __str__(self) -> str:
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
        indexes = [
            models.Index(fields=["incident", "occurred_at", "position"]),
            # The first event of a kind stands in for a milestone not recorded (see
            # Incident.milestone); aggregated over many incidents, this finds it in one probe.
            models.Index(fields=["incident", "kind", "occurred_at"], name="timeline_first_of_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.description[:60]}"


TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._+-]*$")


def normalize_tag(name: str) -> str:
    """Tags compare as people mean them: "Third party" and "third-party" are one tag."""
    return "-".join((name or "").lower().split())


class IncidentTagQuerySet(models.QuerySet["IncidentTag"]):
    def names_for_teams(self, teams: Iterable[Team | int] | models.QuerySet[Team]) -> list[str]:
        """The tags these teams already use, most used first: what the tag field suggests."""
        return list(
            self.filter(incident__team__in=teams)
            .values("name")
            .annotate(uses=models.Count("pk"))
            .order_by("-uses", "name")
            .values_list("name", flat=True)[:200]
        )


class IncidentTag(models.Model):
    """A free label on an incident ("database", "deploy", "capacity", "third-party"), so that
    incidents about the same thing are found, filtered and counted together."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(
        "tag",
        max_length=50,
        help_text="A word or two: database, deploy, capacity, third-party…",
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = IncidentTagQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "name"], name="unique_incident_tag"),
            models.CheckConstraint(condition=~Q(name=""), name="incident_tag_not_empty"),
        ]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.name = normalize_tag(self.name)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        # Before the unique check, so that "Database" is refused when "database" is there.
        self.name = normalize_tag(self.name)
        if self.name and not TAG_PATTERN.match(self.name):
            raise ValidationError(
                {"name": "Letters, digits and - . _ + only, starting with a letter or digit."}
            )


class IncidentLink(models.Model):
    """Two incidents that are related, and how ("same pool, new trigger", "caused by"). One row
    per pair, shown on the documents of both; `incident` is the side it was made from."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="links_out")
    related = models.ForeignKey(
        Incident,
        on_delete=models.CASCADE,
        related_name="links_in",
        verbose_name="related incident",
    )
    note = models.CharField(
        max_length=200, blank=True, help_text="How they are related, in a few words."
    )
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(incident=F("related")), name="incident_link_not_to_itself"
            ),
            # A pair is linked once, whichever side linked it.
            models.UniqueConstraint(
                Least("incident", "related"),
                Greatest("incident", "related"),
                name="unique_incident_link_pair",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} ↔ {self.related_id}"

    def other_end(self, incident: Incident) -> Incident:
        """The incident at the other end, seen from `incident`."""
        return self.incident if self.related_id == incident.pk else self.related
