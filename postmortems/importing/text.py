"""Repairs applied to a document before it is parsed, each one listed for the user.

- Mojibake: UTF-8 read as Windows-1252 or Mac Roman and saved again (`âœ…` for a check
  mark, `Ã©` for é).
  ftfy repairs the first kind; runs of non-ASCII characters that ftfy leaves alone are tried
  as Mac Roman, and kept only when that yields valid UTF-8.
- Escaped fences (`\\`\\`\\``) written by editors that escape Markdown on export.
- A document whose line breaks were lost (one long line): breaks are put back before
  headings, rules, table rows, list items and bold labels.
"""

import re
from dataclasses import dataclass

import ftfy

from .vocabulary import KNOWN_HEADINGS

FTFY = ftfy.TextFixerConfig(
    unescape_html=False,
    uncurl_quotes=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    fix_line_breaks=False,
    normalization=None,
    explain=False,
)
NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]{2,}")
ESCAPED_FENCE = re.compile(r"^(\s*)((?:\\`){3,}|(?:\\~){3,})(.*)$")


@dataclass(frozen=True)
class Repair:
    line: int
    kind: str  # "encoding", "code fence", "line breaks"
    before: str
    after: str

    def __str__(self) -> str:
        if self.kind == "line breaks":
            return self.after
        return f"line {self.line}: {self.before!r} → {self.after!r} ({self.kind})"


def repair(text: str) -> tuple[str, list[Repair]]:
    """The text with encoding damage, escaped fences and lost line breaks repaired."""
    repairs: list[Repair] = []
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").replace("\x00", "")
    if looks_flattened(text):
        length = len(text)
        text = reflow(text)
        repairs.append(
            Repair(
                1,
                "line breaks",
                "",
                f"The document was one line of {length:,} characters: line breaks were put back "
                f"before headings, rules, tables, lists and labels ({text.count(chr(10)) + 1} "
                "lines). Check code blocks, whose own line breaks cannot be recovered.",
            )
        )
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        fixed = fix_encoding(line)
        fence = ESCAPED_FENCE.match(fixed)
        if fence:
            unescaped = fence[1] + fence[2].replace("\\", "") + fence[3]
            repairs.append(Repair(number, "code fence", fixed.strip(), unescaped.strip()))
            fixed = unescaped
        if fixed != line and not fence:
            repairs.append(Repair(number, "encoding", _excerpt(line, fixed), _excerpt(fixed, line)))
        lines[number - 1] = fixed
    return "\n".join(lines), repairs


def fix_encoding(line: str) -> str:
    fixed = ftfy.fix_text(line, FTFY)
    return NON_ASCII_RUN.sub(_mac_roman, fixed)


def _mac_roman(match: re.Match[str]) -> str:
    run = match.group(0)
    try:
        decoded = run.encode("mac_roman").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return run
    return decoded if len(decoded) < len(run) else run


def _excerpt(line: str, other: str) -> str:
    """The part of `line` that differs from `other`, with a little context."""
    start = 0
    while start < min(len(line), len(other)) and line[start] == other[start]:
        start += 1
    end_line, end_other = len(line), len(other)
    while end_line > start and end_other > start and line[end_line - 1] == other[end_other - 1]:
        end_line -= 1
        end_other -= 1
    return line[max(0, start - 10) : min(len(line), end_line + 10)].strip()


# Lost line breaks.


def looks_flattened(text: str) -> bool:
    """Long text with hardly a line break but Markdown structure inside it."""
    lines = text.strip().split("\n")
    longest = max((len(line) for line in lines), default=0)
    markers = len(re.findall(r" #{1,6} \S| \| ?-{3,}| --- ", text))
    return longest > 2000 and len(lines) < 10 and markers >= 3


FENCE_IN_LINE = re.compile(r"(```|~~~)")


def reflow(text: str) -> str:
    """Put line breaks back into a flattened document, leaving code spans between fences on
    lines of their own."""
    parts = FENCE_IN_LINE.split(text)
    out: list[str] = []
    in_code = False
    for part in parts:
        if part in ("```", "~~~"):
            out.append(f"\n{part}" if not in_code else f"\n{part}\n")
            in_code = not in_code
            continue
        if in_code:
            language, _, code = part.partition(" ") if not part.startswith(" ") else ("", "", part)
            out.append(f"{language}\n{code.strip()}")
        else:
            out.append(_reflow_prose(part))
    return re.sub(r"\n{3,}", "\n\n", "".join(out)).strip() + "\n"


HEADING_IN_LINE = re.compile(r"(?:^|\s)(#{1,6}) (?=[^\s|])")
NEXT_HEADING = re.compile(r"\s#{1,6} (?=[^\s|])")
RULE_IN_LINE = re.compile(r"\s+---\s+")
LABEL_IN_LINE = re.compile(r"(?<!\d\.)(?<![-\n])\s+(?=\*\*[A-Z][^*]{0,60}\*\*:?\s)")
BULLET_IN_LINE = re.compile(r"\s+(?=- (?:\[[ xX]\] |\*\*|[A-Z0-9\[✅❌⏳📅⚠🔄📋]))")
NUMBERED_IN_LINE = re.compile(r"\s+(?=\d{1,2}\. (?:\*\*|[A-Z✅❌⏳📅]))")
TABLE_SEPARATOR = re.compile(r"\|(?:\s*:?-{3,}:?\s*\|)+")
STRUCTURE = re.compile(r"\s(?:- |\| |\*\*|\d{1,2}\. )")


def _reflow_prose(text: str) -> str:
    text = RULE_IN_LINE.sub("\n\n---\n\n", text)
    text = _reflow_tables(text)
    text = "\n".join(
        line if line.startswith("|") else _reflow_headings(line) for line in text.split("\n")
    )
    lines = []
    for line in text.split("\n"):
        if line.startswith("|"):
            lines.append(line)
            continue
        line = BULLET_IN_LINE.sub("\n", line)
        line = NUMBERED_IN_LINE.sub("\n", line)
        line = LABEL_IN_LINE.sub("\n", line)
        lines.append(line)
    return "\n".join(lines)


def _reflow_headings(text: str) -> str:
    """`## Summary Brief description…`: the heading ends where structure starts, or after a
    short run of capitalised words."""
    out: list[str] = []
    position = 0
    for match in HEADING_IN_LINE.finditer(text):
        start = match.start(1)
        if start < position:
            continue
        out.append(text[position:start].rstrip())
        rest = text[match.end() :]
        stops = [m.start() for m in (STRUCTURE.search(rest), NEXT_HEADING.search(rest)) if m]
        candidate = rest[: min(stops)] if stops else rest
        candidate = candidate[: len(_heading_words(candidate))]
        heading = f"{match.group(1)} {candidate.strip()}"
        out.append(f"\n\n{heading}\n\n")
        position = match.end() + len(candidate)
    out.append(text[position:])
    return "".join(out)


def _heading_words(candidate: str) -> str:
    """The words of a heading at the start of `candidate`: a known heading if one starts it
    ("Summary" of "Summary Brief one-paragraph…"), else a short run of capitalised words."""
    words = candidate.split()
    if len(words) <= 6 and all(_title_word(word, n) for n, word in enumerate(words)):
        return candidate.rstrip()
    lowered = " ".join(candidate.lower().replace("-", " ").split())
    for known in KNOWN_HEADINGS:
        if lowered.startswith(known) and (len(lowered) == len(known) or lowered[len(known)] == " "):
            taken = " ".join(words[: len(known.split())])
            rest = candidate.split(taken, 1)[1] if taken in candidate else ""
            # Keep a parenthesis that belongs to the heading: "Short-term Fix (Immediate)".
            extra = re.match(r"\s*\([^()]{1,40}\)", rest)
            return taken + (extra.group(0) if extra else "")
    if len(words) <= 8:
        return candidate
    count = 0
    while count < 8 and _title_word(words[count], count):
        count += 1
    return " ".join(words[: max(count, 1)])


def _title_word(word: str, index: int) -> bool:
    small = {"a", "an", "and", "of", "the", "to", "for", "in", "on", "by", "vs", "&", "-"}
    return bool(word) and (word[0].isupper() or word[0] in "(/" or (index > 0 and word in small))


def _reflow_tables(text: str) -> str:
    """A flattened table is a header row, a separator row and data rows, all on one line; the
    separator tells how many cells a row has."""
    out: list[str] = []
    position = 0
    for separator in TABLE_SEPARATOR.finditer(text):
        if separator.start() < position:
            continue
        columns = separator.group(0).count("|") - 1
        header_start = _row_start(text, separator.start(), columns)
        if header_start is None:
            continue
        out.append(text[position:header_start].rstrip() + "\n\n")
        out.append(text[header_start : separator.start()].strip() + "\n")
        out.append(separator.group(0) + "\n")
        cursor = separator.end()
        while True:
            row_end = _row_end(text, cursor, columns)
            if row_end is None:
                break
            out.append(text[cursor:row_end].strip() + "\n")
            cursor = row_end
        out.append("\n")
        position = cursor
    out.append(text[position:])
    return "".join(out)


def _row_start(text: str, before: int, columns: int) -> int | None:
    """Where the header row that ends just before `before` starts."""
    pipes, index = 0, before - 1
    while index >= 0:
        if text[index] == "|":
            pipes += 1
            if pipes == columns + 1:
                return index
        index -= 1
    return None


def _row_end(text: str, start: int, columns: int) -> int | None:
    """Where the data row starting at `start` ends, if one starts there."""
    stripped = text[start:].lstrip()
    if not stripped.startswith("|"):
        return None
    index = start + (len(text[start:]) - len(stripped))
    pipes = 0
    while index < len(text):
        if text[index] == "|" and text[index - 1] != "\\":
            pipes += 1
            if pipes == columns + 1:
                return index + 1
        index += 1
    return None
