from django.contrib import admin

from .models import ActionItem


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "priority", "status", "due_date", "postmortem"]
    list_filter = ["status", "priority", "category", "term"]
    search_fields = ["title", "description"]
    autocomplete_fields = ["owner"]
    raw_id_fields = ["postmortem"]
    readonly_fields = ["completed_at", "last_reminded_at", "created_at", "updated_at"]
    list_select_related = ["owner", "postmortem__incident"]
