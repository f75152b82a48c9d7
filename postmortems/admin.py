from django.contrib import admin

from .models import (
    Comment,
    ContributingFactor,
    FiveWhy,
    FollowUp,
    Postmortem,
    ReviewEvent,
    ReviewRequest,
    Revision,
)


class FiveWhyInline(admin.TabularInline):
    model = FiveWhy
    extra = 0


class ContributingFactorInline(admin.TabularInline):
    model = ContributingFactor
    extra = 0


class FollowUpInline(admin.TabularInline):
    model = FollowUp
    extra = 0


class ReviewRequestInline(admin.TabularInline):
    model = ReviewRequest
    extra = 0
    autocomplete_fields = ["reviewer"]
    readonly_fields = ["requested_by", "requested_at", "decided_at"]


@admin.register(Postmortem)
class PostmortemAdmin(admin.ModelAdmin):
    list_display = ["incident", "status", "template", "created_at"]
    list_filter = ["status", "template"]
    search_fields = ["incident__title"]
    autocomplete_fields = ["authors"]
    raw_id_fields = ["incident"]
    inlines = [FiveWhyInline, ContributingFactorInline, FollowUpInline, ReviewRequestInline]
    list_select_related = ["incident"]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["postmortem", "section", "author", "created_at", "resolved_at"]
    list_filter = ["section"]
    search_fields = ["body"]
    raw_id_fields = ["postmortem", "parent"]
    list_select_related = ["postmortem__incident", "author"]


@admin.register(Revision)
class RevisionAdmin(admin.ModelAdmin):
    list_display = ["incident", "section", "version", "author", "created_at", "restored_from"]
    list_filter = ["section"]
    search_fields = ["new_text"]
    readonly_fields = [f.name for f in Revision._meta.fields]
    list_select_related = ["incident", "author"]


@admin.register(ReviewEvent)
class ReviewEventAdmin(admin.ModelAdmin):
    list_display = ["postmortem", "kind", "actor", "from_status", "to_status", "decision", "at"]
    list_filter = ["kind", "to_status", "decision"]
    readonly_fields = [f.name for f in ReviewEvent._meta.fields]
    list_select_related = ["postmortem__incident", "actor"]
