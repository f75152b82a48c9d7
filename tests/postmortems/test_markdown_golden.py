"""Markdown as people write it renders as they meant it: golden files of input and HTML.

To add a case, write NAME.md in markdown_golden/, render it once, read the HTML, and commit
it as NAME.html. A change in the renderer or its extensions shows up here as a diff.
"""

import re
from pathlib import Path

import pytest

from postmortems.markdown import render_markdown

GOLDEN = Path(__file__).parent / "markdown_golden"
CASES = sorted(path.stem for path in GOLDEN.glob("*.md"))


TAG = re.compile(r"<([a-z0-9]+)((?:\s+[a-z-]+(?:=\"[^\"]*\")?)+)\s*(/?)>")


def canonical(html):
    """Attributes in a fixed order: nh3 does not keep theirs."""

    def sort(match):
        attributes = sorted(re.findall(r'[a-z-]+(?:="[^"]*")?', match.group(2)))
        return f"<{match.group(1)} {' '.join(attributes)}{match.group(3)}>"

    return TAG.sub(sort, html)


@pytest.mark.parametrize("name", CASES)
def test_golden_file(name):
    source = (GOLDEN / f"{name}.md").read_text(encoding="utf-8")
    expected = (GOLDEN / f"{name}.html").read_text(encoding="utf-8")
    assert canonical(render_markdown(source) + "\n") == canonical(expected)


def test_two_space_nesting_nests():
    html = render_markdown("- a\n  - b\n\n1. one\n   - sub")
    assert "<li>a<ul>\n<li>b</li>" in html
    assert "<li>one<ul>\n<li>sub</li>" in html


def test_task_lists_with_blank_lines_between_items_are_checkboxes():
    html = canonical(render_markdown("- [x] done\n\n- [ ] todo"))
    assert '<input checked="" disabled="disabled" type="checkbox"> done' in html
    assert '<input disabled="disabled" type="checkbox"> todo' in html
    assert "[x]" not in html and "[ ]" not in html


def test_strikethrough():
    assert render_markdown("~~strike~~") == "<p><del>strike</del></p>"


def test_every_case_has_its_html():
    assert CASES and all((GOLDEN / f"{name}.html").exists() for name in CASES)


def test_a_saved_section_renders_its_nested_lists_task_lists_and_strikes(author_client, postmortem):
    """The same rendering through the path a writer takes: save a section, get it back."""
    from django.urls import reverse

    from tests.conftest import HTMX

    url = reverse("postmortems:section", args=[postmortem.incident.reference, "lessons_learned"])
    text = "- pools need alerts\n  - at 80%\n\n- [x] runbook written\n\n- [ ] load test\n\n~~luck~~"
    response = author_client.post(url, {"version": 0, "lessons_learned": text}, **HTMX)
    html = canonical(response.content.decode())
    assert response.status_code == 200
    assert re.search(r"<li>\s*(<p>)?pools need alerts(</p>)?\s*<ul>\s*<li>at 80%</li>", html)
    assert '<input checked="" disabled="disabled" type="checkbox"> runbook written' in html
    assert "<del>luck</del>" in html
