from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from .models import Incident, IncidentQuerySet

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def get_incident_for(
    user: User, reference: str, queryset: IncidentQuerySet | None = None, edit: bool = False
) -> Incident:
    """The incident with this reference if the user may see it; 404 otherwise, so that other
    teams cannot even learn which references exist. With edit=True, seeing is not enough:
    a reviewer from another team reads and comments but gets a 403 on a change."""
    queryset = queryset if queryset is not None else Incident.objects.all()
    incident = get_object_or_404(queryset.visible_to(user).with_reference(reference))
    if edit and not incident.can_edit(user):
        raise PermissionDenied(f"Only members of {incident.team} can change this document.")
    return incident
