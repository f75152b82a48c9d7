"""Presence: who else is here, and the sections others changed."""

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from incidents.services import get_incident_for

from ..document import Document
from ..editing import EDITABLE_SECTIONS
from ..models import Revision
from ..services import get_document_for, heartbeat, leave, others_present

PRESENCE = "postmortems/partials/presence.html"


@require_POST
def presence(request, reference):
    incident = get_incident_for(request.user, reference)
    editing = [key for key in request.POST.getlist("editing") if key in EDITABLE_SECTIONS]
    seen = {}
    for item in request.POST.getlist("seen"):
        key, _, version = item.partition(":")
        if key in EDITABLE_SECTIONS and version.isdigit():
            seen[key] = int(version)
    heartbeat(incident, request.user, editing=editing[0] if editing else "")
    others = list(others_present(incident, request.user))
    versions = Revision.objects.current_versions(incident)
    changed = [k for k, v in seen.items() if versions.get(k, 0) > v and k not in editing]
    refreshed = []
    if changed:
        document = Document(get_document_for(request.user, reference), request.user)
        refreshed = [document.section(key) for key in changed]
    editors = {key: [] for key in [*seen, *editing]}
    titles = Document(incident, request.user)
    people = []
    for other in others:
        if other.editing in editors:
            editors[other.editing].append(other.user)
        title = titles.section(other.editing).title if other.editing in EDITABLE_SECTIONS else ""
        people.append({"user": other.user, "editing_title": title})
    response = render(
        request,
        PRESENCE,
        {
            "incident": incident,
            "others": people,
            "refreshed": refreshed,
            "editors": editors,
            "poll_seconds": settings.PRESENCE_POLL_SECONDS,
        },
    )
    return trigger_client_event(response, "document-changed") if refreshed else response


@require_POST
def presence_leave(request, reference):
    leave(get_incident_for(request.user, reference), request.user)
    return HttpResponse(status=204)
