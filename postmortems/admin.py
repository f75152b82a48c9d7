"""The admin, for support work. It may not go around the record: the review workflow's fields
are read-only here (a postmortem is published by its reviewers' sign-off, not by a form), the
revisions and the sign-off record cannot be written or deleted, and every edit of a section or
a row made here is recorded as a revision with the note "admin", with the section's version
moved on like any other save (open editors then get the usual 409).

Incidents are registered again here (their admin lives in the incidents app, which cannot
know about revisions) with the same recording.
"""

import copy
from typing import Any, ClassVar, TypeVar, cast

from django.contrib import admin
from django.contrib.auth.models import User
from django.db import models
from django.db.models import QuerySet
from django.forms import BaseModelFormSet, ModelForm
from django.http import HttpRequest

from incidents.admin import (
    IncidentAdmin,
    IncidentServiceInline,
    TimelineEventAdmin,
    TimelineEventInline,
)
from incidents.models import Incident, TimelineEvent

from .editing import FIELD_SECTIONS, ROW_SECTIONS, FieldSection, RowSection
from .models import (
    AdditionalSection,
    Attachment,
    Comment,
    ContributingFactor,
    FiveWhy,
    FollowUp,
    Postmortem,
    ReviewEvent,
    ReviewRequest,
    Revision,
)
from .services import record_field_edit, record_row_edits

# A document: the models whose rows hold field sections.
_D = TypeVar("_D", bound=Incident | Postmortem)
_M = TypeVar("_M", bound=models.Model)


def editor(request: HttpRequest) -> User:
    """Who made an admin edit: the admin lets in signed-in staff only."""
    return cast(User, request.user)


def row_section_of(model: type[models.Model]) -> RowSection | None:
    return next((s for s in ROW_SECTIONS.values() if s.model is model), None)


def incident_of(obj: Incident | Postmortem) -> Incident:
    return obj if isinstance(obj, Incident) else obj.incident


class RecordedDocumentAdmin(admin.ModelAdmin[_D]):
    """For the models holding field sections (incident, postmortem) and their row inlines."""

    # The sections' values before this save; None when nothing is to be recorded (an add).
    _before: dict[str, dict[str, Any]] | None

    def _sections(self) -> list[FieldSection]:
        return [s for s in FIELD_SECTIONS.values() if s.model is self.model]

    def save_model(self, request: HttpRequest, obj: _D, form: Any, change: bool) -> None:
        self._before = None
        if not change:
            return super().save_model(request, obj, form, change)
        stored = type(obj).objects.get(pk=obj.pk)
        self._before = {s.key: s.values(stored) for s in self._sections()}
        # Everything but the section versions, which the recording below moves on (this form
        # loaded them a while ago: saving them back could undo someone's save meanwhile).
        fields = [
            f.name
            for f in obj._meta.concrete_fields
            if not f.primary_key and f.name != "section_versions"
        ]
        obj.save(update_fields=fields)

    def save_related(
        self, request: HttpRequest, form: ModelForm[_D], formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)  # many-to-many, inlines
        if self._before is None:
            return
        obj = form.instance
        getattr(obj, "_prefetched_objects_cache", {}).clear()
        for section in self._sections():
            record_field_edit(
                incident_of(obj),
                section.key,
                self._before[section.key],
                section.values(obj),
                editor(request),
            )

    def save_formset(
        self, request: HttpRequest, form: ModelForm[_D], formset: Any, change: bool
    ) -> None:
        section = row_section_of(formset.model)
        if section is None:
            return super().save_formset(request, form, formset, change)
        save_rows_recorded(request, formset, section, incident_of(form.instance))


def save_rows_recorded(
    request: HttpRequest,
    formset: BaseModelFormSet[Any, Any],
    section: RowSection,
    incident: Incident,
) -> None:
    """Save an inline of rows, moving each changed row's version on, and record the rows."""
    existing = [f.instance.pk for f in formset.initial_forms if f.instance.pk]
    rows_before = section.model._default_manager.filter(pk__in=existing)
    before: dict[int, Any] = {row.pk: row for row in rows_before}  # rows are of any model
    rows: list[tuple[int, Any, Any]] = []
    saved = formset.save(commit=False)
    for obj in formset.deleted_objects:
        pk = obj.pk
        obj.delete()
        rows.append((pk, before.get(pk), None))
    for obj in saved:
        if obj.pk in before:
            obj.version = before[obj.pk].version + 1
            obj.save()
            rows.append((obj.pk, before[obj.pk], obj))
        else:
            obj.save()
            rows.append((obj.pk, None, obj))
    formset.save_m2m()
    if rows:
        record_row_edits(incident, section.key, rows, editor(request))


class RecordedRowAdmin(admin.ModelAdmin[Any]):
    """For a model whose rows are a list section, edited on their own page."""

    def _section(self) -> RowSection:
        section = row_section_of(self.model)
        assert section is not None, f"{self.model} is not the row of a list section"
        return section

    def _incident(self, obj: Any) -> Incident:
        parent = getattr(obj, self._section().parent)
        return incident_of(parent)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = copy.copy(type(obj).objects.get(pk=obj.pk)) if change else None
        if before is not None:
            obj.version = before.version + 1
        super().save_model(request, obj, form, change)
        record_row_edits(self._incident(obj), self._section().key, [(obj.pk, before, obj)],
                         editor(request))  # fmt: skip

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        pk, incident, before = obj.pk, self._incident(obj), copy.copy(obj)
        super().delete_model(request, obj)
        record_row_edits(incident, self._section().key, [(pk, before, None)], editor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


REVIEW_REQUEST_FIELDS = (
    "reviewer",
    "role",
    "decision",
    "note",
    "requested_by",
    "requested_at",
    "decided_at",
)


class NoVersionInline:
    """A row's version is the editors' conflict check, not something to type."""

    exclude: ClassVar[list[str] | tuple[str, ...] | None] = ["version"]


class FiveWhyInline(NoVersionInline, admin.TabularInline[FiveWhy, Postmortem]):
    model = FiveWhy
    extra = 0


class ContributingFactorInline(
    NoVersionInline, admin.TabularInline[ContributingFactor, Postmortem]
):
    model = ContributingFactor
    extra = 0


class FollowUpInline(NoVersionInline, admin.TabularInline[FollowUp, Postmortem]):
    model = FollowUp
    extra = 0


class AdditionalSectionInline(NoVersionInline, admin.StackedInline[AdditionalSection, Postmortem]):
    model = AdditionalSection
    extra = 0


class ReviewRequestInline(admin.TabularInline[ReviewRequest, Postmortem]):
    """Reviewers and decisions are the sign-off: asked for and given on the page only."""

    model = ReviewRequest
    extra = 0
    fields = REVIEW_REQUEST_FIELDS
    readonly_fields = REVIEW_REQUEST_FIELDS

    def has_add_permission(self, request: HttpRequest, obj: Postmortem | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Postmortem | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Postmortem | None = None) -> bool:
        return False


@admin.register(Postmortem)
class PostmortemAdmin(RecordedDocumentAdmin[Postmortem]):
    list_display = ["incident", "status", "template", "created_at"]
    list_filter = ["status", "template"]
    search_fields = ["incident__title"]
    autocomplete_fields = ["authors"]
    raw_id_fields = ["incident"]
    # Status moves through review (request, sign-off, publish); the template switch is a
    # recorded step of the workflow too.
    readonly_fields = ["status", "template"]
    inlines = [
        FiveWhyInline,
        ContributingFactorInline,
        FollowUpInline,
        AdditionalSectionInline,
        ReviewRequestInline,
    ]
    list_select_related = ["incident"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: Postmortem | None = None
    ) -> list[str] | tuple[str, ...]:
        # The incident a postmortem belongs to is chosen once, when it is created.
        return [*self.readonly_fields, "incident"] if obj else self.readonly_fields


class RecordedIncidentServiceInline(NoVersionInline, IncidentServiceInline):
    pass


admin.site.unregister(Incident)


@admin.register(Incident)
class RecordedIncidentAdmin(RecordedDocumentAdmin[Incident], IncidentAdmin):
    inlines = [RecordedIncidentServiceInline, TimelineEventInline]


admin.site.unregister(TimelineEvent)


@admin.register(TimelineEvent)
class RecordedTimelineEventAdmin(RecordedRowAdmin, TimelineEventAdmin):
    exclude = ["version"]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin[Comment]):
    list_display = ["postmortem", "section", "author", "created_at", "resolved_at"]
    list_filter = ["section"]
    search_fields = ["body"]
    raw_id_fields = ["postmortem", "parent"]
    list_select_related = ["postmortem__incident", "author"]


class ReadOnlyAdmin(admin.ModelAdmin[_M]):
    """The record itself: looked at, never written here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: _M | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: _M | None = None) -> bool:
        return False


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin[Attachment]):
    """Uploaded files: looked at, and deleted here (a screenshot that showed a secret); added
    only through the page, where their type and size are checked."""

    list_display = ["name", "postmortem", "content_type", "size", "uploaded_by", "created"]
    list_filter = ["content_type"]
    search_fields = ["name"]
    list_select_related = ["postmortem__incident", "uploaded_by"]

    def has_delete_permission(self, request: HttpRequest, obj: Attachment | None = None) -> bool:
        return request.user.is_superuser


@admin.register(Revision)
class RevisionAdmin(ReadOnlyAdmin[Revision]):
    list_display = ["incident", "section", "version", "author", "created_at", "note"]
    list_filter = ["section"]
    search_fields = ["new_text"]
    list_select_related = ["incident", "author"]


@admin.register(ReviewEvent)
class ReviewEventAdmin(ReadOnlyAdmin[ReviewEvent]):
    list_display = ["postmortem", "kind", "actor", "from_status", "to_status", "decision", "at"]
    list_filter = ["kind", "to_status", "decision"]
    list_select_related = ["postmortem__incident", "actor"]
