"""Form data as a browser would post it, built from the forms the views themselves render."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import forms


def as_post_value(value: Any) -> Any:
    """A bound field's value as the browser sends it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [as_post_value(v) for v in value]
    return value


def form_data(form: forms.BaseForm) -> dict[str, Any]:
    """What the unbound `form` would post as it is shown: initial values, the first real
    choice of a required select, unchecked boxes left out."""
    data: dict[str, Any] = {}
    for name, bound in form.fields.items():
        value = form[name].value()
        if isinstance(bound, forms.BooleanField):
            if value:
                data[name] = "on"
            continue
        if value in (None, "", []) and bound.required:
            if isinstance(bound, forms.ModelChoiceField):
                first = bound.queryset.first()
                value = first.pk if first is not None else ""
            elif isinstance(bound, forms.ChoiceField):
                real = [key for key, _label in bound.choices if key not in ("", None)]
                value = real[0] if real else ""
            elif isinstance(bound, forms.DateTimeField):
                value = datetime(2026, 3, 2, 14, 5)
            elif isinstance(bound, forms.DateField):
                value = date(2026, 4, 1)
            elif isinstance(bound, forms.IntegerField | forms.DecimalField):
                value = 1
        data[name] = as_post_value(value)
    return data


def text_fields(form: forms.BaseForm) -> list[str]:
    """Fields a person types free text into (no choices, no numbers or dates, no URLs)."""
    return [
        name
        for name, bound in form.fields.items()
        if type(bound) in (forms.CharField,)
        and not isinstance(bound.widget, forms.HiddenInput)
        and name != "version"
    ]


def url_fields(form: forms.BaseForm, text: str) -> list[str]:
    """URL fields that take `text` as a URL (most payloads are not one, and are refused)."""
    names = []
    for name, bound in form.fields.items():
        if isinstance(bound, forms.URLField):
            try:
                bound.clean(text)
            except forms.ValidationError:
                continue
            names.append(name)
    return names


def fits(form: forms.BaseForm, name: str, text: str) -> bool:
    """Whether `text` is within the field's length limit (longer text is refused, 422)."""
    limit = getattr(form.fields[name], "max_length", None)
    return limit is None or len(text) <= limit
