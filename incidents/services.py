from __future__ import annotations

import difflib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import Incident, IncidentQuerySet, Team

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


# A new incident is probably one already declared (a second person paged, a double click)
# when its team declared one this recently, starting this close to it, with a title this alike.
DUPLICATE_LOOKBACK = timedelta(days=7)
DUPLICATE_START_WINDOW = timedelta(hours=2)
DUPLICATE_TITLE_SIMILARITY = 0.8


def normalized_title(title: str) -> str:
    """Case and spacing do not make a different title."""
    return " ".join((title or "").casefold().split())


def titles_alike(a: str, b: str) -> bool:
    """The same words (case and whitespace aside), or close enough: "DB pool exhausted" and
    "DB pool exhaustion" are alike, "DB pool exhausted" and "Checkout errors" are not."""
    a, b = normalized_title(a), normalized_title(b)
    if not a or not b:
        return False
    return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= DUPLICATE_TITLE_SIMILARITY


def possible_duplicates(
    team: Team, title: str, started_at: datetime, *, now: datetime | None = None
) -> list[Incident]:
    """Recent incidents of the team that look like the one about to be declared: declared in
    the last DUPLICATE_LOOKBACK, started within DUPLICATE_START_WINDOW of it, title alike.
    Archived incidents count too (someone may have archived the first by mistake)."""
    now = now or timezone.now()
    candidates = (
        Incident.objects.filter(
            team=team,
            created_at__gte=now - DUPLICATE_LOOKBACK,
            started_at__gte=started_at - DUPLICATE_START_WINDOW,
            started_at__lte=started_at + DUPLICATE_START_WINDOW,
        )
        .select_related("team")
        .order_by("-started_at", "-pk")
    )
    return [incident for incident in candidates[:50] if titles_alike(incident.title, title)]


def may_delete_postmortem(incident: Incident, user: Any) -> bool:
    """A draft postmortem is deleted by its team's managers (or a site admin), not by any
    author: the deletion loses everyone's writing."""
    return bool(user.is_superuser or incident.is_managed_by(user))
