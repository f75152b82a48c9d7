from django.shortcuts import get_object_or_404

from .models import Incident


def get_incident_for(user, reference, queryset=None):
    """The incident with this reference if the user may see it; 404 otherwise, so that other
    teams cannot even learn which references exist."""
    queryset = queryset if queryset is not None else Incident.objects.all()
    return get_object_or_404(queryset.visible_to(user).with_reference(reference))
