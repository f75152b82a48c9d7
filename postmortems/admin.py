from django.contrib import admin

from .models import ContributingFactor, FiveWhy, FollowUp, Postmortem


class FiveWhyInline(admin.TabularInline):
    model = FiveWhy
    extra = 0


class ContributingFactorInline(admin.TabularInline):
    model = ContributingFactor
    extra = 0


class FollowUpInline(admin.TabularInline):
    model = FollowUp
    extra = 0


@admin.register(Postmortem)
class PostmortemAdmin(admin.ModelAdmin):
    list_display = ["incident", "status", "template", "created_at"]
    list_filter = ["status", "template"]
    search_fields = ["incident__title"]
    autocomplete_fields = ["authors", "related_incidents"]
    raw_id_fields = ["incident"]
    inlines = [FiveWhyInline, ContributingFactorInline, FollowUpInline]
    list_select_related = ["incident"]
