"""The rules of the document: versioned saves, revisions, presence, comments.

A section's version lives in the section_versions map of the row that holds the section: the
incident for its details, times, timeline and services, the postmortem for everything else.

- A field section is saved with ONE UPDATE of that row, conditional on the version the editor
  started from, and one revision INSERT. The values before the save are the ones the request
  loaded: if the conditional UPDATE matched, nobody changed them since (every write bumps the
  version). When it does not match, the save is retried against the current text: edits of
  different lines are merged (three-way, base = the revision the editor started from) and
  recorded as "merged with <name>"; overlapping edits raise StaleEdit (409, both texts).
- A row change bumps its section's version first (the UPDATE also locks the owner row, so
  changes to one list never interleave), changes the row checking the row's own version, and
  records only that row before and after: a revision of a list is a delta, never the list.
  Restoring walks the deltas back from the rows as they are now.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, models, transaction
from django.db.models import IntegerField, Max, Prefetch, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone

from incidents.models import Incident, IncidentQuerySet
from incidents.services import get_incident_for

from . import limits
from .editing import FIELD_SECTIONS, ROW_SECTIONS, FieldSection, RowSection, Section, as_json
from .importing.parser import PastedLine, guess_kind, parse_paste
from .merge import MergeConflict, merge_text
from .models import (
    Comment,
    Mention,
    Postmortem,
    Presence,
    ReviewEvent,
    ReviewRequest,
    Revision,
)
from .signals import comment_posted, section_saved, send_on_commit
from .templatetags.studio import display_name
from .versions import remember_version, set_version, version_of

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import Field

    from .importing.parser import EventRow

_T = TypeVar("_T")


def incidents_with_documents() -> QuerySet[Incident]:
    """Everything the export reads, in a fixed number of queries."""
    return Incident.objects.select_related("team", "commander", "postmortem").prefetch_related(
        "timeline_events",
        "service_impacts__service",
        "postmortem__authors",
        "postmortem__five_whys",
        "postmortem__contributing_factors",
        "postmortem__action_items__owner",
        "postmortem__follow_ups",
        "postmortem__additional_sections",
        "tags",
        "links_out__related",
        "links_in__incident",
        Prefetch(
            "postmortem__review_requests",
            queryset=ReviewRequest.objects.select_related("reviewer"),
        ),
        Prefetch(
            "postmortem__review_events",
            queryset=ReviewEvent.objects.select_related("actor", "reviewer"),
        ),
    )


# The incident query's annotations are written as SQL: compiling a dozen ORM subqueries cost
# more Python per request than the page's other work together. Each is a subquery on the
# incident row or on its postmortem (the LEFT JOIN select_related makes, named after its table).
INCIDENT_ID = '"incidents_incident"."id"'
POSTMORTEM_ID = '"postmortems_postmortem"."id"'


def _owner_id(owner: str) -> str:
    return INCIDENT_ID if owner == "incident" else POSTMORTEM_ID


def _column(model: type[models.Model], name: str) -> str:
    field: Field[Any, Any] = model._meta.get_field(name)  # type: ignore[assignment]
    return f'"{model._meta.db_table}"."{field.column}"'


def row_count(section: RowSection, condition: str = "") -> RawSQL:
    """How many rows a list section has (that match the SQL `condition`)."""
    table = section.model._meta.db_table
    owner = _owner_id(section.parent)
    ends = [f"{_column(section.model, name)} = {owner}" for name in section.owner_columns]
    where = f"({' OR '.join(ends)})"
    sql = f'(SELECT COUNT(*) FROM "{table}" WHERE {where}{condition})'
    return RawSQL(sql, (), output_field=IntegerField())


def link_count(section: FieldSection, field: Any) -> RawSQL:
    """How many related objects a many-to-many field holds (related incidents)."""
    through = field.remote_field.through
    table, column = through._meta.db_table, through._meta.get_field(field.m2m_field_name()).column
    sql = (
        f'(SELECT COUNT(*) FROM "{table}" WHERE "{table}"."{column}" = {_owner_id(section.owner)})'
    )
    return RawSQL(sql, (), output_field=IntegerField())


def open_comment_sections() -> RawSQL:
    """The section of every open comment (threads, and replies in open threads), joined by
    commas; the page counts them per section in Python."""
    joined = "group_concat" if connection.vendor == "sqlite" else "string_agg"
    sql = (
        f'(SELECT {joined}(c."section", \',\') FROM "postmortems_comment" c'
        ' LEFT JOIN "postmortems_comment" t ON c."parent_id" = t."id"'
        f' WHERE c."postmortem_id" = {POSTMORTEM_ID} AND ('
        '(c."parent_id" IS NULL AND c."resolved_at" IS NULL)'
        ' OR (c."parent_id" IS NOT NULL AND t."resolved_at" IS NULL)))'
    )
    return RawSQL(sql, (), output_field=TextField())


def document_queryset(user: User, keys: Iterable[str] | None = None) -> IncidentQuerySet:
    """The incident, its team, commander and postmortem (with every section's version) in one
    query, with whether this person may edit, and for the sections in `keys` (all when None)
    how many rows each list has and the timeline's milestones. Nothing is prefetched: each
    section loads what it shows when it is rendered, so a fragment never loads the document."""
    shown = set(keys) if keys is not None else None
    queryset = Incident.objects.select_related(
        "team", "commander", "postmortem", "archived_by", "postmortem__archived_by"
    ).with_viewer(user)
    if shown is None or shown & {"incident_times", "impact", "timeline"}:
        queryset = queryset.with_first_events()
    counts: dict[str, RawSQL] = {
        f"rows_{key}": row_count(section)
        for key, section in ROW_SECTIONS.items()
        if shown is None or key in shown
    }
    items = ROW_SECTIONS.get("action_items")  # registered by the app above, if installed
    if items is not None and (shown is None or "action_items" in shown):
        # The pre-review checklist's "every action item has an owner and a due date".
        owner, due = _column(items.model, "owner"), _column(items.model, "due_date")
        name = _column(items.model, "owner_name")  # an owner without an account counts
        counts["incomplete_action_items"] = row_count(
            items, f" AND (({owner} IS NULL AND {name} = '') OR {due} IS NULL)"
        )
    if shown is None:  # the page: open comments of every section, counted in Python
        counts["open_comment_sections"] = open_comment_sections()
    for key, section in FIELD_SECTIONS.items():
        if shown is None or key in shown:
            for field in section.model_fields:
                if field.many_to_many:
                    counts[f"count_{field.name}"] = link_count(section, field)
    return queryset.annotate(**counts)


def get_document_for(
    user: User, reference: str, edit: bool = False, keys: Iterable[str] | None = None
) -> Incident:
    """The incident with its postmortem and every section's version if the user may see it
    (404 otherwise), or with edit=True change it (403 otherwise). Sections load their own
    content when rendered; `keys` says which sections will be, to count their rows at once."""
    return get_incident_for(user, reference, document_queryset(user, keys), edit=edit)


def get_presence_document_for(user: User, reference: str) -> Incident:
    """Only what the presence poll reads of a document (it runs every few seconds in every
    open tab): access, the reader's rights, every section's version, the template."""
    queryset = (
        Incident.objects.select_related("postmortem")
        .only(
            "year",
            "number",
            "team_id",
            "section_versions",
            "postmortem__template",
            "postmortem__section_versions",
            "postmortem__incident",
        )
        .with_viewer(user)
    )
    return get_incident_for(user, reference, queryset)


def get_full_document_for(user: User, reference: str) -> Incident:
    """The incident with the whole document prefetched (the export reads all of it)."""
    queryset: IncidentQuerySet = incidents_with_documents()  # type: ignore[assignment]
    return get_incident_for(user, reference, queryset)


def get_postmortem_for(user: User, reference: str, full: bool = False) -> Postmortem:
    """The postmortem of a visible incident; 404 if none."""
    if full:
        incident = get_full_document_for(user, reference)
    else:
        incident = get_document_for(user, reference, keys=())
    try:
        return incident.postmortem
    except Postmortem.DoesNotExist:
        raise Http404("This incident has no postmortem yet.") from None


def start_postmortem(incident: Incident, template: str, by: User) -> Postmortem:
    """Open the postmortem of an incident, with whoever starts it as its first author."""
    postmortem, _created = Postmortem.objects.get_or_create(
        incident=incident, defaults={"template": template}
    )
    postmortem.authors.add(by)
    return postmortem


class StaleEdit(Exception):
    """Someone saved the section (or row) after the editor loaded it."""

    def __init__(
        self,
        current_text: str,
        current_version: int,
        revision: Revision | None = None,
        gone: bool = False,
    ) -> None:
        self.current_text = current_text
        self.current_version = current_version
        self.revision = revision  # who changed it, and when
        self.gone = gone  # the row was deleted meanwhile
        super().__init__(f"stale edit; current version is {current_version}")


def _lock(incident: Incident) -> Incident:
    """The incident row, locked (serializes writes to the incident's own sections)."""
    return Incident.objects.select_for_update().get(pk=incident.pk)


def _latest_revision(incident: Incident, key: str) -> Revision | None:
    return (
        Revision.objects.filter(incident=incident, section=key)
        .select_related("author")
        .order_by("-version")
        .first()
    )


def _section(key: str) -> Section:
    return FIELD_SECTIONS.get(key) or ROW_SECTIONS[key]


def _bump(incident: Incident, key: str) -> int:
    """The section's next version, written to its owner row. The UPDATE takes the row's lock,
    so that two changes of one list are recorded one after the other; commit or roll back with
    the change it numbers."""
    owner = _section(key).owner_object(incident)
    known = version_of(owner, key)
    if set_version(owner, key, known + 1, expected=known):
        return known + 1
    # Someone changed this section since the owner was loaded: read it under the lock.
    fresh = (
        type(owner)._default_manager.select_for_update().only("section_versions").get(pk=owner.pk)
    )
    version = version_of(fresh, key) + 1
    set_version(owner, key, version)
    return version


def _insert_revision(
    incident: Incident,
    key: str,
    version: int,
    old_text: str,
    new_text: str,
    data: dict[str, Any],
    by: User | None,
    **extra: Any,
) -> Revision:
    return Revision.objects.create(
        incident=incident,
        section=key,
        version=version,
        author=by,
        old_text=old_text,
        new_text=new_text,
        data=data,
        **extra,
    )


def _record(
    incident: Incident,
    key: str,
    old_text: str,
    new_text: str,
    data: dict[str, Any],
    by: User | None,
    restored_from: int | None = None,
    *,
    note: str = "",
) -> Revision:
    """Record a change made some other way (an import, a script) as the section's next
    revision, bumping its version. Call inside the change's transaction."""
    version = _bump(incident, key)
    revision = _insert_revision(
        incident, key, version, old_text, new_text, data, by,
        restored_from=restored_from, note=note,
    )  # fmt: skip
    remember_version(_section(key).owner_object(incident), key, version)
    return revision


def _resynced(
    incident: Incident, key: str, error: IntegrityError, section_text: str = ""
) -> IntegrityError | StaleEdit:
    """After an IntegrityError: if the version map is behind the revisions (a revision was
    written without bumping it), take the revisions' word and answer StaleEdit (a 409, and the
    next save goes through); any other integrity error is raised as it is."""
    owner = _section(key).owner_object(incident)
    latest = Revision.objects.filter(incident=incident, section=key).aggregate(v=Max("version"))
    recorded = latest["v"] or 0
    stored = version_of(type(owner)._default_manager.only("section_versions").get(pk=owner.pk), key)
    if recorded <= stored:
        return error
    set_version(owner, key, recorded)
    remember_version(owner, key, recorded)
    return StaleEdit(section_text, recorded, _latest_revision(incident, key))


# Field sections.


def _field_update(section: FieldSection, values: Mapping[str, Any]) -> dict[str, Any]:
    fields = {f.name: values[f.name] for f in section.model_fields if not f.many_to_many}
    fields["updated_at"] = timezone.now()
    return fields


def _apply_in_memory(
    section: FieldSection, owner: Incident | Postmortem, values: Mapping[str, Any], version: int
) -> None:
    for field in section.model_fields:
        if not field.many_to_many:
            setattr(owner, field.name, values[field.name])
    getattr(owner, "_prefetched_objects_cache", {}).clear()
    remember_version(owner, section.key, version)


def _write_fields(
    incident: Incident,
    section: FieldSection,
    owner: Incident | Postmortem,
    old_values: Mapping[str, Any],
    values: Mapping[str, Any],
    by: User | None,
    version: int,
    m2m: bool = True,
    **extra: Any,
) -> Revision:
    """Inside a transaction, after the owner row was updated: many-to-many fields and the
    revision. The first revision also keeps the values before it, the base of a merge with
    someone who started from version 0."""
    for field in section.model_fields:
        if field.many_to_many and m2m:
            getattr(owner, field.name).set(values[field.name])
    data = section.snapshot(values)
    if version == 1:
        data = {**data, "_before": section.snapshot(old_values)}
    revision = _insert_revision(
        incident,
        section.key,
        version,
        section.describe(old_values),
        section.describe(values),
        data,
        by,
        **extra,
    )
    section_saved.send(
        sender=section.model,
        incident=incident,
        key=section.key,
        owner=owner,
        before=old_values,
        after=values,
        revision=revision,
    )
    return revision


def _same(section: FieldSection, a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return bool(as_json(section.snapshot(a)) == as_json(section.snapshot(b)))


def save_section(
    incident: Incident,
    key: str,
    values: Mapping[str, Any],
    by: User,
    base_version: int,
    restored_from: int | None = None,
    *,
    note: str = "",
) -> Revision | None:
    """Save a field section if nobody saved it since `base_version`; record the revision.

    Returns the new Revision, or None when the values are what the section already holds
    (which is never a conflict, even against an old version). Someone else's save since
    `base_version` is merged when it changed other lines (the revision's note says with whom);
    StaleEdit when it changed the same ones.
    """
    section = FIELD_SECTIONS[key]
    owner = section.target(incident)
    extra: dict[str, Any] = {"restored_from": restored_from, "note": note}
    if version_of(owner, key) == base_version:
        current = section.values(owner)
        if _same(section, current, values):
            return None
        version = base_version + 1
        try:
            with transaction.atomic():
                updated = set_version(
                    owner, key, version, expected=base_version, **_field_update(section, values)
                )
                if updated:
                    revision = _write_fields(
                        incident, section, owner, current, values, by, version, **extra
                    )
        except IntegrityError as error:
            raise _resynced(incident, key, error, section.describe(current)) from None
        if updated:
            _apply_in_memory(section, owner, values, version)
            return revision
    return _save_over_newer(incident, section, values, by, base_version, **extra)


def _save_over_newer(
    incident: Incident,
    section: FieldSection,
    values: Mapping[str, Any],
    by: User,
    base_version: int,
    **extra: Any,
) -> Revision | None:
    """The section changed since the editor (or this request) loaded it: under the owner
    row's lock, save over the current values, merging when the editor started earlier."""
    key = section.key
    owner = section.target(incident)
    with transaction.atomic():
        fresh = type(owner)._default_manager.select_for_update().get(pk=owner.pk)
        current_version = version_of(fresh, key)
        current = section.values(fresh)
        if _same(section, current, values):
            return None
        merged: Mapping[str, Any] = values
        merged_with: list[str] = []
        if base_version > current_version:  # not a version this section ever had
            raise StaleEdit(
                section.describe(current), current_version, _latest_revision(incident, key)
            )
        if current_version != base_version:
            mergeable = _merged(incident, section, base_version, current, values)
            if mergeable is None:
                raise StaleEdit(
                    section.describe(current), current_version, _latest_revision(incident, key)
                )
            merged = mergeable
            if _same(section, current, merged):
                return None
            merged_with = _authors_since(incident, key, base_version, by)
            extra["note"] = extra.get("note") or "merged with " + (
                ", ".join(merged_with) or "an earlier save"
            )
        version = current_version + 1
        set_version(owner, key, version, **_field_update(section, merged))
        revision = _write_fields(incident, section, fresh, current, merged, by, version, **extra)
    _apply_in_memory(section, owner, merged, version)
    return revision


def _base_snapshot(
    incident: Incident, section: FieldSection, version: int
) -> dict[str, Any] | None:
    """The section's values at `version`, as its revision stored them (None if unknown)."""
    if version == 0:
        first = Revision.objects.filter(incident=incident, section=section.key, version=1).first()
        if first is None:
            return None
        if "_before" in first.data:
            before: dict[str, Any] = first.data["_before"]
            return before
        if len(section.fields) == 1:  # before revisions kept "_before": the text itself
            return {section.fields[0]: first.old_text}
        return None
    data: dict[str, Any] | None = (
        Revision.objects.filter(incident=incident, section=section.key, version=version)
        .values_list("data", flat=True)
        .first()
    )
    return data


def _merged(
    incident: Incident,
    section: FieldSection,
    base_version: int,
    theirs: Mapping[str, Any],
    yours: Mapping[str, Any],
) -> dict[str, Any] | None:
    """Yours and theirs merged field by field against the base version, or None if both
    changed the same field (the same lines of a text)."""
    base = _base_snapshot(incident, section, base_version)
    if base is None:
        return None
    their_data, your_data = as_json(section.snapshot(theirs)), as_json(section.snapshot(yours))
    merged: dict[str, Any] = {}
    for field in section.model_fields:
        name = field.name
        b, t, y = base.get(name), their_data.get(name), your_data.get(name)
        if y in (b, t):
            merged[name] = theirs[name]
        elif t == b:
            merged[name] = yours[name]
        elif isinstance(field, models.CharField | models.TextField) and not field.choices:
            try:
                merged[name] = merge_text(b or "", t or "", y or "")
            except MergeConflict:
                return None
        else:
            return None
    return merged


def _authors_since(incident: Incident, key: str, version: int, by: User) -> list[str]:
    """Who saved the section after `version` (the people a merge merged with)."""
    authors = (
        Revision.objects.filter(incident=incident, section=key, version__gt=version)
        .exclude(author=by)
        .select_related("author")
        .order_by("version")
    )
    names: list[str] = []
    for revision in authors:
        name = display_name(revision.author) or "someone"
        if name not in names:
            names.append(name)
    return names


def record_field_edit(
    incident: Incident,
    key: str,
    old_values: Mapping[str, Any],
    new_values: Mapping[str, Any],
    by: User | None,
    *,
    note: str = "admin",
) -> Revision | None:
    """Record a field section changed some other way (the admin) as its next revision: the
    version moves on, so open editors get a 409 and open pages the new text. Call inside the
    change's transaction, after it. None when nothing in the section changed."""
    section = FIELD_SECTIONS[key]
    if _same(section, old_values, new_values):
        return None
    version = _bump(incident, key)
    owner = section.owner_object(incident)
    revision = _write_fields(
        incident, section, owner, old_values, new_values, by, version, note=note, m2m=False
    )
    remember_version(owner, key, version)
    return revision


def sync_section_versions(incident: Incident) -> dict[str, int]:
    """Set every section's version of a document from its revisions: for code that writes
    revisions itself (an import recording each section's first version), so that the next
    save starts from the right version instead of getting one spurious 409."""
    latest = dict(Revision.objects.current_versions(incident))
    owners: dict[str, dict[str, int]] = {"incident": {}, "postmortem": {}}
    for key, version in latest.items():
        section = FIELD_SECTIONS.get(key) or ROW_SECTIONS.get(key)
        if section is not None:
            owners[section.owner][key] = version
    Incident.objects.filter(pk=incident.pk).update(section_versions=owners["incident"])
    Postmortem.objects.filter(incident=incident).update(section_versions=owners["postmortem"])
    incident.section_versions = owners["incident"]
    return latest


def record_row_edits(
    incident: Incident,
    key: str,
    rows: list[tuple[int, Any, Any]],
    by: User | None,
    *,
    note: str = "admin",
) -> None:
    """Record rows changed some other way (the admin): `rows` is [(pk, row before or None, row
    after or None)]. Call inside the change's transaction, after it."""

    def report(changes: RowChanges) -> None:
        for pk, before, after in rows:
            changes.add(pk, before, after)

    _row_write(incident, key, by, report, note=note)


def restore_revision(
    incident: Incident, key: str, version: int, by: User, base_version: int
) -> Revision | None:
    """Bring back a section as it was after `version`; the restore is itself a new revision
    (returned; None when the section already reads as it did then)."""
    revision = Revision.objects.get(incident=incident, section=key, version=version)
    if key in ROW_SECTIONS:
        return _restore_rows(incident, key, revision, by, base_version)
    values = FIELD_SECTIONS[key].values_from_snapshot(revision.data)
    return save_section(incident, key, values, by, base_version, restored_from=version)


# Rows. A revision of a list records the rows that changed: {"changes": [{"row": pk,
# "before": snapshot or null, "after": snapshot or null}, ...]}. Revisions written before that
# kept the whole list ({"rows": [...]}) and can still be restored.


class RowChanges:
    """The rows one change touched, as they were before and after it."""

    def __init__(self, section: RowSection) -> None:
        self.section = section
        self.rows: list[tuple[int, Any, Any]] = []  # (pk, row before or None, row after or None)
        self.revision: Revision | None = None  # once recorded

    def add(self, pk: int, before: Any, after: Any) -> None:
        self.rows.append((pk, before, after))

    def data(self) -> dict[str, Any]:
        snapshot = self.section.snapshot_row
        return {
            "changes": [
                {
                    "row": pk,
                    "before": snapshot(before) if before is not None else None,
                    "after": snapshot(after) if after is not None else None,
                }
                for pk, before, after in self.rows
            ]
        }

    def texts(self) -> tuple[str, str]:
        describe = self.section.describe_row
        old = "\n".join(describe(before) for _pk, before, _after in self.rows if before)
        new = "\n".join(describe(after) for _pk, _before, after in self.rows if after)
        return old, new

    def record(
        self, incident: Incident, key: str, version: int, by: User | None, **extra: Any
    ) -> Revision:
        old_text, new_text = self.texts()
        data = self.data()
        self.revision = _insert_revision(
            incident, key, version, old_text, new_text, data, by, **extra
        )
        return self.revision


def _row_write(
    incident: Incident,
    key: str,
    by: User | None,
    change: Callable[[RowChanges], _T],
    **extra: Any,
) -> _T:
    """Run `change(changes)` after bumping the section's version, in one transaction, and record
    the rows it reported; nothing reported, nothing recorded (and the version stays)."""
    section = ROW_SECTIONS[key]
    changes = RowChanges(section)
    try:
        with transaction.atomic():
            version = _bump(incident, key)
            result = change(changes)
            if changes.rows:
                changes.record(incident, key, version, by, **extra)
            else:
                transaction.set_rollback(True)
    except IntegrityError as error:
        raise _resynced(incident, key, error) from None
    if changes.rows:
        remember_version(section.owner_object(incident), key, version)
    return result


def _locked_row(section: RowSection, incident: Incident, pk: int, base_version: int | None) -> Any:
    # With what describing the row reads (an action item's owner), only the row locked.
    rows = section.display_rows(incident).select_for_update(of=("self",))
    row = section.row_of(incident, pk, rows)  # 404 for a row of another document
    if row is None:
        raise StaleEdit("", 0, gone=True)
    if base_version is not None and row.version != base_version:
        raise StaleEdit(section.describe_row(row), row.version)
    return row


def _next_position(section: RowSection, incident: Incident) -> int:
    top: int | None = section.rows(incident).aggregate(top=Max("position"))["top"]
    return 0 if top is None else top + 1


def add_row(incident: Incident, key: str, values: Mapping[str, Any], by: User | None) -> Any:
    section = ROW_SECTIONS[key]

    def create(changes: RowChanges) -> Any:
        row: Any = section.model(**{section.parent: section.parent_object(incident)}, **values)
        if hasattr(row, "position"):
            row.position = _next_position(section, incident)
        if hasattr(row, "created_by_id"):
            row.created_by = by
        row.save()
        changes.add(row.pk, None, row)
        return row

    return _row_write(incident, key, by, create)


def save_row(
    incident: Incident,
    key: str,
    pk: int,
    values: Mapping[str, Any],
    by: User | None,
    base_version: int | None,
    *,
    note: str = "",
) -> Any:
    """Save a row if nobody changed it since `base_version`; base_version=None is a one-click
    change (an action item's status) that applies whatever the row's version. `note` says how
    the change arrived when not through the editor ("from email")."""
    section = ROW_SECTIONS[key]

    def update(changes: RowChanges) -> Any:
        row = _locked_row(section, incident, pk, base_version)
        before = copy.copy(row)
        for name, value in values.items():
            setattr(row, name, value)
        if section.snapshot_row(row) == section.snapshot_row(before):
            return row  # nothing changed: no new version, no revision
        row.version += 1
        row.save()
        changes.add(pk, before, row)
        return row

    return _row_write(incident, key, by, update, note=note)


def delete_row(
    incident: Incident, key: str, pk: int, by: User | None, base_version: int | None
) -> None:
    section = ROW_SECTIONS[key]

    def delete(changes: RowChanges) -> None:
        row = _locked_row(section, incident, pk, base_version)
        before = copy.copy(row)
        row.delete()
        changes.add(pk, before, None)

    _row_write(incident, key, by, delete)


def move_row(incident: Incident, key: str, pk: int, by: User | None, offset: int) -> Any:
    """Swap a row with its neighbour above (offset -1) or below (+1)."""
    section = ROW_SECTIONS[key]

    def move(changes: RowChanges) -> Any:
        row = _locked_row(section, incident, pk, None)
        values = section.order_values(row)
        beyond = section.before(values) if offset < 0 else section.after(values)
        order = [f"-{name}" if offset < 0 else name for name in section.ordering]
        neighbour = (
            section.rows(incident).filter(beyond).order_by(*order)
            .select_for_update(of=("self",)).first()
        )  # fmt: skip
        if neighbour is None:
            return row
        if neighbour.position == row.position:  # rows from before positions were kept unique
            moved = _renumber(section, incident, row, neighbour)
        else:
            moved = [(row, neighbour.position), (neighbour, row.position)]
        for target, position in moved:
            before = copy.copy(target)
            target.position = position
            target.version += 1
            target.save(update_fields=["position", "version"])
            changes.add(target.pk, before, target)
        return row

    return _row_write(incident, key, by, move)


def _renumber(
    section: RowSection, incident: Incident, row: Any, neighbour: Any
) -> list[tuple[Any, int]]:
    rows = list(section.rows(incident).select_for_update(of=("self",)))
    index = {r.pk: n for n, r in enumerate(rows)}
    a, b = index[row.pk], index[neighbour.pk]
    rows[a], rows[b] = rows[b], rows[a]
    return [(r, position) for position, r in enumerate(rows) if r.position != position]


def _restore_rows(
    incident: Incident, key: str, revision: Revision, by: User, base_version: int
) -> Revision | None:
    section = ROW_SECTIONS[key]
    if not section.restorable:
        raise ValueError(f"{key} rows cannot be restored")
    owner = section.owner_object(incident)

    def restore(changes: RowChanges) -> RowChanges:
        current = {row.pk: row for row in section.rows(incident)}
        if "changes" not in revision.data:  # kept the whole list: put it back as it was
            _restore_whole_list(section, incident, current, revision.data, changes)
            return changes
        target = {pk: section.snapshot_row(row) for pk, row in current.items()}
        later = Revision.objects.filter(
            incident=incident, section=key, version__gt=revision.version
        ).order_by("-version")
        for newer in later:
            for change in reversed(newer.data.get("changes", [])):
                if change["before"] is None:
                    target.pop(change["row"], None)
                else:
                    target[change["row"]] = change["before"]
        _apply_rows(section, incident, current, target, changes)
        return changes

    with transaction.atomic():
        locked = (
            type(owner)
            ._default_manager.select_for_update()
            .only("section_versions")
            .get(pk=owner.pk)
        )
        current_version = version_of(locked, key)
        if base_version != current_version:
            latest = _latest_revision(incident, key)
            raise StaleEdit(latest.new_text if latest else "", current_version, latest)
        changes = _row_write(incident, key, by, restore, restored_from=revision.version)
    return changes.revision


def _without_version(data: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in data.items() if name != "version"}


def _apply_rows(
    section: RowSection,
    incident: Incident,
    current: dict[int, Any],
    target: dict[int, dict[str, Any]],
    changes: RowChanges,
) -> None:
    """Make the list `target` ({pk: snapshot}): delete, update, then re-create (with the pk it
    had, so that later deltas still name it, and a version it never had, so that no cached
    markup of an older version is shown for it)."""
    for pk, row in current.items():
        if pk not in target:
            before = copy.copy(row)
            row.delete()
            changes.add(pk, before, None)
    for pk, row in current.items():
        if pk in target:
            wanted = target[pk]
            if _without_version(section.snapshot_row(row)) != _without_version(wanted):
                before = copy.copy(row)
                section.apply_snapshot(row, _without_version(wanted))
                row.version = max(before.version, wanted.get("version", 0)) + 1
                row.save()
                changes.add(pk, before, row)
    for pk, wanted in target.items():
        if pk not in current:
            row = section.row_from_snapshot(incident, pk, _without_version(wanted))
            row.version = wanted.get("version", 0) + 1
            row.save(force_insert=True)
            changes.add(pk, None, row)


def _restore_whole_list(
    section: RowSection,
    incident: Incident,
    current: dict[int, Any],
    data: Mapping[str, Any],
    changes: RowChanges,
) -> None:
    for pk, row in current.items():
        changes.add(pk, copy.copy(row), None)
        row.delete()
    parent = {section.parent: section.parent_object(incident)}
    for position, values in enumerate(section.rows_from_snapshot(data)):
        row = section.model(**parent, **values)
        if hasattr(row, "position"):
            row.position = position
        row.save()
        changes.add(row.pk, None, row)


def read_paste(incident: Incident, text: str, zone: str = "UTC") -> list[PastedLine]:
    """Each line of pasted notes, accepted as an event or refused with the reason; events
    already in the timeline (same minute, same text) are refused as duplicates."""
    day = incident.started_at.astimezone(UTC).date()
    lines = parse_paste(text, day, zone)
    existing = set(incident.timeline_events.values_list("occurred_at", "description").order_by())
    for line in lines:
        event = line.event
        if event is not None and (event.occurred_at.replace(second=0), event.description) in {
            (at.replace(second=0), description) for at, description in existing
        }:
            line.event, line.reason = None, "already in the timeline"
        elif event is not None and (
            problems := limits.too_long(
                "incidents.TimelineEvent", {"description": event.description, "notes": event.notes}
            )
        ):
            line.event, line.reason = None, str(limits.TextTooLong(problems))
    return lines


def paste_timeline(incident: Incident, events: Iterable[EventRow], by: User | None) -> list[Any]:
    """Add the accepted events of a paste at once, after the events already there."""
    return add_rows(
        incident,
        "timeline",
        [
            {
                "occurred_at": event.occurred_at,
                "description": event.description,
                "actor": event.actor[:100],
                "action_taken": event.action_taken[:300],
                "notes": event.notes,
                "kind": event.kind or guess_kind(event.description),
                "is_key_decision": event.is_key_decision,
            }
            for event in events
        ],
        by,
    )


# Presence: who has the document open, and what they are editing.


def presence_cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(seconds=settings.PRESENCE_TTL_SECONDS)


def heartbeat(
    incident: Incident, user: User, editing: str = "", now: datetime | None = None
) -> None:
    """Note that `user` has the document open; forget everyone who stopped polling."""
    now = now or timezone.now()
    _upsert_presence(incident, user, editing, now)
    Presence.objects.filter(incident=incident, last_seen__lt=presence_cutoff(now)).delete()


def _upsert_presence(incident: Incident, user: User, editing: str, now: datetime) -> None:
    Presence.objects.bulk_create(
        [Presence(incident=incident, user=user, editing=editing[:40], last_seen=now)],
        update_conflicts=True,
        unique_fields=["incident", "user"],
        update_fields=["editing", "last_seen"],
    )


def others_present(
    incident: Incident, user: User, now: datetime | None = None
) -> QuerySet[Presence]:
    return (
        Presence.objects.filter(incident=incident, last_seen__gte=presence_cutoff(now))
        .exclude(user=user)
        .select_related("user")
        .order_by("user__first_name", "user__username")
    )


@dataclass(frozen=True)
class Here:
    """Someone else with the document open: who (as shown), and the section they edit."""

    user_id: int
    name: str
    editing: str


def touch_presence(
    incident: Incident, user: User, editing: str = "", now: datetime | None = None
) -> list[Here]:
    """The poll's heartbeat: who else is here (as [Here], by name), in one read of plain
    values. The write is skipped while this person's record is fresh and says the same
    thing (a third of the time to live), and expired records are deleted only when some are."""
    now = now or timezone.now()
    cutoff = presence_cutoff(now)
    editing = editing[:40]
    records = list(
        Presence.objects.filter(incident=incident).values_list(
            "user_id",
            "editing",
            "last_seen",
            "user__first_name",
            "user__last_name",
            "user__username",
        )
    )
    mine = next((r for r in records if r[0] == user.pk), None)
    refresh_after = timedelta(seconds=settings.PRESENCE_TTL_SECONDS / 3)
    if mine is None or mine[1] != editing or mine[2] < now - refresh_after:
        _upsert_presence(incident, user, editing, now)
    if any(r[2] < cutoff and r[0] != user.pk for r in records):
        Presence.objects.filter(incident=incident, last_seen__lt=cutoff).delete()
    others = sorted(
        (r for r in records if r[0] != user.pk and r[2] >= cutoff), key=lambda r: (r[3], r[5])
    )
    return [Here(r[0], f"{r[3]} {r[4]}".strip() or r[5], r[1]) for r in others]


def leave(incident: Incident, user: User) -> None:
    Presence.objects.filter(incident=incident, user=user).delete()


# Comments and @mentions.

MENTION = re.compile(r"(?<![\w@.])@(?P<username>[\w.+-]*\w)")


def mentioned_users(incident: Incident, text: str, author: User) -> QuerySet[User]:
    """People named with @username who can see the document (never the author)."""
    usernames = {match["username"] for match in MENTION.finditer(text)}
    if not usernames:
        return get_user_model().objects.none()
    return (
        get_user_model()
        .objects.filter(username__in=usernames, is_active=True)
        .filter(Q(memberships__team=incident.team_id) | Q(is_superuser=True))
        .exclude(pk=author.pk)
        .distinct()
    )


def add_comment(
    postmortem: Postmortem, section: str, author: User, body: str, parent: Comment | None = None
) -> Comment:
    """Comment on a section; a reply to a reply joins the thread (one level of replies)."""
    if parent is not None and parent.parent_id:
        parent = parent.parent
    with transaction.atomic():
        comment = Comment.objects.create(
            postmortem=postmortem,
            section=parent.section if parent else section,
            author=author,
            parent=parent,
            body=body,
        )
        mentions = Mention.objects.bulk_create(
            [
                Mention(comment=comment, user=user)
                for user in mentioned_users(postmortem.incident, body, author)
            ]
        )
        # The follow-up engine emails the mentions once the comment is saved.
        send_on_commit(comment_posted, Comment, comment=comment, mentions=mentions)
    return comment


def set_thread_resolved(comment: Comment, by: User, resolved: bool) -> Comment:
    """Resolve (or reopen) the comment's thread; PermissionDenied (403) for anyone but those
    Comment.may_be_resolved_by names, and the thread stays as it was."""
    thread = comment.parent or comment
    if not thread.may_be_resolved_by(by):
        raise PermissionDenied(
            "Only the thread's author, the document's authors and its team's managers "
            "can resolve or reopen this thread."
        )
    thread.resolved_at = timezone.now() if resolved else None
    thread.resolved_by = by if resolved else None
    thread.save(update_fields=["resolved_at", "resolved_by"])
    return thread


def add_rows(
    incident: Incident, key: str, rows: Iterable[Mapping[str, Any]], by: User | None
) -> list[Any]:
    """Add several rows to a list section at once, as one revision: a paste, a bot streaming a
    chat channel into the timeline, an import. Each row is saved (its signals fire) in order."""
    section = ROW_SECTIONS[key]

    def create(changes: RowChanges) -> list[Any]:
        start = _next_position(section, incident)
        parent = {section.parent: section.parent_object(incident)}
        made: list[Any] = []
        for offset, values in enumerate(rows):
            row: Any = section.model(**parent, **values)
            if hasattr(row, "position"):
                row.position = start + offset
            if hasattr(row, "created_by_id"):
                row.created_by = by
            row.save()
            changes.add(row.pk, None, row)
            made.append(row)
        return made

    return _row_write(incident, key, by, create)
