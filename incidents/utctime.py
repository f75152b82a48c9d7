"""Reading a date-time typed in UTC on a 24-hour clock, the one format every form accepts.

No Django here: the forms wrap it, tests feed it plain strings.
"""

import re
from datetime import UTC, datetime

DISPLAY_FORMAT = "%Y-%m-%d %H:%M"
PLACEHOLDER = "YYYY-MM-DD HH:MM"
# What the browser checks before sending (a hint only: the server parses with UTC_PATTERN).
HTML_PATTERN = (
    r"\s*\d{4}-\d{1,2}-\d{1,2}([Tt]|\s+)\s*\d{1,2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
    r"\s*([Zz]|[Uu][Tt][Cc]|[Gg][Mm][Tt]|\+00:?00)?\s*"
)
HELP = "UTC, 24-hour clock: YYYY-MM-DD HH:MM, e.g. 2026-11-29 14:30."

UTC_PATTERN = re.compile(
    r"""^\s*
    (?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})
    (?:[Tt]|\s+)\s*
    (?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d{1,6})?)?
    \s*(?:Z|UTC|GMT|\+00:?00)?
    \s*$""",
    re.IGNORECASE | re.VERBOSE,
)


class NotAUtcTime(ValueError):
    """The text is not a date and time in the accepted shape; the message says what is."""


def parse_utc(text: str) -> datetime:
    """ "2026-11-29 14:30", "2026-11-29T14:30", optional seconds, optional Z/UTC -> aware UTC.

    A 12-hour time ("2:30 PM") or another zone is refused rather than guessed."""
    match = UTC_PATTERN.match(text or "")
    if match is None:
        raise NotAUtcTime(f"Enter a date and time in UTC as {PLACEHOLDER} (24-hour clock).")
    parts = {name: int(value or 0) for name, value in match.groupdict().items()}
    try:
        return datetime(**parts, tzinfo=UTC)
    except ValueError:
        raise NotAUtcTime(
            f"There is no such date or time: {text.strip()} (use {PLACEHOLDER}, 24-hour clock)."
        ) from None


def format_utc(moment: datetime) -> str:
    """How a stored time is shown in an input: in UTC, to the minute (seconds if it has any)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    if moment.second or moment.microsecond:
        return moment.strftime(DISPLAY_FORMAT + ":%S")
    return moment.strftime(DISPLAY_FORMAT)
