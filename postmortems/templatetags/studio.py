"""Template filters shared by every page and by the Markdown export (loaded as builtins)."""

from django import template
from django.utils.safestring import mark_safe

from postmortems.importing.durations import format_duration
from postmortems.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text):
    return mark_safe(render_markdown(text))


@register.filter
def duration(value):
    """A timedelta as people say it: "<1 min", "30 min", "2 h 34 min", "1 d 3 h"."""
    return format_duration(value)


@register.filter
def display_name(user):
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


@register.filter
def md_cell(value):
    """Make a value safe for one cell of a Markdown table: one line, pipes escaped."""
    text = " ".join(str(value if value is not None else "").split())
    return text.replace("|", "\\|")
