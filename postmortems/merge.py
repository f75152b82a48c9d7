"""Three-way merge of a text two people edited from the same version. Pure Python, no Django.

Lines are the unit people see as separate in a Markdown section (a paragraph is one line, a
list item is one line). Each side's changes are found against the base; when no change of one
side touches a change of the other, both are applied. Changes that overlap, or that touch the
same place (two insertions at one point, an edit right next to another edit), are a conflict:
the person decides, as git's diff3 would make them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher


class MergeConflict(Exception):
    """Both sides changed the same lines (or lines right next to each other)."""


@dataclass(frozen=True)
class Change:
    """Base lines [start, end) replaced by `lines` (start == end: an insertion)."""

    start: int
    end: int
    lines: tuple[str, ...]

    @property
    def is_insertion(self) -> bool:
        return self.start == self.end

    def touches(self, other: Change) -> bool:
        """Overlapping lines; or an insertion where the other side changed or inserted too,
        where the order of the two is anyone's guess. Edits of neighbouring lines do not
        touch (two list items, two paragraphs)."""
        if self.is_insertion or other.is_insertion:
            return self.start <= other.end and other.start <= self.end
        return max(self.start, other.start) < min(self.end, other.end)


def changes(base: Sequence[str], edited: Sequence[str]) -> list[Change]:
    matcher = SequenceMatcher(None, base, edited, autojunk=False)
    return [
        Change(i1, i2, tuple(edited[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def merge_lines(base: Sequence[str], theirs: Sequence[str], yours: Sequence[str]) -> list[str]:
    """Both sides' changes applied to the base; MergeConflict if they touch."""
    mine = changes(base, yours)
    other = [c for c in changes(base, theirs) if c not in mine]  # the same edit made twice
    for change in mine:
        if any(change.touches(o) for o in other):
            raise MergeConflict
    merged: list[str] = []
    position = 0
    for change in sorted([*mine, *other], key=lambda c: (c.start, c.end)):
        merged.extend(base[position : change.start])
        merged.extend(change.lines)
        position = change.end
    merged.extend(base[position:])
    return merged


def merge_text(base: str, theirs: str, yours: str) -> str:
    """The text with both people's edits; MergeConflict when they edited the same lines."""
    if yours == base or theirs == yours:
        return theirs
    if theirs == base:
        return yours
    # Compare line contents without their endings, which browsers and pastes mix (\r\n, \n).
    ending = "\r\n" if "\r\n" in yours else "\n"
    merged = merge_lines(base.splitlines(), theirs.splitlines(), yours.splitlines())
    text = ending.join(merged)
    # A final line break is one more thing a side may have changed.
    base_end, theirs_end, yours_end = (_ends_line(t) for t in (base, theirs, yours))
    if (yours_end if yours_end != base_end else theirs_end) and text:
        text += ending
    return text


def _ends_line(text: str) -> bool:
    return text.endswith(("\n", "\r"))
