"""Markdown to safe HTML: every free-text section is written in Markdown by users.

Python-Markdown with the extensions postmortems need: tables, fenced code (pymdownx.superfences,
which also reads fences inside list items), task lists
(pymdownx.tasklist), ~~strike~~ (pymdownx.tilde), line breaks as written (nl2br), and lists
nested the way GitHub and Google Docs write them, two spaces deep (Python-Markdown wants
four; `NestedListIndent` rewrites the indentation before parsing). The HTML then goes
through nh3: no script, no event handlers, no javascript: links.
"""

from __future__ import annotations

import re
import threading

import markdown as markdown_lib
import nh3
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

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
    "ol": {"start"},
}
# Only read-only checkboxes may come out of user text (the seeds' "- [x] done" checklists).
FORCED_ATTRIBUTES = {"input": {"type": "checkbox", "disabled": "disabled"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}

LIST_ITEM = re.compile(r"^( *)([-*+]|\d{1,9}[.)])(\s+|$)")
FENCE = re.compile(r"^( *)(`{3,}|~{3,})")


class NestedListIndent(Preprocessor):
    """Nested list items and their continuation lines indented by four spaces per level,
    whatever the writer used (two for "- a / - b", three for "1. one / - sub")."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        levels: list[int] = []  # the source indentation of each open list level
        fence: str | None = None
        shift, previous_blank, indented_block = 0, False, False
        for line in lines:
            if fence is not None:
                out.append(_shifted(line, shift))
                closer = FENCE.match(line)
                if closer and closer.group(2)[0] == fence:
                    fence = None
                continue
            indent = len(line) - len(line.lstrip(" "))
            item = LIST_ITEM.match(line)
            if item and indented_block:
                # Python-Markdown reads an item right after an indented paragraph of the
                # previous item as more of that paragraph; a blank line keeps them apart.
                out.append("")
            if previous_blank or item:
                indented_block = not item and indent > 0 and bool(levels)
            if item:
                while levels and indent < levels[-1]:
                    levels.pop()
                if not levels or indent > levels[-1]:
                    levels.append(indent)
                new = 4 * (len(levels) - 1)
                out.append(" " * new + line.lstrip(" "))
            elif not line.strip():
                out.append(line)
            elif levels and indent > 0:
                depth = sum(1 for level in levels if level < indent)
                shift = 4 * depth - indent
                opener = FENCE.match(line)
                if opener:
                    fence = opener.group(2)[0]
                out.append(_shifted(line, shift))
            else:
                if previous_blank:
                    levels = []  # a paragraph after a blank line ends the list
                out.append(line)
            previous_blank = not line.strip()
        return out


def _shifted(line: str, shift: int) -> str:
    if shift >= 0:
        return " " * shift + line
    spaces = len(line) - len(line.lstrip(" "))
    return line[min(spaces, -shift) :]


class NestedListExtension(Extension):
    def extendMarkdown(self, md: markdown_lib.Markdown) -> None:
        md.preprocessors.register(NestedListIndent(md), "nested_list_indent", 35)


def _extensions() -> list[str | Extension]:
    return [
        "tables",
        "pymdownx.highlight",
        "pymdownx.superfences",
        "sane_lists",
        "nl2br",
        "pymdownx.tasklist",
        "pymdownx.tilde",
        NestedListExtension(),
    ]


_local = threading.local()


def _converter() -> markdown_lib.Markdown:
    """Building a Markdown converter costs more than converting a paragraph; keep one per
    thread (they are not thread-safe) and reset it between texts."""
    if not hasattr(_local, "converter"):
        _local.converter = markdown_lib.Markdown(
            extensions=_extensions(),
            # Code keeps its language as a class; no highlighting markup to sanitize away.
            extension_configs={"pymdownx.highlight": {"use_pygments": False}},
            output_format="html",
        )
    converter: markdown_lib.Markdown = _local.converter.reset()
    return converter


def render_markdown(text: str | None) -> str:
    """Render Markdown and sanitize the HTML: no script, no on* handlers, no javascript: URLs."""
    if not text:
        return ""
    html = _converter().convert(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        set_tag_attribute_values=FORCED_ATTRIBUTES,
        clean_content_tags={"script", "style"},
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
