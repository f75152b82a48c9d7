"""Archiving incidents and postmortems, and deleting a draft postmortem.

Archived ones leave the default lists, search, insights and My work, and stay reachable by
their URL with a banner. Every action is logged on the incident (incidents.Activity)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from incidents.http import AuthenticatedRequest
from incidents.models import ActionRefused, Incident
from incidents.services import get_incident_for, may_delete_postmortem

from ..models import Postmortem


def _refused(
    request: AuthenticatedRequest, incident_url: str, refused: ActionRefused
) -> HttpResponse:
    messages.error(request, str(refused))
    return redirect(incident_url)


def _set_archived(
    request: AuthenticatedRequest, thing: Incident | Postmortem, archived: bool, done: str
) -> HttpResponse:
    try:
        if archived:
            thing.archive(by=request.user)
        else:
            thing.unarchive(by=request.user)
    except ActionRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, done)
    return redirect(thing)


@require_POST
def incident_archive(request: AuthenticatedRequest, reference: str, archived: bool) -> HttpResponse:
    """Team members archive their team's incident (its postmortem goes with it), or bring it
    back (`archived` comes from the URL)."""
    incident = get_incident_for(request.user, reference, edit=True)
    name = incident.reference
    done = (
        f"{name} is archived: it no longer shows in lists."
        if archived
        else (f"{name} is back in the lists.")
    )
    return _set_archived(request, incident, archived, done)


def _postmortem_of(request: AuthenticatedRequest, reference: str) -> Postmortem:
    """The postmortem of an incident the user may change (403/404 otherwise)."""
    incident = get_incident_for(request.user, reference, edit=True)
    postmortem = Postmortem.objects.filter(incident=incident).first()
    if postmortem is None:
        raise Http404("This incident has no postmortem.")
    postmortem.incident = incident
    return postmortem


@require_POST
def postmortem_archive(
    request: AuthenticatedRequest, reference: str, archived: bool
) -> HttpResponse:
    postmortem = _postmortem_of(request, reference)
    done = (
        "The postmortem is archived: it no longer shows in My work."
        if archived
        else ("The postmortem is back in My work.")
    )
    return _set_archived(request, postmortem, archived, done)


@require_http_methods(["GET", "POST"])
def postmortem_delete(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    """A page that says what will be lost and asks to confirm; the POST deletes. Only a draft,
    only by a manager of the incident's team (or a site admin)."""
    postmortem = _postmortem_of(request, reference)
    incident = postmortem.incident
    if not may_delete_postmortem(incident, request.user):
        raise PermissionDenied(f"Only a manager of {incident.team} can delete its postmortem.")
    if request.method == "POST":
        try:
            postmortem.delete_draft(by=request.user)
        except ActionRefused as refused:
            return _refused(request, incident.get_absolute_url(), refused)
        messages.success(request, f"The draft postmortem of {incident.reference} is deleted.")
        return redirect(incident)
    status = 200 if postmortem.is_deletable else 409
    return render(
        request,
        "postmortems/delete_confirm.html",
        {"postmortem": postmortem, "incident": incident},
        status=status,
    )
