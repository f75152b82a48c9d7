"""Template filters shared by every page and by the Markdown export (loaded as builtins)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from postmortems.importing.durations import format_duration
from postmortems.markdown import render_markdown

if TYPE_CHECKING:
    from django.contrib.auth.models import User

register = template.Library()


@register.filter
def markdown(text: str | None) -> SafeString:
    return mark_safe(render_markdown(text))


@register.filter
def duration(value: timedelta | None) -> str:
    """A timedelta as people say it: "<1 min", "30 min", "2 h 34 min", "1 d 3 h"."""
    return format_duration(value)


@register.filter(name="person_label")
def person_label_filter(user: Any) -> str:
    """A person as pickers offer them: "Sarah Chen (sarah)" (incidents.forms.person_label)."""
    from incidents.forms import person_label

    return "" if user is None else person_label(user)


@register.filter
def display_name(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


@register.filter
def split(value: object) -> list[str]:
    return str(value).split()


@register.filter
def field_label(form: Any, name: str) -> str:
    """The label of a form's field, for an error list."""
    field = form.fields.get(name)
    return str(field.label) if field is not None and field.label else name


@register.filter
def section_title(key: str) -> str:
    from postmortems.layouts import SECTIONS

    return SECTIONS[key].title if key in SECTIONS else key.replace("_", " ")
