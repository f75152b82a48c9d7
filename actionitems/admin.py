from django.contrib import admin
from django.db import models

from .models import ActionItem, EmailPreference, Notification


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "priority", "status", "due_date", "postmortem"]
    list_filter = ["status", "priority", "category", "term"]
    search_fields = ["title", "description"]
    autocomplete_fields = ["owner"]
    raw_id_fields = ["postmortem"]
    readonly_fields = ["completed_at", "last_reminded_at", "created_at", "updated_at"]
    list_select_related = ["owner", "postmortem__incident"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Where an operator sees what was sent, what is pending and why sending failed."""

    list_display = ["kind", "recipient", "object_id", "period", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["recipient__username", "recipient__email", "last_error"]
    readonly_fields = [f.name for f in Notification._meta.fields]
    list_select_related = ["recipient"]
    date_hierarchy = "created_at"


@admin.register(EmailPreference)
class EmailPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "weekly_digest"]
    autocomplete_fields = ["user"]
