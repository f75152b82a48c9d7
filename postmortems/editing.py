"""Every editable piece of an incident's document, declared once.

The document is the incident and its postmortem. A FieldSection edits some fields of one of
them together (the root cause, the impact numbers, the incident's times); a RowSection is a
list of rows edited one at a time (timeline events, five whys, action items...). The views,
the conflict check and the revision history work on these declarations only, so adding a
section never means writing another view.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from django import forms
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.forms import modelform_factory
from django.http import Http404
from django.utils import timezone
from django.utils.text import capfirst

from incidents.forms import SuggestingInput, UTCDateTimeField, person_label
from incidents.models import (
    TIME_FIELDS,
    Incident,
    IncidentLink,
    IncidentService,
    IncidentTag,
    TimelineEvent,
)

from .forms import limit_model_text
from .layouts import SECTIONS
from .models import AdditionalSection, ContributingFactor, FiveWhy, FollowUp, Postmortem
from .templatetags.studio import display_name

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models.fields.related import ForeignKey

# A field of a model, as _meta.get_field returns it (a relation's reverse side included).
AnyField = Any
# What a revision keeps of a section (JSON).
Snapshot = dict[str, Any]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def studio_formfield(db_field: models.Field[Any, Any], **kwargs: Any) -> forms.Field | None:
    """Widgets for every generated form: date-times typed in UTC (24-hour), native date
    pickers for days, roomy Markdown textareas."""
    if isinstance(db_field, models.DateTimeField):
        kwargs["form_class"] = UTCDateTimeField
    elif isinstance(db_field, models.DateField):
        kwargs["widget"] = DateInput()
    elif isinstance(db_field, models.TextField):
        kwargs["widget"] = forms.Textarea(attrs={"rows": 8})
    elif isinstance(db_field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return db_field.formfield(**kwargs)


class EditForm(forms.ModelForm[Any]):
    """Base of every section and row form: it carries the version the editor started from."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, initial=0)

    def __init__(
        self, *args: Any, incident: Incident, user: User, prompt: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.incident = incident
        self.user = user
        limit_model_text(self, self._meta.model._meta.label)  # postmortems/limits.py
        for field in self.fields.values():
            # The template's guiding question, where the text goes (from the seed's wording).
            if prompt and isinstance(field.widget, forms.Textarea):
                field.widget.attrs.setdefault("placeholder", prompt)
        team_members = (
            get_user_model()
            .objects.filter(memberships__team=incident.team_id)
            .order_by("first_name", "last_name", "username")
        )
        for name, field in self.fields.items():
            if name in ("commander", "owner"):
                field.queryset = team_members  # type: ignore[attr-defined]
                field.label_from_instance = person_label  # type: ignore[attr-defined]
            elif name == "service":
                field.queryset = incident.team.services.all()  # type: ignore[attr-defined]
        if self._meta.model is IncidentTag:
            # Free tags, with the ones the team already uses offered first.
            names = IncidentTag.objects.names_for_teams([incident.team_id])
            self.fields["name"].widget = SuggestingInput(
                [(n, "") for n in names], attrs={"autocomplete": "off"}
            )


class RowForm(EditForm):
    """A row's form also checks the constraints that involve the document it belongs to
    (one row per service and incident), which a plain ModelForm skips as not in the form.
    The document itself is not validated again: the view loaded it (one query less)."""

    parent_field: str | None = None

    def _post_clean(self) -> None:
        # Private ModelForm hooks (django-stubs leaves them out).
        super()._post_clean()  # type: ignore[misc]
        exclude = self._get_validation_exclusions() - {self.parent_field}  # type: ignore[attr-defined]
        for constraint in self.instance._meta.constraints:
            if self.parent_field in getattr(constraint, "fields", ()):
                try:
                    constraint.validate(type(self.instance), self.instance, exclude=exclude)
                except forms.ValidationError as error:
                    self._update_errors(error)  # type: ignore[attr-defined]


class FollowUpForm(RowForm):
    """A follow-up is marked done with a box; the time it was done is kept."""

    completed_at = forms.BooleanField(label="Done", required=False)

    def clean_completed_at(self) -> Any:
        if not self.cleaned_data["completed_at"]:
            return None
        return self.instance.completed_at or timezone.now()


REFERENCE_IN_TEXT = re.compile(r"INC-\d{4}-\d{4,}", re.IGNORECASE)


class LinkForm(RowForm):
    """A related incident is named by its reference (typed, picked from the suggestions of
    recent incidents, or sent by a "Link" button); a list of every incident would not scale."""

    other = forms.CharField(
        label="Related incident",
        max_length=250,
        help_text="Its reference, e.g. INC-2026-0042.",
    )
    field_order = ["other", "note"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.candidates = Incident.objects.visible_to(self.user).exclude(pk=self.incident.pk)
        recent = self.candidates.order_by("-started_at", "-pk").only("year", "number", "title")
        self.fields["other"].widget = SuggestingInput(
            [(i.reference, i.title) for i in recent[:100]], attrs={"autocomplete": "off"}
        )
        if self.instance.pk and not self.is_bound:
            self.initial.setdefault("other", self.instance.other_end(self.incident).reference)

    def clean_other(self) -> Incident:
        match = REFERENCE_IN_TEXT.search(self.cleaned_data["other"])
        reference = match[0].upper() if match else ""
        if reference == self.incident.reference:
            raise forms.ValidationError("An incident is not related to itself.")
        other = self.candidates.with_reference(reference).first()
        if other is None:
            raise forms.ValidationError(
                "No incident you can see has this reference (e.g. INC-2026-0042)."
            )
        return other

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        other = cleaned.get("other")
        if isinstance(other, Incident):
            here = self.incident
            pair = Q(incident=here, related=other) | Q(incident=other, related=here)
            if IncidentLink.objects.filter(pair).exclude(pk=self.instance.pk).exists():
                self.add_error("other", f"{other.reference} is already linked to this incident.")
        return cleaned


def describe_value(field: AnyField, value: Any) -> str:
    """A field's value as a person reads it, for revisions and conflicts."""
    if value in (None, ""):
        return "—"
    if field.many_to_many:
        return ", ".join(str(v) for v in value) or "—"
    if field.is_relation:
        return display_name(value) if isinstance(value, get_user_model()) else str(value)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.DateTimeField):
        return f"{value:%Y-%m-%d %H:%M} UTC"
    if isinstance(field, models.BooleanField):
        return "yes" if value else "no"
    return str(value)


def snapshot_value(field: AnyField, value: Any) -> Any:
    """A field's value in JSON, enough to restore it later."""
    if field.many_to_many:
        return sorted(obj.pk for obj in value)
    if field.is_relation:
        return value.pk if value is not None else None
    return value


def as_json(data: Any) -> Any:
    """Snapshot values as they read back from a revision (Decimal and datetimes as strings), so
    that a snapshot taken now compares equal to the same values stored earlier."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def value_from_snapshot(field: AnyField, raw: Any) -> Any:
    if field.many_to_many:
        return list(field.related_model.objects.filter(pk__in=raw or []))
    if field.is_relation:
        return field.related_model.objects.filter(pk=raw).first() if raw is not None else None
    return field.to_python(raw)


class FieldSection:
    kind: Literal["fields"] = "fields"
    # Whether the markup depends on who reads it beyond may-they-edit (a link names another
    # team's incident only to its members): then the cached markup is kept per reader's teams.
    viewer_dependent = False
    restorable = True

    def __init__(
        self,
        key: str,
        title: str,
        model: type[Incident] | type[Postmortem],
        fields: Iterable[str],
        template: list[str] | None = None,
        depends_on: Iterable[str] = (),
    ) -> None:
        self.key = key
        self.title = title
        self.model = model
        self.fields = tuple(fields)
        self.template = template or [
            f"postmortems/sections/{key}.html",
            "postmortems/sections/text.html",
        ]
        # Other sections whose content this one shows (durations come from the times and the
        # timeline): its rendering changes when theirs do.
        self.depends_on = tuple(depends_on)

    def __repr__(self) -> str:
        return f"<FieldSection {self.key}>"

    @property
    def owner(self) -> str:
        """Which part of the document holds this section: "incident" or "postmortem"."""
        return "incident" if self.model is Incident else "postmortem"

    @property
    def model_fields(self) -> list[AnyField]:
        return [self.model._meta.get_field(name) for name in self.fields]

    @cached_property
    def form_class(self) -> type[EditForm]:
        return modelform_factory(  # type: ignore[return-value]
            self.model, form=EditForm, fields=self.fields, formfield_callback=studio_formfield
        )

    def target(self, incident: Incident) -> Incident | Postmortem:
        """The object holding this section's fields."""
        return incident if self.owner == "incident" else incident.postmortem

    owner_object = target  # the row whose section_versions holds this section's version

    def make_form(
        self,
        incident: Incident,
        user: User,
        data: Mapping[str, Any] | None = None,
        version: int = 0,
        prompt: str = "",
    ) -> EditForm:
        # A copy: validating the form writes the input into its instance, and the loaded
        # values are what the save compares with and records as the text before.
        return self.form_class(
            data,
            instance=copy.copy(self.target(incident)),
            initial={"version": version},
            incident=incident,
            user=user,
            prompt=prompt,
        )

    def values(self, instance: Any) -> dict[str, Any]:
        return {
            f.name: list(getattr(instance, f.name).all())
            if f.many_to_many
            else getattr(instance, f.name)
            for f in self.model_fields
        }

    def values_from_form(self, form: forms.BaseForm) -> dict[str, Any]:
        return {name: form.cleaned_data[name] for name in self.fields}

    def describe(self, values: Mapping[str, Any]) -> str:
        """The section as text: Markdown as written, other fields as "Label: value" lines."""
        lines: list[str] = []
        for field in self.model_fields:
            value = values[field.name]
            if isinstance(field, models.TextField):
                if len(self.fields) == 1:
                    return str(value or "")
                lines.append(f"{capfirst(field.verbose_name)}:\n{value or '—'}")
            else:
                lines.append(f"{capfirst(field.verbose_name)}: {describe_value(field, value)}")
        return "\n".join(lines)

    def snapshot(self, values: Mapping[str, Any]) -> Snapshot:
        return {f.name: snapshot_value(f, values[f.name]) for f in self.model_fields}

    def values_from_snapshot(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {f.name: value_from_snapshot(f, data.get(f.name)) for f in self.model_fields}

    def apply(self, instance: Any, values: Mapping[str, Any]) -> None:
        for field in self.model_fields:
            if not field.many_to_many:
                setattr(instance, field.name, values[field.name])
        instance.save(update_fields=[f.name for f in self.model_fields if not f.many_to_many])
        for field in self.model_fields:
            if field.many_to_many:
                getattr(instance, field.name).set(values[field.name])


class RowSection:
    kind: Literal["rows"] = "rows"
    viewer_dependent = False  # see FieldSection

    def __init__(
        self,
        key: str,
        title: str,
        model: type[models.Model],
        parent: str,
        fields: Iterable[str],
        describe_row: Callable[[Any], str],
        order: str = "position",
        add_label: str = "Add",
        row_tag: str = "li",
        columns: int = 1,
        restorable: bool = True,
        form: type[RowForm] = RowForm,
        select_related: Iterable[str] = (),
        depends_on: Iterable[str] = (),
    ) -> None:
        self.key = key
        self.title = title
        self.model = model
        self.parent = parent  # "incident" or "postmortem": the foreign key to the document
        self.owner = parent
        self.fields = tuple(fields)
        self.describe_row = describe_row
        self.order = order  # "position": rows can be moved; otherwise sorted by model ordering
        self.add_label = add_label
        self.row_tag = row_tag  # "tr" when the rows are drawn as a table
        self.columns = columns
        # Restoring re-creates the rows; not for rows that emails and reminders point at.
        self.restorable = restorable
        self.base_form = form
        self.template: list[str] = [f"postmortems/sections/{key}.html"]
        self.row_template = f"postmortems/rows/{key}.html"
        self.select_related = tuple(select_related)  # what a row's read-only markup shows
        self.depends_on = tuple(depends_on)

    def __repr__(self) -> str:
        return f"<RowSection {self.key}>"

    @property
    def is_reorderable(self) -> bool:
        return self.order == "position"

    @cached_property
    def form_class(self) -> type[RowForm]:
        form_class: type[RowForm] = modelform_factory(  # type: ignore[assignment]
            self.model, form=self.base_form, fields=self.fields, formfield_callback=studio_formfield
        )
        form_class.parent_field = self.parent
        return form_class

    @property
    def related_name(self) -> str:
        parent: ForeignKey[Any, Any] = self.model._meta.get_field(self.parent)  # type: ignore[assignment]
        return str(parent.remote_field.related_name)

    def parent_object(self, incident: Incident) -> Incident | Postmortem:
        return incident if self.parent == "incident" else incident.postmortem

    owner_object = parent_object

    def rows(self, incident: Incident) -> models.QuerySet[Any]:
        return self.model._default_manager.filter(**{self.parent: self.parent_object(incident)})

    @property
    def owner_columns(self) -> tuple[str, ...]:
        """The foreign keys that make a row one of this document's (a link has two ends)."""
        return (self.parent,)

    def display_rows(self, incident: Incident) -> models.QuerySet[Any]:
        """Rows in the page's order with what their markup shows."""
        return self.rows(incident).select_related(*self.select_related)

    def row_of(self, incident: Incident, pk: int, rows: models.QuerySet[Any] | None = None) -> Any:
        """The row `pk` of this document's list, or None if it was deleted (someone may have
        deleted it while another person edited it). A row of another document is no row of
        this one: 404, never "deleted meanwhile" nor a silent success. Every view and service
        that takes a document and a row id looks the row up here."""
        rows = self.display_rows(incident) if rows is None else rows
        row = rows.filter(pk=pk).order_by().first()
        if row is None and self.model._base_manager.filter(pk=pk).exists():
            raise Http404(f"No such row in this document's {self.title.lower()}.")
        return row

    # The order of the rows, for "the rows after this one" (loading a long list in chunks) and
    # "the row above" (moving): the model's ordering, with the primary key to break ties.

    @cached_property
    def ordering(self) -> tuple[str, ...]:
        names = [str(name).lstrip("-") for name in self.model._meta.ordering or ()]
        return tuple(names if "pk" in names else [*names, "pk"])

    def order_values(self, row: models.Model) -> list[Any]:
        values: list[Any] = []
        for name in self.ordering:
            value: Any = row
            for part in name.split("__"):
                value = getattr(value, part)
            values.append(value)
        return values

    def order_field(self, name: str) -> AnyField:
        if name == "pk":
            return self.model._meta.pk
        model: Any = self.model
        parts = name.split("__")
        for part in parts[:-1]:
            model = model._meta.get_field(part).related_model
        return model._meta.get_field(parts[-1])

    def after(self, values: Sequence[Any]) -> Q:
        """Rows that come after a row with these ordering values (a keyset, not an offset, so
        that rows added or deleted meanwhile never shift what comes next)."""
        return self._beyond(values, "gt")

    def before(self, values: Sequence[Any]) -> Q:
        return self._beyond(values, "lt")

    def _beyond(self, values: Sequence[Any], lookup: str) -> Q:
        condition = Q()
        for n, name in enumerate(self.ordering):
            same = {self.ordering[m]: values[m] for m in range(n)}
            condition |= Q(**same, **{f"{name}__{lookup}": values[n]})
        return condition

    def cursor(self, row: models.Model) -> str:
        """A row's place in the list as text, for the URL of the rows after it."""
        return json.dumps(self.order_values(row), cls=DjangoJSONEncoder)

    def values_from_cursor(self, cursor: str) -> list[Any]:
        """ValueError or ValidationError when the text is not a cursor of this list."""
        raw = json.loads(cursor)
        if not isinstance(raw, list) or len(raw) != len(self.ordering):
            raise ValueError("not a cursor")
        pairs = zip(self.ordering, raw, strict=True)
        return [self.order_field(name).to_python(value) for name, value in pairs]

    # Row snapshots: what a revision keeps of a row (every stored field, its place and version),
    # enough to put it back as it was.

    @cached_property
    def stored_fields(self) -> list[AnyField]:
        return [
            f
            for f in self.model._meta.concrete_fields
            if not f.primary_key
            and f.name != self.parent
            and not getattr(f, "auto_now", False)
            and not getattr(f, "auto_now_add", False)
        ]

    def snapshot_row(self, row: models.Model) -> Snapshot:
        snapshot: Snapshot = as_json(
            {
                f.name: getattr(row, f.attname) if f.is_relation else getattr(row, f.name)
                for f in self.stored_fields
            }
        )
        return snapshot

    def apply_snapshot(self, row: Any, data: Mapping[str, Any]) -> Any:
        """Set a row's fields from a snapshot (related rows by id, without loading them)."""
        for f in self.stored_fields:
            if f.name in data:
                raw = data[f.name]
                setattr(row, f.attname, raw if f.is_relation else f.to_python(raw))
        return row

    def row_from_snapshot(self, incident: Incident, pk: int, data: Mapping[str, Any]) -> Any:
        row = self.model(pk=pk, **{self.parent: self.parent_object(incident)})
        return self.apply_snapshot(row, data)

    def page_rows(self, owner: Any) -> Iterable[Any]:
        """The rows as the page shows them, through the related manager the page prefetched."""
        rows: Iterable[Any] = getattr(owner, self.related_name).all()
        return rows

    def make_form(
        self,
        incident: Incident,
        user: User,
        data: Mapping[str, Any] | None = None,
        row: Any = None,
        initial: Mapping[str, Any] | None = None,
    ) -> RowForm:
        if row is None:
            row = self.model(**{self.parent: self.parent_object(incident)})
        return self.form_class(
            data,
            instance=row,
            initial={"version": row.version if row.pk else 0, **(initial or {})},
            incident=incident,
            user=user,
        )

    def describe(self, rows: Iterable[Any]) -> str:
        return "\n".join(self.describe_row(row) for row in rows)

    def describe_values(self, values: Mapping[str, Any]) -> str:
        """A row not saved yet (the editor's side of a conflict) described like a saved one."""
        return self.describe_row(self.model(**values))

    def values_from_form(self, form: forms.BaseForm) -> dict[str, Any]:
        return {name: form.cleaned_data[name] for name in self.fields}

    @property
    def model_fields(self) -> list[AnyField]:
        return [self.model._meta.get_field(name) for name in self.fields]

    def snapshot(self, rows: Iterable[Any]) -> Snapshot:
        return {
            "rows": [
                {f.name: snapshot_value(f, getattr(row, f.name)) for f in self.model_fields}
                for row in rows
            ]
        }

    def rows_from_snapshot(self, data: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Field values of each row as a revision saved them."""
        return [
            {f.name: value_from_snapshot(f, row.get(f.name)) for f in self.model_fields}
            for row in data.get("rows", [])
        ]


class LinkSection(RowSection):
    """Related incidents: a link is one row shown on the documents of both incidents, so the
    rows of an incident are the links made from it and the links made to it. Edited from
    either side; the form names the other incident, whichever side that is."""

    def __init__(self, key: str, title: str) -> None:
        super().__init__(
            key,
            title,
            IncidentLink,
            "incident",
            ("incident", "related", "note"),
            describe_link,
            order="time",
            add_label="Link an incident",
            # A link belongs to two documents: bringing back one side's old list would
            # remove or re-create links on the other's behind its back.
            restorable=False,
        )

    @cached_property
    def form_class(self) -> type[RowForm]:
        form_class: type[RowForm] = modelform_factory(  # type: ignore[assignment]
            self.model, form=LinkForm, fields=("note",), formfield_callback=studio_formfield
        )
        form_class.parent_field = self.parent
        return form_class

    def rows(self, incident: Incident) -> models.QuerySet[Any]:
        # Prefetched, not joined: a row lock taken on these rows must not lock the incidents.
        return (
            IncidentLink.objects.filter(Q(incident=incident) | Q(related=incident))
            .prefetch_related("incident", "related")
            .order_by("created_at", "pk")
        )

    viewer_dependent = True  # another team's incident is shown by reference only

    def page_rows(self, owner: Any) -> list[IncidentLink]:
        return [link for _other, link in owner.linked_incidents()]

    @property
    def owner_columns(self) -> tuple[str, ...]:
        return ("incident", "related")

    def values_from_form(self, form: forms.BaseForm) -> dict[str, Any]:
        row = form.instance  # type: ignore[attr-defined]
        end = "incident" if row.pk and row.related_id == form.incident.pk else "related"  # type: ignore[attr-defined]
        return {end: form.cleaned_data["other"], "note": form.cleaned_data["note"]}

    def describe_values(self, values: Mapping[str, Any]) -> str:
        other: Incident = values.get("related") or values["incident"]
        note = f": {values['note']}" if values["note"] else ""
        return f"↔ {other.reference} {other.title}{note}"


def describe_link(link: IncidentLink) -> str:
    ends = f"{link.incident.reference} ↔ {link.related.reference}"
    return f"{ends}: {link.note}" if link.note else ends


def _utc(moment: Any) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "—"


def describe_event(event: TimelineEvent) -> str:
    mark = " ★ key decision" if event.is_key_decision else ""
    parts = [_utc(event.occurred_at), event.get_kind_display(), event.actor or "—"]
    if event.action_taken:
        parts.append(f"action: {event.action_taken}")
    return f"{' | '.join(parts)} | {event.description}{mark}"


# The impact shows the downtime, from the incident's times or else from its timeline.
DEPENDS_ON = {"impact": ("incident_times", "timeline")}


def _postmortem_section(key: str) -> FieldSection:
    section = SECTIONS[key]
    return FieldSection(
        key, section.title, Postmortem, section.fields, depends_on=DEPENDS_ON.get(key, ())
    )


FIELD_SECTIONS = {
    section.key: section
    for section in [
        FieldSection(
            "incident_details",
            "Incident",
            Incident,
            ("title", "severity", "status", "commander", "external_id"),
            template=["incidents/sections/incident_details.html"],
        ),
        FieldSection(
            "incident_times",
            "Times",
            Incident,
            TIME_FIELDS,
            template=["incidents/sections/incident_times.html"],
            # A time left empty is read from the timeline.
            depends_on=("timeline",),
        ),
        *(_postmortem_section(key) for key, s in SECTIONS.items() if s.fields),
        FieldSection(
            "review_schedule",
            "Review meeting",
            Postmortem,
            ("review_meeting_at", "next_review_on"),
            template=["postmortems/sections/review_schedule.html"],
        ),
    ]
}

ROW_SECTIONS: dict[str, RowSection] = {
    section.key: section
    for section in [
        RowSection(
            "timeline",
            "Timeline",
            TimelineEvent,
            "incident",
            (
                "occurred_at",
                "kind",
                "description",
                "action_taken",
                "actor",
                "notes",
                "is_key_decision",
            ),
            describe_event,
            order="time",
            add_label="Add event",
            row_tag="tr",
            columns=6,
            # Times on the incident's first day are shown without their date.
            depends_on=("incident_times",),
        ),
        RowSection(
            "five_whys",
            "The five whys",
            FiveWhy,
            "postmortem",
            ("question", "answer"),
            lambda row: f"Why: {row.question}\n→ {row.answer}",
            add_label="Add a why",
        ),
        RowSection(
            "contributing_factors",
            "Contributing factors",
            ContributingFactor,
            "postmortem",
            ("category", "description"),
            lambda row: f"[{row.get_category_display()}] {row.description}",
            add_label="Add a factor",
        ),
        RowSection(
            "follow_ups",
            "Follow-ups",
            FollowUp,
            "postmortem",
            ("due_on", "title", "notes", "completed_at"),
            lambda row: (
                f"{row.due_on:%Y-%m-%d} | {row.title} | {row.notes}"
                + (" | done" if row.completed_at else "")
            ),
            order="time",
            add_label="Add follow-up",
            form=FollowUpForm,
        ),
        RowSection(
            "additional_sections",
            "Additional sections",
            AdditionalSection,
            "postmortem",
            ("title", "body"),
            lambda row: f"## {row.title}\n{row.body}",
            add_label="Add a section",
            row_tag="section",
        ),
        RowSection(
            "tags",
            "Tags",
            IncidentTag,
            "incident",
            ("name",),
            lambda row: row.name,
            order="name",
            add_label="Add tag",
        ),
        LinkSection("related_incidents", "Related incidents"),
        RowSection(
            "services",
            "Services affected",
            IncidentService,
            "incident",
            ("service", "impact", "note"),
            lambda row: (
                f"{row.service}: {row.get_impact_display()}"
                + (f" ({row.note})" if row.note else "")
            ),
            order="name",
            add_label="Add service",
            select_related=("service",),
        ),
    ]
}

# Supporting information shows the related incidents inside it.
FIELD_SECTIONS["supporting_info"].viewer_dependent = True

Section = FieldSection | RowSection

EDITABLE_SECTIONS: dict[str, Section] = {**FIELD_SECTIONS, **ROW_SECTIONS}


def register_row_section(section: RowSection) -> None:
    """A list section whose rows belong to an app above this one (action items): that app
    declares it here from its AppConfig.ready(), so the document never imports it."""
    ROW_SECTIONS[section.key] = section
    EDITABLE_SECTIONS[section.key] = section
