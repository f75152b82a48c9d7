"""How long free text may be, declared once for the whole app (docs/design/security.md).

Every form that takes this text says the limit (help text and a counter) and refuses more
with 422, keeping what was typed; the same limits hold for text that arrives without a form
(an import, a paste, a Slack channel, the API), checked before any of it is saved. The
database columns stay `text`: a limit changes here, never in a migration.

Pure data and one check, no Django: the parsers and the API read the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# A section of the postmortem (Markdown): about 25 printed pages; the longest section of the
# seeds and of real imports is under a tenth of it.
SECTION_TEXT = 50_000
# One row of a list: a timeline event's description or notes, a why's answer, a contributing
# factor, an action item's description, a follow-up's notes.
ROW_TEXT = 10_000
# A comment or reply on a section.
COMMENT = 10_000
# A note with a decision: a review's sign-off note, a reason typed in an email action.
NOTE = 5_000
# Why an action item's date moved or its owner changed, typed on an email's confirmation page.
REASON = 500
# What one paste into the timeline may hold (many lines, each then a row of ROW_TEXT at most).
PASTE = 200_000

# model label -> {field name: limit}. Short one-line fields (titles, names, actors) are
# CharFields whose max_length is the limit; these are the multi-line ones.
TEXT_LIMITS: dict[str, dict[str, int]] = {
    "postmortems.Postmortem": {
        name: SECTION_TEXT
        for name in (
            "executive_summary",
            "impact_summary",
            "root_cause",
            "trigger",
            "why_not_caught",
            "detection_notes",
            "response_notes",
            "resolution_short_term",
            "resolution_long_term",
            "went_well",
            "went_wrong",
            "prevention",
            "lessons_learned",
            "communication_log",
            "supporting_info",
            "acknowledgments",
        )
    },
    "postmortems.AdditionalSection": {"body": SECTION_TEXT},
    "incidents.TimelineEvent": {"description": ROW_TEXT, "notes": ROW_TEXT},
    "postmortems.FiveWhy": {"answer": ROW_TEXT},
    "postmortems.ContributingFactor": {"description": ROW_TEXT},
    "postmortems.FollowUp": {"notes": ROW_TEXT},
    "actionitems.ActionItem": {"description": ROW_TEXT},
    "postmortems.Comment": {"body": COMMENT},
    "postmortems.ReviewRequest": {"note": NOTE},
    "postmortems.ReviewEvent": {"note": NOTE},
    "actionitems.EmailAction": {"reason": REASON},
}


class TextTooLong(ValueError):
    """Text longer than its limit reached a save without a form to say so."""

    def __init__(self, problems: Iterable[tuple[str, int, int]]) -> None:
        self.problems = list(problems)  # (field, limit, length)
        super().__init__(
            "; ".join(
                f"{name.replace('_', ' ')} has {length:,} characters, at most {limit:,}"
                for name, limit, length in self.problems
            )
        )


def limit_of(label: str, field: str) -> int | None:
    return TEXT_LIMITS.get(label, {}).get(field)


def too_long(label: str, values: Mapping[str, object]) -> list[tuple[str, int, int]]:
    """The fields of `values` longer than their limit: (field, limit, length)."""
    limits = TEXT_LIMITS.get(label, {})
    return [
        (name, limit, len(value))
        for name, limit in limits.items()
        if isinstance(value := values.get(name), str) and len(value) > limit
    ]


def help_text(limit: int) -> str:
    return f"Up to {limit:,} characters."
