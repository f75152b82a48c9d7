"""Markdown to safe HTML: every free-text section is written in Markdown by users."""

import threading

import markdown as markdown_lib
import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul", "input",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title"},
    "td": {"align"},
    "th": {"align"},
    "code": {"class"},
    "input": {"checked"},
}
# Only read-only checkboxes may come out of user text (the seeds' "- [x] done" checklists).
FORCED_ATTRIBUTES = {"input": {"type": "checkbox", "disabled": "disabled"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
EXTENSIONS = ["tables", "fenced_code", "sane_lists", "nl2br"]


_local = threading.local()


def _converter():
    """Building a Markdown converter costs more than converting a paragraph; keep one per
    thread (they are not thread-safe) and reset it between texts."""
    if not hasattr(_local, "converter"):
        _local.converter = markdown_lib.Markdown(extensions=EXTENSIONS, output_format="html")
    return _local.converter.reset()


def render_markdown(text):
    """Render Markdown and sanitize the HTML: no script, no on* handlers, no javascript: URLs."""
    if not text:
        return ""
    html = _converter().convert(text)
    html = _render_task_list_items(html)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        set_tag_attribute_values=FORCED_ATTRIBUTES,
        clean_content_tags={"script", "style"},
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def _render_task_list_items(html):
    """`- [x] done` checklists, as the seed templates use them, become disabled checkboxes."""
    return html.replace("<li>[x] ", '<li><input type="checkbox" checked disabled> ').replace(
        "<li>[ ] ", '<li><input type="checkbox" disabled> '
    )
