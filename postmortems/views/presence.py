"""Presence: who else is here, and the sections others changed.

Every open page polls this every few seconds, so it is the most frequent request there is.
It reads the incident (with every section's version) and the presence records, writes the
heartbeat only when it is due, and answers 304 without rendering when the page already shows
the answer: the page sends the ETag of what it shows (hx-headers on the poll element).
"""

import hashlib
import json
import re
from typing import Any

from django.conf import settings
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from incidents.http import AuthenticatedRequest, HtmxRequest
from incidents.services import get_incident_for

from ..document import Document, DocumentSection
from ..editing import EDITABLE_SECTIONS
from ..etags import code_digest
from ..services import get_document_for, get_presence_document_for, leave, touch_presence
from .base import conditional

PRESENCE = "postmortems/partials/presence.html"
TAG = re.compile(r"\d+(?:\.\d+)*")


def _parse(params: QueryDict) -> tuple[list[str], dict[str, str]]:
    editing = [key for key in params.getlist("editing") if key in EDITABLE_SECTIONS]
    seen: dict[str, str] = {}
    for item in params.getlist("seen"):
        key, _, tag = item.partition(":")
        if key in EDITABLE_SECTIONS and TAG.fullmatch(tag):
            seen[key] = tag
    return editing, seen


@require_http_methods(["GET", "POST"])  # POST: pages opened before the poll became a GET
def presence(request: HtmxRequest, reference: str) -> HttpResponse:
    params = request.GET if request.method == "GET" else request.POST
    editing, seen = _parse(params)
    incident = get_presence_document_for(request.user, reference)
    document = Document(incident, request.user)
    others = touch_presence(incident, request.user, editing=editing[0] if editing else "")
    changed = [k for k, tag in seen.items() if document.tag(k) != tag and k not in editing]
    editors: dict[str, list[str]] = {key: [] for key in [*seen, *editing]}
    people: list[dict[str, Any]] = []
    for other in others:
        if other.editing in editors:
            editors[other.editing].append(other.name)
        title = document.section(other.editing).title if other.editing in EDITABLE_SECTIONS else ""
        people.append({"name": other.name, "editing_title": title})
    shown = {
        "people": people,
        "editors": editors,
        "refreshed": {key: document.tag(key) for key in changed},
        "can_edit": document.can_edit,
        "poll": settings.PRESENCE_POLL_SECONDS,
        "code": code_digest(),
    }
    digest = hashlib.sha1(json.dumps(shown, sort_keys=True).encode(), usedforsecurity=False)
    etag = f'"{digest.hexdigest()[:24]}"'

    def respond() -> HttpResponse:
        refreshed: list[DocumentSection] = []
        if changed:  # someone saved: the sections they changed, with all they show
            full = get_document_for(request.user, reference, keys=changed)
            refreshed = [Document(full, request.user).section(key) for key in changed]
        context = {
            "incident": incident,
            "others": people,
            "refreshed": refreshed,
            "editors": editors,
            "poll_seconds": settings.PRESENCE_POLL_SECONDS,
            "if_none_match": json.dumps({"If-None-Match": etag}),
        }
        response = render(request, PRESENCE, context)
        return trigger_client_event(response, "document-changed") if changed else response

    response = conditional(request, etag, respond)
    # The page sends the ETag itself (hx-headers): the browser's cache stays out of it.
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def presence_leave(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    leave(get_incident_for(request.user, reference), request.user)
    return HttpResponse(status=204)
