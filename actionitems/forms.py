from typing import Any

from django import forms

from postmortems.forms import limit_text

from .models import ActionItem, EmailPreference, TeamFollowUpSettings, valid_timezones
from .services import REASON_LENGTH

AREAS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe",
         "Indian", "Pacific")  # fmt: skip


def timezone_choices() -> list[tuple[str, Any]]:
    """UTC, then the zones by area (Europe/Berlin...), without the legacy aliases."""
    groups: dict[str, list[tuple[str, str]]] = {area: [] for area in AREAS}
    for name in sorted(valid_timezones()):
        area = name.split("/", 1)[0]
        if area in groups and "/" in name:
            groups[area].append((name, name.replace("_", " ")))
    return [("UTC", "UTC"), *groups.items()]


class EmailPreferenceForm(forms.ModelForm):  # type: ignore[type-arg]
    timezone = forms.ChoiceField(
        label="Your time zone",
        choices=timezone_choices,
        required=False,
        help_text="Reminders arrive during working hours on this clock; times in emails are "
        "shown in UTC and in this zone.",
    )

    class Meta:
        model = EmailPreference
        fields = ["timezone", "overdue_reminders", "nudges", "mentions", "weekly_digest"]
        labels = {
            "weekly_digest": "Send me the weekly digest of my teams' follow-up work",
            "nudges": "Send me heads-ups and nudges",
            "mentions": "Email me when someone @mentions me",
            "overdue_reminders": "Remind me about my overdue action items",
        }

    def __init__(self, *args: Any, may_mute_overdue: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_mute_overdue:
            # Posted or not, the stored value (on) stays: only a manager's setting frees it.
            field = self.fields["overdue_reminders"]
            field.disabled = True
            field.help_text = "Always on: your team's managers keep these on."

    def clean_timezone(self) -> str:
        return self.cleaned_data["timezone"] or "UTC"


class TeamFollowUpSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = TeamFollowUpSettings
        fields = [
            "reminder_cadence",
            "reminder_every_days",
            "heads_up_days",
            "escalate_after_days",
            "digest_weekday",
            "digest_hour",
            "members_may_mute_overdue",
        ]


class EmailActionForm(forms.Form):
    """The confirmation page's form; the service decides whether the date makes sense."""

    due_date = forms.DateField(
        label="New due date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = limit_text(
        forms.CharField(
            label="Reason (optional)", required=False, widget=forms.Textarea(attrs={"rows": 3})
        ),
        REASON_LENGTH,
    )


class ActionItemStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ActionItem.Status.choices)
