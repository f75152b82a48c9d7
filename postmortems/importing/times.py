"""Reading the times people write in incident notes, and turning them into UTC.

    14:02            2:02 PM         [14:02]          14:02:33
    2026-03-02 14:02 2026-03-02T14:02:00Z             14:02 UTC
    14:02 +02:00     14:02 PST       [2:02 PM CET]

A time without a date takes the document's (or the previous line's) date; a time without a
zone takes the zone the user picked for the paste (UTC by default). An abbreviation that
means several zones, or a time that cannot be read, is refused with the reason: a wrong time
is a wrong MTTA, so nothing is guessed.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Abbreviations read as one offset. The ones that name several zones are refused below.
NAMED_OFFSETS: dict[str, tuple[int, str]] = {
    "UTC": (0, "UTC"),
    "GMT": (0, "Greenwich Mean Time"),
    "Z": (0, "UTC"),
    "WET": (0, "Western European Time"),
    "WEST": (60, "Western European Summer Time"),
    "CET": (60, "Central European Time"),
    "CEST": (120, "Central European Summer Time"),
    "EET": (120, "Eastern European Time"),
    "EEST": (180, "Eastern European Summer Time"),
    "MSK": (180, "Moscow Time"),
    "IST": (330, "India Standard Time"),
    "SGT": (480, "Singapore Time"),
    "HKT": (480, "Hong Kong Time"),
    "JST": (540, "Japan Standard Time"),
    "KST": (540, "Korea Standard Time"),
    "AEST": (600, "Australian Eastern Standard Time"),
    "AEDT": (660, "Australian Eastern Daylight Time"),
    "NZST": (720, "New Zealand Standard Time"),
    "NZDT": (780, "New Zealand Daylight Time"),
    "HST": (-600, "Hawaii Standard Time"),
    "AKST": (-540, "Alaska Standard Time"),
    "AKDT": (-480, "Alaska Daylight Time"),
    "PST": (-480, "Pacific Standard Time"),
    "PDT": (-420, "Pacific Daylight Time"),
    "MST": (-420, "Mountain Standard Time"),
    "MDT": (-360, "Mountain Daylight Time"),
    "CDT": (-300, "Central Daylight Time (North America)"),
    "EST": (-300, "Eastern Standard Time"),
    "EDT": (-240, "Eastern Daylight Time"),
}
AMBIGUOUS = {
    "CST": "China Standard Time (UTC+8) or Central Standard Time (UTC-6)",
    "BST": "British Summer Time (UTC+1) or Bangladesh Standard Time (UTC+6)",
    "AST": "Atlantic Standard Time (UTC-4) or Arabia Standard Time (UTC+3)",
    "ADT": "Atlantic Daylight Time (UTC-3) or Arabia Daylight Time (UTC+4)",
    "SST": "Samoa Standard Time (UTC-11) or Singapore Standard Time (UTC+8)",
}

_ZONE_WORD = r"[A-Z]{1,5}"
TIME_PREFIX = re.compile(
    r"""^(?P<open>\[)?\s*
    (?:(?P<date>\d{4}-\d{2}-\d{2})(?:[ T]|,\s*))?
    (?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?
    (?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?)(?![A-Za-z]))?
    (?:\s*(?P<zone>Z(?![A-Za-z])|[+-]\d{2}:?\d{2}(?!\d)|\(?(?:UTC|GMT)[+-]\d{1,2}(?::?\d{2})?\)?|
         \(?"""
    + _ZONE_WORD
    + r"""\)?(?![A-Za-z])))?
    \s*(?(open)\])""",
    re.VERBOSE,
)


class TimeRefused(ValueError):
    """A time that cannot be read or whose zone is ambiguous; the message says why."""


@dataclass(frozen=True)
class ReadTime:
    at: datetime  # in UTC
    original: str  # as written, for the preview ("2:02 PM PST")
    zone_note: str  # how the zone was read ("PST = Pacific Standard Time, UTC-08:00")
    has_date: bool
    length: int  # characters of the input the time used


def zone_named(name: str) -> tzinfo:
    """A zone for the paste-level "times are in" choice: an IANA name or an abbreviation."""
    name = name.strip()
    if not name or name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    if name.upper() in NAMED_OFFSETS:
        minutes, _label = NAMED_OFFSETS[name.upper()]
        return timezone(timedelta(minutes=minutes), name.upper())
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeRefused(f'"{name}" is not a time zone (use a name like Europe/Berlin)') from None


def _offset(text: str) -> tuple[tzinfo | None, str]:
    """The zone a time was written in, with a note for the preview; None: none written."""
    word = text.strip("()").upper()
    if word in AMBIGUOUS:
        raise TimeRefused(
            f"{word} is ambiguous ({AMBIGUOUS[word]}): write an offset such as +08:00"
        )
    if word in ("UTC", "Z", "GMT"):
        return UTC, ""
    if word in NAMED_OFFSETS:
        minutes, label = NAMED_OFFSETS[word]
        zone = timezone(timedelta(minutes=minutes))
        return zone, f"{word} = {label}, UTC{_format_offset(minutes)}"
    match = re.fullmatch(r"(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?", word)
    if match:
        sign = -1 if match[1] == "-" else 1
        minutes = sign * (int(match[2]) * 60 + int(match[3] or 0))
        if abs(minutes) > 14 * 60:
            raise TimeRefused(f"{text} is not a UTC offset")
        return timezone(timedelta(minutes=minutes)), f"UTC{_format_offset(minutes)}"
    raise TimeRefused(f'"{text}" is not a time zone this app knows: write an offset such as +02:00')


def _format_offset(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def read_time(text: str, day: date, zone: tzinfo = UTC) -> ReadTime | None:
    """The time at the start of `text`, in UTC; None when the text does not start with one.

    Raises TimeRefused for a time that starts the text but cannot be true (25:00, 13:00 PM,
    an ambiguous zone)."""
    match = TIME_PREFIX.match(text)
    if not match:
        return None
    zone_text = match["zone"]
    word = (zone_text or "").strip("()")
    if word.isalpha() and word not in NAMED_OFFSETS and word not in AMBIGUOUS and word != "Z":
        # A capitalised word after the time is the event ("14:02 DB team paged"), not a zone.
        match = TIME_PREFIX.match(text[: match.start("zone")].rstrip())
        if not match:
            return None
        zone_text = None
    hour, minute = int(match["hour"]), int(match["minute"])
    second = int(match["second"] or 0)
    ampm = (match["ampm"] or "").replace(".", "").lower()
    original = match.group(0).strip().strip("[]").strip()
    if ampm:
        if not 1 <= hour <= 12:
            raise TimeRefused(f"{original} is not a time: {hour} does not go with {ampm.upper()}")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise TimeRefused(f"{original} is not a time of day")
    if match["date"]:
        try:
            day = date.fromisoformat(match["date"])
        except ValueError:
            raise TimeRefused(f"{match['date']} is not a date") from None
    local_zone: tzinfo | None = zone
    note = ""
    if zone_text:
        local_zone, note = _offset(zone_text)
    elif zone is not UTC:
        note = f"times in {zone}"
    local = datetime(day.year, day.month, day.day, hour, minute, second)
    if isinstance(local_zone, ZoneInfo):
        aware = local.replace(tzinfo=local_zone)
    else:
        aware = local.replace(tzinfo=local_zone or UTC)
    return ReadTime(
        at=aware.astimezone(UTC),
        original=original,
        zone_note=note,
        has_date=bool(match["date"]),
        length=match.end(),
    )


class Clock:
    """Dates a sequence of times: each undated time takes the current day, and a time earlier
    than the one before it is on the next day (an incident across midnight)."""

    def __init__(self, day: date, zone: tzinfo = UTC) -> None:
        self.day = day
        self.zone = zone
        self.previous: datetime | None = None

    def read(self, text: str) -> ReadTime | None:
        found = read_time(text, self.day, self.zone)
        if found is None:
            return None
        if found.has_date:
            match = TIME_PREFIX.match(text)
            assert match is not None
            self.day = date.fromisoformat(match["date"])
        elif self.previous is not None and found.at < self.previous:
            self.day += timedelta(days=1)
            found = read_time(text, self.day, self.zone)
            assert found is not None
        self.previous = found.at
        return found


DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y")


def read_date(text: str) -> date | None:
    """A calendar date as documents write it; None if it is not one. Day/month orders that
    could be read both ways (03/04/2025) are not guessed."""
    value = text.strip().strip("`*_[]").strip()
    value = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", value)
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    match = re.fullmatch(r"(\d{1,2})[./](\d{1,2})[./](\d{4})", value)
    if match:
        first, second = int(match[1]), int(match[2])
        if first > 12 >= second:
            return _safe_date(int(match[3]), second, first)
        if second > 12 >= first:
            return _safe_date(int(match[3]), first, second)
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
