"""Read a Slack channel's messages into plain records, for the incident timeline.

Two sources, no Django here (the caller decides what becomes a timeline event):

- A Slack export (the zip an admin downloads): ``users.json`` at the top, then one folder per
  channel with one JSON file per day (``incident-42/2026-03-02.json``), each a list of
  messages ``{"ts": "1772460120.000200", "user": "U01", "user_profile": {"real_name": ...,
  "display_name": ...}, "text": "...", "subtype": ...}``.
- Text copied from the channel, either as Slack shows it (a header line "Jane Park  2:02 PM"
  then the message lines; a bare "2:03 PM" line starts the same person's next message) or
  as a log ("[14:02] jane: text", "[2:02 PM] Jane Park: text"). Lines naming a day
  ("Monday, March 2nd", "2026-03-02") move to that day. Copied times are the copier's local
  time: pass its time zone, and every record comes back in UTC.

Every record keeps where it came from (file and ts, or line number) and the problems found in
it, so a preview can show them beside the message instead of refusing the whole import.
"""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import PurePosixPath
from typing import Any, BinaryIO

# Subtypes that say nothing about the incident.
SKIPPED_SUBTYPES = frozenset({"channel_join", "channel_leave", "group_join", "group_leave"})
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_FILES = 20_000
MAX_TEXT_LINES = 200_000


class SlackImportError(ValueError):
    """The input cannot be read at all (not a zip, no messages, too large)."""


@dataclass(frozen=True)
class SlackRecord:
    occurred_at: datetime  # aware, UTC
    author: str  # the name people read: real name, else display name, else handle
    user_id: str  # Slack's id (U0123ABC); empty for copied text
    text: str  # plain text: mentions, channels and links resolved, entities unescaped
    reference: str  # "incident-42/2026-03-02.json ts=1772460120.000200" or "line 12"
    handle: str = ""  # display name / username, for matching accounts
    email: str = ""  # from users.json, when the export has it
    subtype: str = ""  # bot_message, thread_broadcast, ...
    thread_ts: str = ""  # the thread's first message, for replies
    problems: tuple[str, ...] = ()


@dataclass
class SlackImport:
    records: list[SlackRecord]
    problems: list[tuple[str, str]] = field(default_factory=list)  # (where, what): unreadable
    users: dict[str, str] = field(default_factory=dict)  # Slack id -> name
    skipped: int = 0  # joins and leaves


# Slack's markup: <@U123>, <@U123|jane>, <#C123|general>, <!here>, <!subteam^S1|@oncall>,
# <https://example.com|label>, <mailto:a@b.c|a@b.c>.
MARKUP = re.compile(r"<([^<>]+)>")


def _resolve_markup(text: str, users: Mapping[str, str]) -> tuple[str, list[str]]:
    problems: list[str] = []

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            user_id = target[1:]
            name = label or users.get(user_id)
            if name is None:
                problems.append(f"mentions an unknown Slack user {user_id}")
                name = user_id
            return f"@{name}"
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("!"):
            if target.startswith("!subteam^"):
                return label or "@group"
            if target.startswith("!date^"):
                return label or target
            return f"@{target[1:]}"
        if target.startswith("mailto:"):
            return label or target[len("mailto:") :]
        if label and label != target:
            return f"{label} ({target})"
        return target

    resolved = MARKUP.sub(replace, text)
    return html.unescape(resolved), problems


def _utc_from_ts(ts: str) -> datetime:
    seconds, _, fraction = ts.partition(".")
    micro = int((fraction + "000000")[:6]) if fraction else 0
    return datetime.fromtimestamp(int(seconds), tz=UTC).replace(microsecond=micro)


def _names(profile: Mapping[str, Any] | None, fallback: str = "") -> tuple[str, str, str]:
    """(name people read, handle, email) from a Slack profile."""
    profile = profile or {}
    real = str(profile.get("real_name") or "").strip()
    display = str(profile.get("display_name") or "").strip()
    handle = display or str(profile.get("name") or fallback).strip()
    return real or display or handle, handle, str(profile.get("email") or "")


def _read_users(raw: Any) -> dict[str, tuple[str, str, str]]:
    users = {}
    for user in raw if isinstance(raw, list) else []:
        if isinstance(user, dict) and user.get("id"):
            name, handle, email = _names(user.get("profile"), str(user.get("name") or ""))
            users[str(user["id"])] = (
                name or str(user.get("real_name") or user.get("name") or ""),
                handle or str(user.get("name") or ""),
                email,
            )
    return users


def _message_record(
    message: Mapping[str, Any], where: str, users: Mapping[str, tuple[str, str, str]]
) -> SlackRecord | None:
    ts = str(message.get("ts") or "")
    occurred_at = _utc_from_ts(ts)
    problems = []
    user_id = str(message.get("user") or message.get("bot_id") or "")
    known = users.get(user_id)
    name, handle, email = _names(message.get("user_profile"))
    if known:
        name, handle, email = name or known[0], handle or known[1], email or known[2]
    if not name:
        bot = message.get("bot_profile") or {}
        name = str(message.get("username") or bot.get("name") or "")
        handle = handle or name
    if not name:
        if user_id:
            problems.append(f"unknown Slack user {user_id}")
        name = user_id or "unknown"
    mention_names = {uid: (known_user[1] or known_user[0]) for uid, known_user in users.items()}
    text, markup_problems = _resolve_markup(str(message.get("text") or ""), mention_names)
    problems.extend(markup_problems)
    if not text.strip():
        files = [f.get("name") or f.get("title") for f in message.get("files") or []]
        files = [str(f) for f in files if f]
        if files:
            text = "(shared " + ", ".join(files) + ")"
        else:
            attachments = message.get("attachments") or []
            text = " ".join(
                str(a.get("fallback") or a.get("text") or "")
                for a in attachments
                if isinstance(a, dict)
            ).strip()
    if not text.strip():
        problems.append("empty message")
    thread_ts = str(message.get("thread_ts") or "")
    return SlackRecord(
        occurred_at=occurred_at,
        author=name,
        user_id=user_id,
        text=text.strip(),
        reference=f"{where} ts={ts}",
        handle=handle,
        email=email,
        subtype=str(message.get("subtype") or ""),
        thread_ts=thread_ts if thread_ts and thread_ts != ts else "",
        problems=tuple(problems),
    )


DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")


def parse_export(source: bytes | BinaryIO, channel: str | None = None) -> SlackImport:
    """Records of a channel export zip, oldest first. With several channels in the export,
    `channel` picks one (by folder name); otherwise all are read."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError):
        raise SlackImportError("This is not a Slack export (a .zip file).") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_FILES:
            raise SlackImportError(f"The export has more than {MAX_FILES} files.")
        if sum(info.file_size for info in infos) > MAX_UNCOMPRESSED_BYTES:
            raise SlackImportError("The export is too large once unpacked.")
        result = SlackImport(records=[])
        users: dict[str, tuple[str, str, str]] = {}
        names = {PurePosixPath(info.filename) for info in infos if not info.is_dir()}
        users_file = next((n for n in names if n.name == "users.json" and len(n.parts) <= 2), None)
        if users_file is not None:
            try:
                users = _read_users(json.loads(archive.read(str(users_file))))
            except (ValueError, UnicodeDecodeError):
                result.problems.append((str(users_file), "is not valid JSON; names come from "
                                        "the messages"))  # fmt: skip
        day_files = sorted(n for n in names if DAY_FILE.match(n.name) and len(n.parts) >= 2)
        if channel is not None:
            day_files = [n for n in day_files if n.parts[-2] == channel]
        if not day_files:
            raise SlackImportError(
                "No channel messages in this export (expected channel/YYYY-MM-DD.json files)."
            )
        for path in day_files:
            where = "/".join(path.parts[-2:])
            try:
                messages = json.loads(archive.read(str(path)))
            except (ValueError, UnicodeDecodeError):
                result.problems.append((where, "is not valid JSON; skipped"))
                continue
            if not isinstance(messages, list):
                result.problems.append((where, "is not a list of messages; skipped"))
                continue
            for index, message in enumerate(messages):
                if not isinstance(message, dict):
                    result.problems.append((f"{where} #{index + 1}", "is not a message"))
                    continue
                if message.get("subtype") in SKIPPED_SUBTYPES:
                    result.skipped += 1
                    continue
                try:
                    record = _message_record(message, where, users)
                except (ValueError, OverflowError, TypeError):
                    problem = f"has no readable time (ts={message.get('ts')!r})"
                    result.problems.append((f"{where} #{index + 1}", problem))
                    continue
                if record is not None:
                    result.records.append(record)
    result.records.sort(key=lambda r: r.occurred_at)
    result.users = {uid: names[0] for uid, names in users.items()}
    return result


# Copied text.

CLOCK = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?"
HEADER = re.compile(rf"^(?P<name>\S.*?)(?:\s+APP)?\s{{2,}}\[?{CLOCK}\]?$")
NAME_THEN_TIME = re.compile(rf"^(?P<name>\S.*?)(?:\s+APP)?\s+\[{CLOCK}\]$")
BARE_TIME = re.compile(rf"^\[?{CLOCK}\]?$")
LOG_LINE = re.compile(
    rf"^\[(?:(?P<date>\d{{4}}-\d{{2}}-\d{{2}})[ T])?{CLOCK}\]\s*"
    r"(?P<name>[^:]{1,80}?):\s?(?P<text>.*)$"
)
MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}  # fmt: skip
WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
# Separators around a day line: hyphens, en and em dashes, spaces.
DASHES = "[-\u2013\u2014\\s]"
DATE_LINE = re.compile(
    rf"^{DASHES}*(?:{WEEKDAY},?\s+)?(?P<month>[a-z]+)\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?"
    rf"(?:,?\s+(?P<year>\d{{4}}))?{DASHES}*$",
    re.IGNORECASE,
)
ISO_DATE_LINE = re.compile(rf"^{DASHES}*(?P<iso>\d{{4}}-\d{{2}}-\d{{2}}){DASHES}*$")
RELATIVE_DAY = re.compile(rf"^{DASHES}*(today|yesterday){DASHES}*$", re.IGNORECASE)


def _clock(match: re.Match[str]) -> time | None:
    hour, minute = int(match["hour"]), int(match["minute"])
    second = int(match["second"] or 0)
    ampm = (match["ampm"] or "").lower().replace(".", "")
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def _date_line(line: str, year: int) -> date | None:
    iso = ISO_DATE_LINE.match(line)
    if iso:
        try:
            return date.fromisoformat(iso["iso"])
        except ValueError:
            return None
    match = DATE_LINE.match(line)
    if not match or match["month"].lower() not in MONTHS:
        return None
    try:
        return date(int(match["year"] or year), MONTHS[match["month"].lower()], int(match["day"]))
    except ValueError:
        return None


@dataclass
class _Draft:
    line: int
    author: str
    local: datetime
    lines: list[str]
    problems: list[str]


def parse_text(text: str, day: date, tz: tzinfo = UTC) -> SlackImport:
    """Records of text copied from a channel. `day` is the date of the first message (until a
    line names another day), `tz` the time zone the copied times are in."""
    lines = text.splitlines()
    if len(lines) > MAX_TEXT_LINES:
        raise SlackImportError(f"Paste at most {MAX_TEXT_LINES} lines at a time.")
    result = SlackImport(records=[])
    drafts: list[_Draft] = []
    current_day, previous, author = day, None, ""
    day_named = False  # a date line since the last message: no midnight roll-over guess

    def start(number: int, name: str, clock: time | None, first_text: str = "") -> None:
        nonlocal current_day, previous, author, day_named
        if clock is None:
            result.problems.append((f"line {number}", "has a time that is not a time of day"))
            return
        local = datetime.combine(current_day, clock, tzinfo=tz)
        if previous is not None and local < previous and not day_named:
            current_day += timedelta(days=1)  # past midnight
            local = datetime.combine(current_day, clock, tzinfo=tz)
        previous, author, day_named = local, name, False
        drafts.append(_Draft(number, name, local, [first_text] if first_text else [], []))

    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        log = LOG_LINE.match(line)
        if log:
            if log["date"]:
                try:
                    current_day, day_named = date.fromisoformat(log["date"]), True
                except ValueError:
                    result.problems.append((f"line {number}", f"{log['date']} is not a date"))
                    continue
            start(number, log["name"].strip(), _clock(log), log["text"].strip())
            continue
        header = HEADER.match(line) or NAME_THEN_TIME.match(line)
        if header and not BARE_TIME.match(line):
            start(number, header["name"].strip(), _clock(header))
            continue
        bare = BARE_TIME.match(line)
        if bare and author:
            start(number, author, _clock(bare))
            continue
        named_day = _date_line(line, current_day.year)
        if named_day is not None:
            current_day, day_named = named_day, True
            continue
        if RELATIVE_DAY.match(line):
            result.problems.append(
                (f"line {number}", f'"{line}" names no date; the messages keep the day given')
            )
            continue
        if not drafts:
            result.problems.append((f"line {number}", "comes before any author and time; skipped"))
            continue
        drafts[-1].lines.append(line)

    for draft in drafts:
        body = "\n".join(draft.lines).strip()
        text_resolved, problems = _resolve_markup(body, {})
        if not text_resolved:
            problems.append("empty message")
        result.records.append(
            SlackRecord(
                occurred_at=draft.local.astimezone(UTC),
                author=draft.author,
                user_id="",
                text=text_resolved,
                reference=f"line {draft.line}",
                handle=draft.author,
                problems=tuple(draft.problems + problems),
            )
        )
    if not result.records:
        raise SlackImportError(
            'No messages found: expected lines like "Jane Park  2:02 PM" or "[14:02] jane: text".'
        )
    return result


def parse(
    source: bytes, *, day: date | None = None, tz: tzinfo = UTC, channel: str | None = None
) -> SlackImport:
    """An export zip or copied text, told apart by the zip's signature."""
    if source[:4] == b"PK\x03\x04":
        return parse_export(source, channel=channel)
    if day is None:
        raise SlackImportError("Copied text needs the day of its first message.")
    return parse_text(source.decode("utf-8", errors="replace"), day, tz)


def authors(records: Iterable[SlackRecord]) -> dict[str, tuple[str, str, str]]:
    """Each author once, {key: (name, handle, email)}, for mapping them to accounts; the key
    is the Slack id, or the name for copied text."""
    found: dict[str, tuple[str, str, str]] = {}
    for record in records:
        found.setdefault(record.user_id or record.author, (record.author, record.handle,
                                                           record.email))  # fmt: skip
    return found
