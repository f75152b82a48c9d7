"""The list filters of the pages, with a few more that scripts need."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet

from actionitems.filters import ActionItemFilter
from actionitems.models import ActionItem
from incidents.filters import IncidentFilter
from incidents.models import Incident


class UTCDateTimeField(forms.DateTimeField):
    """ISO 8601 with any offset, compared in UTC (PostgreSQL refuses offsets past 15:59)."""

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("Not a time we can compare.") from None


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCDateTimeField  # type: ignore[assignment]  # a subclass of the stubs' field


class ApiIncidentFilter(IncidentFilter):
    q = django_filters.CharFilter(method="search", label="Title, service or reference")
    # The API names teams and owners by slug and username, not by id as the pages do.
    team = django_filters.CharFilter(field_name="team__slug", label="Team (slug)")  # type: ignore[assignment]
    external_id = django_filters.CharFilter()
    started_after = UTCDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = UTCDateTimeFilter(field_name="started_at", lookup_expr="lt")
    updated_since = UTCDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta(IncidentFilter.Meta):
        fields = [
            "q", "severity", "status", "team", "external_id", "started_after",
            "started_before", "updated_since", "archived",
        ]  # fmt: skip


class ApiActionItemFilter(ActionItemFilter):
    team = django_filters.CharFilter(  # type: ignore[assignment]
        field_name="postmortem__incident__team__slug", label="Team"
    )
    incident = django_filters.CharFilter(method="of_incident", label="Incident reference")
    owner = django_filters.CharFilter(field_name="owner__username", label="Owner (username)")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lt")
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte")

    class Meta(ActionItemFilter.Meta):
        fields = ["mine", "overdue", "team", "status", "incident", "owner", "due_before",
                  "due_after"]  # fmt: skip

    def of_incident(
        self, queryset: QuerySet[ActionItem], name: str, value: str
    ) -> QuerySet[ActionItem]:
        return queryset.filter(
            postmortem__incident__in=Incident.objects.with_reference(value.strip().upper())
        )
