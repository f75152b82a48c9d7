"""When the follow-up engine may write to someone, as pure rules on dates and local times.

No Django here: the sweeps (reminders.py) give each rule the recipient's own date or clock
and a team's cadence, so the rules are tested with plain values. A "period" is the key of
one reminder: the Notification's unique constraint lets one email exist per period, so a
period that changes is a reminder that repeats.
"""

from dataclasses import dataclass
from datetime import date, datetime

DAILY = "daily"
EVERY_N_DAYS = "every_n_days"
WEEKDAYS = "weekdays"

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CRON_DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def weekday_number(value: str | int) -> int:
    """A weekday as Python counts them (Monday 0) from "mon"/"monday" or cron's 0-7 (Sunday
    0 and 7), the forms DIGEST_DAY_OF_WEEK took when it was a crontab field."""
    text = str(value).strip().lower()
    if text.isdigit():
        return (int(text) - 1) % 7
    if text[:3] in CRON_DAYS:
        return CRON_DAYS[text[:3]]
    raise ValueError(f"not a day of the week: {value!r}")


@dataclass(frozen=True)
class Cadence:
    """How one team wants its follow-up work chased (see TeamFollowUpSettings)."""

    reminder: str = DAILY
    every_days: int = 1  # with EVERY_N_DAYS
    heads_up_days: int = 2  # 0: no heads-up
    escalate_after_days: int = 7
    digest_weekday: int = 0  # Monday
    digest_hour: int = 8
    members_may_mute_overdue: bool = False

    def overdue_period(self, due: date, today: date) -> str | None:
        """The overdue reminder owed on `today` (the recipient's date) for an item due on
        `due`, or None when none is owed that day. Due on the 11th, it is one day overdue on
        the 12th: the first reminder comes then."""
        days_late = (today - due).days
        if days_late < 1:
            return None
        if self.reminder == WEEKDAYS:
            return today.isoformat() if today.weekday() < 5 else None
        if self.reminder == EVERY_N_DAYS and self.every_days > 1:
            # The due date is part of the key: a re-planned item starts its cycle again.
            return f"{due.isoformat()}+{self.every_days}n{(days_late - 1) // self.every_days}"
        return today.isoformat()

    def escalates(self, due: date, today: date) -> bool:
        return (today - due).days >= self.escalate_after_days

    def heads_up(self, due: date, today: date) -> bool:
        return self.heads_up_days > 0 and 0 <= (due - today).days <= self.heads_up_days

    def digest_week(self, local_now: datetime) -> str | None:
        """The ISO week whose digest is owed at `local_now`: from the digest's weekday and
        hour on, until the week ends (a sweep that missed the hour catches up); else None."""
        reached = (local_now.weekday(), local_now.hour) >= (self.digest_weekday, self.digest_hour)
        return iso_week(local_now.date()) if reached else None

    def describe_reminders(self) -> str:
        if self.reminder == WEEKDAYS:
            return "every weekday"
        if self.reminder == EVERY_N_DAYS and self.every_days > 1:
            return f"every {self.every_days} days"
        return "every day"

    def describe_digest(self) -> str:
        return f"{WEEKDAY_NAMES[self.digest_weekday]}s at {self.digest_hour:02d}:00"


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def awake(local_now: datetime, hours: tuple[int, int]) -> bool:
    """Within the hours reminders may arrive, on the recipient's clock (8-18: 08:00 to 17:59)."""
    start, end = hours
    return start <= local_now.hour < end


def which_day(day: date, today: date) -> str | None:
    """A meeting or follow-up date as the day-before / on-the-day reminder keys it."""
    offset = (day - today).days
    return {1: "day-before", 0: "on-the-day"}.get(offset)
