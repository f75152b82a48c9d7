from django.contrib import admin
from django.http import HttpRequest

from .models import (
    Activity,
    Incident,
    IncidentLink,
    IncidentService,
    IncidentTag,
    Membership,
    Service,
    Team,
    TimelineEvent,
)


class MembershipInline(admin.TabularInline[Membership, Team]):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ["name", "slug", "approval_target_days"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin[Service]):
    list_display = ["name", "team"]
    list_filter = ["team"]
    search_fields = ["name"]


class IncidentServiceInline(admin.TabularInline[IncidentService, Incident]):
    model = IncidentService
    extra = 1
    autocomplete_fields = ["service"]


class TimelineEventInline(admin.TabularInline[TimelineEvent, Incident]):
    model = TimelineEvent
    extra = 0
    fields = ["occurred_at", "description", "actor", "kind", "is_key_decision", "position"]


class IncidentTagInline(admin.TabularInline[IncidentTag, Incident]):
    model = IncidentTag
    extra = 0
    fields = ["name"]


class IncidentLinkInline(admin.TabularInline[IncidentLink, Incident]):
    model = IncidentLink
    fk_name = "incident"
    extra = 0
    fields = ["related", "note"]
    raw_id_fields = ["related"]
    verbose_name = "link to a related incident"


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin[Incident]):
    list_display = ["reference", "title", "severity", "status", "team", "started_at", "archived_at"]
    list_filter = ["severity", "status", "team", ("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["title"]
    date_hierarchy = "started_at"
    autocomplete_fields = ["commander", "team"]
    readonly_fields = [
        "reference",
        "created_by",
        "created_at",
        "updated_at",
        "archived_at",
        "archived_by",
    ]
    inlines = [IncidentServiceInline, IncidentTagInline, IncidentLinkInline, TimelineEventInline]
    list_select_related = ["team"]


@admin.register(TimelineEvent)
class TimelineEventAdmin(admin.ModelAdmin[TimelineEvent]):
    list_display = ["occurred_at", "incident", "kind", "actor", "is_key_decision"]
    list_filter = ["kind", "is_key_decision"]
    search_fields = ["description", "actor"]
    list_select_related = ["incident"]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin[Activity]):
    """The log of archiving and deleting: read only, as a record should be."""

    list_display = ["at", "incident", "kind", "actor", "note"]
    list_filter = ["kind"]
    search_fields = ["incident__title", "note"]
    list_select_related = ["incident", "actor"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Activity | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Activity | None = None) -> bool:
        return False
