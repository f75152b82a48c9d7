from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from .models import (
    ActionItem,
    EmailAction,
    EmailPreference,
    MeetingInvite,
    Notification,
    TeamFollowUpSettings,
)


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin[ActionItem]):
    list_display = ["title", "owner", "priority", "status", "due_date", "postmortem"]
    list_filter = ["status", "priority", "category", "term"]
    search_fields = ["title", "description"]
    autocomplete_fields = ["owner"]
    raw_id_fields = ["postmortem"]
    readonly_fields = ["completed_at", "last_reminded_at", "created_at", "updated_at"]
    list_select_related = ["owner", "postmortem__incident"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class RecordAdmin(admin.ModelAdmin[Any]):
    """Rows the app writes, every field read-only: an "add" here could only save an empty,
    invalid row (a 500 on its NOT NULL columns)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(RecordAdmin):
    """Where an operator sees what was sent, what is pending and why sending failed."""

    list_display = ["kind", "recipient", "object_id", "period", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["recipient__username", "recipient__email", "last_error"]
    readonly_fields = [f.name for f in Notification._meta.fields]
    list_select_related = ["recipient"]
    date_hierarchy = "created_at"


@admin.register(EmailPreference)
class EmailPreferenceAdmin(admin.ModelAdmin[EmailPreference]):
    list_display = ["user", "timezone", "weekly_digest", "nudges", "mentions", "overdue_reminders"]
    list_filter = ["weekly_digest", "nudges", "mentions", "overdue_reminders"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]
    list_select_related = ["user"]


@admin.register(TeamFollowUpSettings)
class TeamFollowUpSettingsAdmin(admin.ModelAdmin[TeamFollowUpSettings]):
    list_display = [
        "team",
        "reminder_cadence",
        "reminder_every_days",
        "heads_up_days",
        "escalate_after_days",
        "digest_weekday",
        "digest_hour",
        "members_may_mute_overdue",
    ]
    readonly_fields = ["updated_by", "updated_at"]
    list_select_related = ["team"]


@admin.register(EmailAction)
class EmailActionAdmin(RecordAdmin):
    """The log of changes made from emails' one-click links: read only."""

    list_display = ["created_at", "actor", "action", "item", "from_due", "to_due"]
    list_filter = ["action"]
    search_fields = ["item__title", "actor__username", "reason"]
    readonly_fields = [f.name for f in EmailAction._meta.fields]
    list_select_related = ["actor", "item"]
    date_hierarchy = "created_at"


@admin.register(MeetingInvite)
class MeetingInviteAdmin(RecordAdmin):
    list_display = ["postmortem", "starts_at", "sequence", "updated_at"]
    readonly_fields = [f.name for f in MeetingInvite._meta.fields]
    list_select_related = ["postmortem__incident"]
