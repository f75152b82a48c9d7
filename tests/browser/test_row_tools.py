"""Row tools (edit, move, delete) are readable and show where the keyboard is (WCAG AA)."""

import pytest

from postmortems.models import FiveWhy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The contrast ratio of an element's text against the first opaque background behind it, and
# of its focus outline against that background (WCAG 2 relative luminance).
CONTRAST = """
el => {
  const rgb = c => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => v / 255)
    .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const ratio = (a, b) => {
    const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  let node = el, bg = null;
  while (node) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length < 4 || c[3] > 0.99) { bg = c.slice(0, 3); break; }
    node = node.parentElement;
  }
  bg = bg || [255, 255, 255];
  let opacity = 1;
  for (let n = el; n; n = n.parentElement) opacity *= Number(getComputedStyle(n).opacity);
  const fg = rgb(getComputedStyle(el).color).slice(0, 3)
    .map((v, i) => v * opacity + bg[i] * (1 - opacity));
  const style = getComputedStyle(el);
  return {
    text: ratio(fg, bg),
    outline: style.outlineStyle === "none" ? 0 : ratio(rgb(style.outlineColor).slice(0, 3), bg),
    outlineWidth: parseFloat(style.outlineWidth),
  };
}
"""


def test_row_tools_meet_aa_contrast_and_show_focus(postmortem, author, open_as):
    for n, question in enumerate(["Why did checkout fail?", "Why was the pool full?"]):
        FiveWhy.objects.create(postmortem=postmortem, position=n, question=question, answer="x")
    page = open_as(author, postmortem.incident.get_absolute_url())
    whys = page.locator("#body-five_whys")
    edit = whys.locator(".row-edit").first
    assert edit.evaluate(CONTRAST)["text"] >= 4.5  # not hovered: quiet, still readable
    edit.click()
    tools = [
        whys.get_by_role("button", name="↑ Move up"),
        whys.get_by_role("button", name="↓ Move down"),
        whys.get_by_role("link", name="Delete this row"),
    ]
    for tool in tools:
        tool.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # focused from the keyboard: :focus-visible applies
        measured = tool.evaluate(CONTRAST)
        assert measured["text"] >= 4.5, measured
        assert measured["outlineWidth"] >= 2 and measured["outline"] >= 3, measured
