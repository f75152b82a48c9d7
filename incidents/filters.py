import django_filters
from django.db.models import Exists, OuterRef, Q

from .forms import teams_of
from .models import Incident, IncidentService


def user_teams(request):
    return teams_of(request.user)


class IncidentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    severity = django_filters.ChoiceFilter(
        choices=Incident.Severity.choices, empty_label="Any severity"
    )
    status = django_filters.ChoiceFilter(choices=Incident.Status.choices, empty_label="Any status")
    team = django_filters.ModelChoiceFilter(queryset=user_teams, empty_label="All my teams")

    class Meta:
        model = Incident
        fields = ["q", "severity", "status", "team"]

    def search(self, queryset, name, value):
        """Title, affected service or reference (INC-2026-0001)."""
        value = value.strip()
        service_matches = IncidentService.objects.filter(
            incident=OuterRef("pk"), service__name__icontains=value
        )
        by_reference = Incident.objects.with_reference(value.upper()).values("pk")
        return queryset.filter(
            Q(title__icontains=value) | Q(Exists(service_matches)) | Q(pk__in=by_reference)
        )
