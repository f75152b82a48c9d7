"""The document's sections and rows as JSON, and JSON back into the section forms declared in
postmortems/editing.py, so the API validates exactly as the editor does.

People and things are named as people name them: users by username, services by name, incidents
by reference. The forms want primary keys; a name that matches nothing is passed on as it is,
for the form to refuse ("Select a valid choice").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from rest_framework.exceptions import ValidationError

from incidents.models import Incident, Service
from postmortems.editing import EDITABLE_SECTIONS, FieldSection, RowSection
from postmortems.models import Revision

# Fields a row section's form does not edit but the API may set, with how to check them.


def to_api(field: models.Field[Any, Any], value: Any) -> Any:
    if field.many_to_many:
        return [to_api_object(obj) for obj in value]
    if field.is_relation:
        return None if value is None else to_api_object(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


def to_api_object(obj: Any) -> Any:
    if isinstance(obj, get_user_model()):
        return obj.get_username()
    if isinstance(obj, Incident):
        return obj.reference
    if isinstance(obj, Service):
        return obj.name
    return obj.pk


def form_value(value: Any) -> Any:
    """A JSON value as a browser would post it: forms parse text (a number or true where a
    date is expected must be refused by the form, not crash it)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, dict, list)):
        return json.dumps(value)
    return value


def from_api(field: models.Field[Any, Any], value: Any, incident: Incident) -> Any:
    """An API value as the form's data: names become primary keys where they match."""
    if value is None or value == "":
        return [] if field.many_to_many else ""
    related = field.related_model
    if field.many_to_many:
        if not isinstance(value, list):
            return form_value(value)
        return [_pk_of(related, item, incident) for item in value]
    if field.is_relation:
        return _pk_of(related, value, incident)
    if isinstance(field, models.BooleanField):
        return value
    return form_value(value)


def _pk_of(model: Any, name: Any, incident: Incident) -> Any:
    if not isinstance(name, str) or "\x00" in name:
        return form_value(name)  # not a name: the form says it is not a valid choice
    if model is get_user_model():
        found = model.objects.filter(username=name).values_list("pk", flat=True).first()
    elif model is Incident:
        found = Incident.objects.with_reference(name).values_list("pk", flat=True).first()
    elif model is Service:
        found = (
            Service.objects.filter(team_id=incident.team_id, name=name)
            .values_list("pk", flat=True)
            .first()
        )
    else:
        found = None
    return found if found is not None else name


def row_to_api(section: RowSection, row: models.Model) -> dict[str, Any]:
    data = {"id": row.pk, "version": getattr(row, "version", None)}
    for field in section.model_fields:
        data[field.name] = to_api(field, getattr(row, field.name))
    return data


def rows_with_relations(section: RowSection, incident: Incident) -> Any:
    """The section's rows with the people and things they name, in a fixed number of queries."""
    fields = section.model_fields
    return (
        section.rows(incident)
        .select_related(*[f.name for f in fields if f.is_relation and not f.many_to_many])
        .prefetch_related(*[f.name for f in fields if f.many_to_many])
    )


def current_version(incident: Incident, key: str) -> int:
    latest = (
        Revision.objects.filter(incident=incident, section=key)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    return latest or 0


def section_to_api(incident: Incident, key: str, version: int | None = None) -> dict[str, Any]:
    section = EDITABLE_SECTIONS[key]
    data: dict[str, Any] = {
        "key": key,
        "title": section.title,
        "kind": section.kind,
        "version": current_version(incident, key) if version is None else version,
    }
    if isinstance(section, FieldSection):
        values = section.values(section.target(incident))
        data["values"] = {f.name: to_api(f, values[f.name]) for f in section.model_fields}
        data["text"] = section.describe(values)
    else:
        rows = list(rows_with_relations(section, incident))
        data["rows"] = [row_to_api(section, row) for row in rows]
        data["text"] = section.describe(rows)
    return data


def _unbound_values(form: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: form[name].value() for name in names}


def _check_object(payload: Any) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise ValidationError({"detail": "Send a JSON object."})
    return payload


def form_errors(form: Any) -> ValidationError:
    errors = {
        ("non_field_errors" if name == "__all__" else name): [str(e) for e in messages]
        for name, messages in form.errors.items()
    }
    return ValidationError(errors)


def validated_section_values(
    section: FieldSection, incident: Incident, user: Any, payload: Any
) -> tuple[dict[str, Any], int]:
    """(values, base version) of a section write, through the section's form. Fields not sent
    keep their current values; the version the client read is required."""
    payload = _check_object(payload)
    values = payload.get("values", {})
    if not isinstance(values, Mapping):
        raise ValidationError({"values": ["Send the fields as an object."]})
    unknown = sorted(set(values) - set(section.fields))
    if unknown:
        raise ValidationError({name: ["Not a field of this section."] for name in unknown})
    if "version" not in payload:
        raise ValidationError({"version": ["Send the version you read (409 if it changed)."]})
    current = _unbound_values(section.make_form(incident, user), section.fields)
    fields = {f.name: f for f in section.model_fields}
    data = {**current, **{n: from_api(fields[n], v, incident) for n, v in values.items()}}
    data["version"] = payload["version"]
    form = section.make_form(incident, user, data=data)
    if not form.is_valid():
        raise form_errors(form)
    return section.values_from_form(form), form.cleaned_data["version"]


def validated_row_values(
    section: RowSection,
    incident: Incident,
    user: Any,
    payload: Any,
    row: models.Model | None = None,
) -> tuple[dict[str, Any], int]:
    """(values, base version) of a row to add (row=None) or change, through the row's form.
    A change keeps the fields not sent and needs the version the client read."""
    payload = _check_object(payload)
    allowed = {*section.fields, "version"}
    unknown = sorted(set(payload) - allowed - {"id"})
    if unknown:
        raise ValidationError({name: ["Not a field of these rows."] for name in unknown})
    if row is not None and "version" not in payload:
        raise ValidationError({"version": ["Send the version you read (409 if it changed)."]})
    current = _unbound_values(section.make_form(incident, user, row=row), section.fields)
    fields = {f.name: f for f in section.model_fields}
    sent = {n: v for n, v in payload.items() if n in fields}
    data = {**current, **{n: from_api(fields[n], v, incident) for n, v in sent.items()}}
    data.update(_one_owner(sent))
    data["version"] = payload.get("version", 0) if row is not None else 0
    form = section.make_form(incident, user, data=data, row=row)
    if not form.is_valid():
        raise form_errors(form)
    return section.values_from_form(form), form.cleaned_data["version"]


def _one_owner(sent: Mapping[str, Any]) -> dict[str, Any]:
    """An action item is owned by a user or by a name (a team, someone without an account),
    never both: naming one clears the other. Sending both is the form's error to report."""
    if "owner" not in sent and "owner_name" not in sent:
        return {}
    if sent.get("owner") and "owner_name" not in sent:
        return {"owner_name": ""}
    if sent.get("owner_name") and "owner" not in sent:
        return {"owner": ""}
    return {}
