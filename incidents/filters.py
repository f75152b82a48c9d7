"""The filters that choose incidents, shared by the incident list, search and insights.

Everything here filters an Incident queryset; apps above (search, insights) apply the same
FilterSet to the incidents they look at, so "the same filters" mean the same thing everywhere.
Date bounds are UTC days, inclusive.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

import django_filters
from django import forms
from django.contrib.auth.models import User
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.lookups import LessThan
from django.http import HttpRequest
from django.utils import timezone

from .forms import SuggestingInput, teams_of
from .models import (
    Incident,
    IncidentService,
    IncidentTag,
    Service,
    Team,
    milestone_expression,
    normalize_tag,
)

OPEN = "open"
NO_POSTMORTEM = "none"
OVERDUE = "overdue"


def person(request: HttpRequest) -> User:
    """The signed-in person: every list sits behind LoginRequiredMiddleware, but django-filter
    hands its callables a plain HttpRequest."""
    return cast(User, request.user)


def user_teams(request: HttpRequest) -> QuerySet[Team]:
    return teams_of(person(request))


def user_services(request: HttpRequest) -> QuerySet[Service]:
    return Service.objects.filter(team__in=teams_of(person(request))).select_related("team")


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class IncidentFilter(django_filters.FilterSet):
    """Team, service, severity, tag, when it started, incident and postmortem status."""

    # django-filter calls a queryset given as a function with the request; its stubs do not say so.
    team = django_filters.ModelChoiceFilter(
        queryset=user_teams,  # type: ignore[arg-type]
        empty_label="All my teams",
    )
    service = django_filters.ModelChoiceFilter(
        label="Service",
        queryset=user_services,  # type: ignore[arg-type]
        empty_label="Any service",
        method="with_service",
    )
    severity = django_filters.ChoiceFilter(
        choices=Incident.Severity.choices, empty_label="Any severity"
    )
    tag = django_filters.CharFilter(method="with_tag", label="Tag")
    started_from = django_filters.DateFilter(
        method="started_on_or_after", label="Started from (UTC)", widget=DateInput
    )
    started_to = django_filters.DateFilter(
        method="started_on_or_before", label="Started until (UTC)", widget=DateInput
    )
    status = django_filters.ChoiceFilter(
        choices=[(OPEN, "Open (not resolved)"), *Incident.Status.choices],
        empty_label="Any status",
        method="with_status",
    )
    postmortem = django_filters.ChoiceFilter(
        label="Postmortem",
        choices=[
            (NO_POSTMORTEM, "None yet"),
            ("draft", "Draft"),
            ("in_review", "In review"),
            ("approved", "Approved"),
            ("published", "Published"),
            (OVERDUE, "Overdue (not approved in time)"),
        ],
        empty_label="Any postmortem",
        method="with_postmortem",
    )
    archived = django_filters.BooleanFilter(
        label="Show archived", method="with_archived", widget=forms.CheckboxInput
    )

    class Meta:
        model = Incident
        fields = [
            "team",
            "service",
            "severity",
            "tag",
            "started_from",
            "started_to",
            "status",
            "postmortem",
            "archived",
        ]

    def filter_queryset(self, queryset: QuerySet[Incident]) -> QuerySet[Incident]:
        """Archived incidents are left out unless "Show archived" is ticked."""
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("archived"):
            queryset = queryset.filter(archived_at__isnull=True)
        return queryset

    def with_archived(
        self, queryset: QuerySet[Incident], name: str, value: bool
    ) -> QuerySet[Incident]:
        return queryset  # filter_queryset decides, so that the default applies without it

    def search(self, queryset: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        """Title, affected service or reference (INC-2026-0001)."""
        value = value.strip()
        service_matches = IncidentService.objects.filter(
            incident=OuterRef("pk"), service__name__icontains=value
        )
        by_reference = Incident.objects.with_reference(value.upper()).values("pk")
        return queryset.filter(
            Q(title__icontains=value) | Q(Exists(service_matches)) | Q(pk__in=by_reference)
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.request is not None:
            teams = teams_of(person(self.request))

            def tags() -> list[tuple[str, str]]:
                return [(name, "") for name in IncidentTag.objects.names_for_teams(teams)]

            self.filters["tag"].field.widget = SuggestingInput(tags)

    def with_service(
        self, queryset: QuerySet[Incident], name: str, value: Service
    ) -> QuerySet[Incident]:
        # Exists, not a join: an incident is listed once however many services it has.
        impacts = IncidentService.objects.filter(incident=OuterRef("pk"), service=value)
        return queryset.filter(Exists(impacts))

    def with_tag(self, queryset: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        tag = normalize_tag(value.strip().lstrip("#"))
        if not tag:
            return queryset
        tagged = IncidentTag.objects.filter(incident=OuterRef("pk"), name=tag)
        return queryset.filter(Exists(tagged))

    def started_on_or_after(
        self, queryset: QuerySet[Incident], name: str, value: date
    ) -> QuerySet[Incident]:
        return queryset.filter(started_at__gte=day_start(value))

    def started_on_or_before(
        self, queryset: QuerySet[Incident], name: str, value: date
    ) -> QuerySet[Incident]:
        return queryset.filter(started_at__lt=day_start(value + timedelta(days=1)))

    def with_status(
        self, queryset: QuerySet[Incident], name: str, value: str
    ) -> QuerySet[Incident]:
        if value == OPEN:
            return queryset.exclude(status=Incident.Status.RESOLVED)
        return queryset.filter(status=value)

    def with_postmortem(
        self, queryset: QuerySet[Incident], name: str, value: str
    ) -> QuerySet[Incident]:
        if value == NO_POSTMORTEM:
            return queryset.filter(postmortem__isnull=True)
        if value == OVERDUE:
            return queryset.filter(postmortem_overdue_q())
        return queryset.filter(postmortem__status=value)


def postmortem_overdue_q(now: datetime | None = None) -> Q:
    """Resolved longer ago than its team's approval target, and the postmortem is neither
    approved nor published (or was never started). One comparison per distinct target (teams
    set few), so the condition stays plain SQL on every database."""
    now = now or timezone.now()
    targets = Team.objects.order_by().values_list("approval_target_days", flat=True).distinct()
    late = Q(pk__in=[])
    for days in set(targets):
        same_target = (
            Q(team__approval_target_days=days)
            if days is not None
            else Q(team__approval_target_days__isnull=True)
        )
        deadline = now - Team(approval_target_days=days).approval_target
        late |= same_target & Q(LessThan(milestone_expression("resolved_at"), deadline))
    not_done = Q(postmortem__isnull=True) | Q(postmortem__status__in=["draft", "in_review"])
    return Q(status=Incident.Status.RESOLVED) & late & not_done


SORTS = {
    "reference": ("year", "number"),
    "title": ("title",),
    "severity": ("severity",),
    "status": ("status_rank",),
    "team": ("team__name",),
    "started": ("started_at",),
    "duration": ("elapsed",),
    "postmortem": ("postmortem_rank",),
    "open_items": ("open_action_items",),
}


def status_rank() -> Case:
    """Statuses in the order an incident goes through them, for sorting."""
    return Case(
        *(When(status=s, then=Value(n)) for n, s in enumerate(Incident.Status.values)),
        output_field=IntegerField(),
    )


def postmortem_rank() -> Case:
    stages = ["draft", "in_review", "approved", "published"]
    return Case(
        *(When(postmortem__status=s, then=Value(n + 1)) for n, s in enumerate(stages)),
        default=Value(0),
        output_field=IntegerField(),
    )


class IncidentListFilter(IncidentFilter):
    """The incident list's filters: the shared ones, a quick text match, and the sort order
    the column headings set."""

    q = django_filters.CharFilter(method="search", label="Title, service or reference")
    sort = django_filters.ChoiceFilter(
        choices=[(f"{d}{key}", key) for key in SORTS for d in ("", "-")],
        method="sort_by",
        widget=forms.HiddenInput,
    )

    class Meta(IncidentFilter.Meta):
        fields = ["q", *IncidentFilter.Meta.fields, "sort"]

    def sort_by(self, queryset: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        descending = value.startswith("-")
        columns = SORTS[value.lstrip("-")]
        order = [
            F(c).desc(nulls_last=True) if descending else F(c).asc(nulls_last=True) for c in columns
        ]
        return queryset.order_by(*order, "-pk")
