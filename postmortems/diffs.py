"""Diffs people read: lines as in a unified diff, and inside a changed line the words that
changed. Pure Python, no Django.

A Markdown paragraph is one line, so a line-only diff shows a whole paragraph removed and
added again for one changed word. Lines are paired with difflib (as `diff -u` does); within a
pair of changed lines, diff-match-patch finds the changed words (words are encoded as single
characters first, so a change never splits a word, then cleaned up "semantically" so that
the marks follow what a person would call the change).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from diff_match_patch import diff_match_patch

TOKEN = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)
CONTEXT_LINES = 2


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added", "removed" or "hunk"
    segments: tuple[tuple[bool, str], ...]  # (changed, text): changed words are marked

    @property
    def prefix(self) -> str:
        return {"added": "+", "removed": "-", "same": " "}.get(self.kind, "")

    @property
    def mark(self) -> str:
        """The element that marks changed words: <ins> on an added line, <del> on a removed."""
        return "ins" if self.kind == "added" else "del"

    @property
    def text(self) -> str:
        return "".join(text for _changed, text in self.segments)


def _whole(kind: str, line: str) -> DiffLine:
    return DiffLine(kind, ((False, line),))


def word_changes(old: str, new: str) -> tuple[DiffLine, DiffLine]:
    """The removed and the added line with the words that changed marked."""
    old_tokens, new_tokens = TOKEN.findall(old), TOKEN.findall(new)
    alphabet: dict[str, str] = {}

    def encode(tokens: list[str]) -> str:
        # Private-use code points: one character per distinct word, space or sign.
        return "".join(alphabet.setdefault(t, chr(0xE000 + len(alphabet))) for t in tokens)

    engine = diff_match_patch()
    engine.Diff_Timeout = 0.2
    diffs = engine.diff_main(encode(old_tokens), encode(new_tokens), False)
    engine.diff_cleanupSemantic(diffs)
    decode = {char: token for token, char in alphabet.items()}
    removed: list[tuple[bool, str]] = []
    added: list[tuple[bool, str]] = []
    for operation, chars in diffs:
        text = "".join(decode[c] for c in chars)
        if operation <= 0:
            removed.append((operation < 0, text))
        if operation >= 0:
            added.append((operation > 0, text))
    return DiffLine("removed", tuple(removed)), DiffLine("added", tuple(added))


def _range(start: int, stop: int) -> str:
    """A line range as unified diffs write it (difflib's own format)."""
    beginning, length = start + 1, stop - start
    if length == 1:
        return str(beginning)
    if not length:
        beginning -= 1
    return f"{beginning},{length}"


def diff_lines(old: str, new: str, context: int = CONTEXT_LINES) -> list[DiffLine]:
    """A unified diff of two texts (without file headers), changed words marked."""
    a, b = old.splitlines(), new.splitlines()
    lines: list[DiffLine] = []
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        header = f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@"
        lines.append(_whole("hunk", header))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(_whole("same", line) for line in a[i1:i2])
                continue
            removed = [_whole("removed", line) for line in a[i1:i2]]
            added = [_whole("added", line) for line in b[j1:j2]]
            for n in range(min(len(removed), len(added))):  # a line changed in place
                removed[n], added[n] = word_changes(a[i1 + n], b[j1 + n])
            lines.extend(removed)
            lines.extend(added)
    return lines
