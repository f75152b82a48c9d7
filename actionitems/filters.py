from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from incidents.filters import user_teams

from .models import ActionItem, ActionItemQuerySet

NOT_DONE = "not_done"


class ActionItemFilter(django_filters.FilterSet):
    mine = django_filters.BooleanFilter(
        method="only_mine", label="Only mine", widget=forms.CheckboxInput
    )
    overdue = django_filters.BooleanFilter(
        method="only_overdue", label="Only overdue", widget=forms.CheckboxInput
    )
    team = django_filters.ModelChoiceFilter(
        field_name="postmortem__incident__team",
        queryset=user_teams,  # type: ignore[arg-type]  # called with the request
        empty_label="All my teams",
    )
    status = django_filters.ChoiceFilter(
        choices=[(NOT_DONE, "Not done yet"), *ActionItem.Status.choices],
        empty_label="Any status",
        method="with_status",
    )

    archived = django_filters.BooleanFilter(
        method="with_archived", label="Show archived", widget=forms.CheckboxInput
    )

    class Meta:
        model = ActionItem
        fields = ["mine", "overdue", "team", "status", "archived"]

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """Items of an archived incident or postmortem are left out unless asked for."""
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("archived"):
            queryset = queryset.filter(
                postmortem__archived_at__isnull=True, postmortem__incident__archived_at__isnull=True
            )
        return queryset

    def with_archived(
        self, queryset: ActionItemQuerySet, name: str, value: bool
    ) -> ActionItemQuerySet:
        return queryset  # filter_queryset decides, so that the default applies without it

    def only_mine(self, queryset: ActionItemQuerySet, name: str, value: bool) -> ActionItemQuerySet:
        if not value or self.request is None:
            return queryset
        user = self.request.user
        return queryset.filter(owner=user) if isinstance(user, User) else queryset.none()

    def only_overdue(
        self, queryset: ActionItemQuerySet, name: str, value: bool
    ) -> ActionItemQuerySet:
        return queryset.overdue(timezone.localdate()) if value else queryset

    def with_status(
        self, queryset: ActionItemQuerySet, name: str, value: str
    ) -> ActionItemQuerySet:
        if value == NOT_DONE:
            return queryset.open()
        return queryset.filter(status=value)
