from django import forms
from django.contrib.auth import get_user_model

from .models import Incident, Service, Team


class DateTimeLocalInput(forms.DateTimeInput):
    """The browser's date-and-time picker; values are read and shown in UTC."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class SuggestingInput(forms.TextInput):
    """A text box that offers values already in use (the browser's <datalist>, no script):
    free text stays possible, the usual spelling is one keystroke away."""

    template_name = "incidents/widgets/suggesting_input.html"

    def __init__(self, suggestions=(), attrs=None):
        super().__init__(attrs=attrs)
        # (value, label) pairs, or a function returning them: read only if the form is shown.
        self.suggestions = suggestions

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        list_id = f"{context['widget']['attrs'].get('id') or name}-suggestions"
        context["widget"]["attrs"]["list"] = list_id
        context["widget"]["list_id"] = list_id
        suggestions = self.suggestions() if callable(self.suggestions) else self.suggestions
        context["widget"]["suggestions"] = list(suggestions)
        return context


def teams_of(user):
    return Team.objects.all() if user.is_superuser else Team.objects.filter(memberships__user=user)


class IncidentForm(forms.ModelForm):
    class Meta:
        model = Incident
        fields = [
            "title",
            "severity",
            "status",
            "team",
            "commander",
            "services",
            "started_at",
            "detected_at",
            "acknowledged_at",
            "mitigated_at",
            "resolved_at",
            "all_clear_at",
            "external_id",
        ]
        widgets = {
            name: DateTimeLocalInput()
            for name in (
                "started_at",
                "detected_at",
                "acknowledged_at",
                "mitigated_at",
                "resolved_at",
                "all_clear_at",
            )
        }
        labels = {
            "started_at": "Started (UTC)",
            "detected_at": "Detected (UTC)",
            "acknowledged_at": "Acknowledged (UTC)",
            "mitigated_at": "Mitigated (UTC)",
            "resolved_at": "Resolved (UTC)",
            "all_clear_at": "All clear (UTC)",
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        teams = teams_of(user)
        self.fields["team"].queryset = teams
        self.fields["team"].empty_label = None
        self.fields["commander"].queryset = (
            get_user_model()
            .objects.filter(memberships__team__in=teams)
            .distinct()
            .order_by("first_name", "username")
        )
        self.fields["services"].queryset = Service.objects.filter(team__in=teams).select_related(
            "team"
        )
        self.fields["services"].required = False

    def clean(self):
        cleaned = super().clean()
        team, services = cleaned.get("team"), cleaned.get("services")
        if team and services:
            foreign = [s.name for s in services if s.team_id != team.pk]
            if foreign:
                self.add_error("services", f"Not services of {team}: {', '.join(foreign)}.")
        return cleaned
