"""Admin views for support: what was sent where, and what failed. Secrets are never shown."""

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from .models import Delivery, Event, SlackChannel, SlackPost, TrackerConnection, TrackerLink


class StudioAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    formfield_overrides = {
        models.URLField: {"form_class": forms.URLField, "assume_scheme": "https"}
    }


@admin.register(Event)
class EventAdmin(StudioAdmin):
    list_display = ["id", "kind", "team", "occurred_at"]
    list_filter = ["kind", "team"]
    search_fields = ["id", "dedupe_key"]
    readonly_fields = ["id", "team", "kind", "data", "occurred_at", "dedupe_key"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Events are what happened: every field is read-only, so an "add" could only save
        an empty, invalid row."""
        return False


@admin.register(Delivery)
class DeliveryAdmin(StudioAdmin):
    list_display = ["event", "endpoint", "status", "attempts", "response_status", "created_at"]
    list_filter = ["status"]
    list_select_related = ["event", "endpoint"]
    raw_id_fields = ["event", "endpoint"]


@admin.register(SlackPost)
class SlackPostAdmin(StudioAdmin):
    list_display = ["dedupe_key", "team", "status", "attempts", "created_at"]
    list_filter = ["status"]
    search_fields = ["dedupe_key", "text"]


@admin.register(SlackChannel)
class SlackChannelAdmin(StudioAdmin):
    list_display = ["team", "url_hint", "is_active", "updated_at"]
    fields = ["team", "is_active"]


@admin.register(TrackerConnection)
class TrackerConnectionAdmin(StudioAdmin):
    list_display = ["name", "provider", "team", "project", "token_hint", "is_active"]
    list_filter = ["provider", "is_active"]
    fields = ["team", "provider", "name", "base_url", "project", "username", "issue_type",
              "is_active"]  # fmt: skip


@admin.register(TrackerLink)
class TrackerLinkAdmin(StudioAdmin):
    list_display = ["key", "action_item", "connection", "state", "remote_status", "last_synced_at"]
    list_filter = ["state"]
    list_select_related = ["action_item", "connection"]
    search_fields = ["key"]
    raw_id_fields = ["action_item"]
