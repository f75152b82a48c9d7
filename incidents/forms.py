from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, User
from django.db.models import QuerySet

from . import utctime
from .models import TIME_FIELDS, Incident, Service, Team


class UTCDateTimeInput(forms.TextInput):
    """A date-time typed in UTC on a 24-hour clock, with "UTC" beside it. Not the browser's
    datetime-local, which shows the reader's locale (2:30 PM) under a label that says UTC."""

    template_name = "incidents/widgets/utc_datetime.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        defaults = {
            "placeholder": utctime.PLACEHOLDER,
            "pattern": utctime.HTML_PATTERN,
            "autocomplete": "off",
            "spellcheck": "false",
            "size": 17,
            "title": utctime.HELP,
            "class": "utc-datetime",
        }
        super().__init__(attrs={**defaults, **(attrs or {})})

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, datetime):
            return utctime.format_utc(value)
        formatted: str | None = super().format_value(value)  # the stubs say Any
        return formatted


class UTCDateTimeField(forms.DateTimeField):
    """Reads what UTCDateTimeInput sends: "2026-11-29 14:30", "2026-11-29T14:30", seconds and
    a trailing Z/UTC optional. Anything else is refused with the format, never guessed."""

    widget = UTCDateTimeInput

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value
        try:
            return utctime.parse_utc(str(value))
        except utctime.NotAUtcTime as refused:
            raise forms.ValidationError(str(refused), code="invalid") from None

    def prepare_value(self, value: Any) -> Any:
        # Shown in UTC whatever the active time zone: the label says UTC.
        return value


def person_label(user: AbstractBaseUser) -> str:
    """How a person is offered in a picker: "Sarah Chen (sarah)", the username alone if
    that is all there is. Full names tell people apart; the username is what @mentions use."""
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    username = user.get_username()
    return f"{full_name} ({username})" if full_name else username


class PersonChoiceField(forms.ModelChoiceField[User]):
    """Every picker of a person (commander, owner, reviewer) labels people the same way."""

    def label_from_instance(self, obj: User) -> str:
        return person_label(obj)


class SearchableCheckboxes(forms.CheckboxSelectMultiple):
    """A multi-select as checkboxes with a filter box above them: a native <select multiple>
    needs Ctrl-click and hides what is chosen. static/js/picker.js shows the filter box and
    hides the boxes that do not match; without script every box is simply listed."""

    template_name = "incidents/widgets/searchable_checkboxes.html"
    option_template_name = "django/forms/widgets/checkbox_option.html"
    use_fieldset = True

    def __init__(self, attrs: dict[str, Any] | None = None, noun: str = "options") -> None:
        super().__init__(attrs=attrs)
        self.noun = noun

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        base_id = context["widget"]["attrs"].get("id") or f"id_{name}"
        context["widget"]["list_id"] = f"{base_id}-options"
        context["widget"]["filter_id"] = f"{base_id}-filter"
        context["widget"]["noun"] = self.noun
        return context


# (value, label) pairs a SuggestingInput offers.
Suggestions = Iterable[tuple[str, str]]


class SuggestingInput(forms.TextInput):
    """A text box that offers values already in use (the browser's <datalist>, no script):
    free text stays possible, the usual spelling is one keystroke away."""

    template_name = "incidents/widgets/suggesting_input.html"

    def __init__(
        self,
        suggestions: Suggestions | Callable[[], Suggestions] = (),
        attrs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(attrs=attrs)
        # (value, label) pairs, or a function returning them: read only if the form is shown.
        self.suggestions = suggestions

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        list_id = f"{context['widget']['attrs'].get('id') or name}-suggestions"
        context["widget"]["attrs"]["list"] = list_id
        context["widget"]["list_id"] = list_id
        suggestions = self.suggestions() if callable(self.suggestions) else self.suggestions
        context["widget"]["suggestions"] = list(suggestions)
        return context


def teams_of(user: User) -> QuerySet[Team]:
    return Team.objects.all() if user.is_superuser else Team.objects.filter(memberships__user=user)


class IncidentForm(forms.ModelForm[Incident]):
    # (legend, field names): the form is shown in these groups, in this order. Fields a
    # subclass adds and no group names are shown in the first group.
    fieldsets: list[tuple[str, tuple[str, ...]]] = [
        ("What", ("title", "severity", "status", "external_id")),
        ("When", TIME_FIELDS),
        ("Who", ("team", "commander")),
        ("Impact", ("services",)),
    ]
    # Fields shown apart from the groups (the duplicate warning's confirmation).
    ungrouped: tuple[str, ...] = ()

    class Meta:
        model = Incident
        fields = [
            "title",
            "severity",
            "status",
            "team",
            "commander",
            "services",
            *TIME_FIELDS,
            "external_id",
        ]
        field_classes = {
            "commander": PersonChoiceField,
            **{name: UTCDateTimeField for name in TIME_FIELDS},
        }
        widgets = {"services": SearchableCheckboxes(noun="services")}
        labels = {
            "started_at": "Started (UTC)",
            "detected_at": "Detected (UTC)",
            "acknowledged_at": "Acknowledged (UTC)",
            "mitigated_at": "Mitigated (UTC)",
            "resolved_at": "Resolved (UTC)",
            "all_clear_at": "All clear (UTC)",
        }
        help_texts = {"started_at": "When users were first affected. " + utctime.HELP}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        teams = teams_of(user)
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]
        self.fields["team"].empty_label = None  # type: ignore[attr-defined]
        self.fields["commander"].queryset = (  # type: ignore[attr-defined]
            get_user_model()
            .objects.filter(memberships__team__in=teams)
            .distinct()
            .order_by("first_name", "last_name", "username")
        )
        self.fields["services"].queryset = (  # type: ignore[attr-defined]
            Service.objects.filter(team__in=teams).select_related("team")
        )
        self.fields["services"].required = False
        services = self.fields["services"].queryset  # type: ignore[attr-defined]
        if services.order_by().values("team_id").distinct().count() > 1:
            # Services of several teams: say whose each is.
            self.fields["services"].label_from_instance = (  # type: ignore[attr-defined]
                lambda service: f"{service.name} ({service.team})"
            )

    def grouped_fields(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The bound fields by fieldset, for the template; none is left out."""
        placed = {name for _, names in self.fieldsets for name in names} | set(self.ungrouped)
        extra = [name for name in self.fields if name not in placed]
        groups = []
        for index, (legend, names) in enumerate(self.fieldsets):
            names = (*names, *extra) if index == 0 else names
            groups.append((legend, [self[name] for name in names if name in self.fields]))
        return groups

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        team, services = cleaned.get("team"), cleaned.get("services")
        if team and services:
            foreign = [s.name for s in services if s.team_id != team.pk]
            if foreign:
                self.add_error("services", f"Not services of {team}: {', '.join(foreign)}.")
        return cleaned
