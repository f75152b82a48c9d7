"""Share links (created and revoked by the team, opened by anyone holding one), the sections
kept internal, and the after-publication checklist. See postmortems/sharing.py for the rules
and docs/design/after-publication.md for who may see what."""

from typing import cast

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from incidents.http import HtmxRequest

from ..document import Document, SharedDocument
from ..forms import ShareLinkForm
from ..models import Postmortem
from ..review import TransitionRefused, set_publication_check
from ..services import document_queryset, get_postmortem_for
from ..sharing import (
    ShareGone,
    ShareRefused,
    create_share_link,
    open_share_link,
    revoke_share_link,
    set_section_internal,
    shared_attachment_links,
)
from .base import render_fragment

SHARE_PANEL = "postmortems/partials/share_panel.html"
SECTION_SHARING = "postmortems/partials/section_sharing.html"
AFTER_PUBLICATION = "postmortems/partials/after_publication.html"


def _team_postmortem(request: HtmxRequest, reference: str) -> Postmortem:
    """The postmortem, if the user is on its team (404 if they may not read it, 403 if they
    may read but not share)."""
    postmortem = get_postmortem_for(request.user, reference)
    if not postmortem.incident.can_edit(request.user):
        raise PermissionDenied(f"Only members of {postmortem.incident.team} can share it.")
    return postmortem


def _render_panel(
    request: HtmxRequest,
    postmortem: Postmortem,
    *,
    form: ShareLinkForm | None = None,
    error: str = "",
    created: object = None,
    status: int = 200,
) -> HttpResponse:
    if not request.htmx and request.method == "POST" and status < 400:
        return redirect(f"{postmortem.get_absolute_url()}#share")
    context = {
        "postmortem": postmortem,
        "incident": postmortem.incident,
        "document": Document(postmortem.incident, request.user),
        "share_form": form or ShareLinkForm(),
        "share_error": error,
        "created_link": created,
    }
    response: HttpResponse = render_fragment(request, SHARE_PANEL, context, status=status)
    return response


@require_http_methods(["GET", "POST"])
def share_links(request: HtmxRequest, reference: str) -> HttpResponse:
    """The share panel; POST makes a new link."""
    postmortem = _team_postmortem(request, reference)
    if request.method == "GET":
        return _render_panel(request, postmortem)
    form = ShareLinkForm(request.POST)
    if not form.is_valid():
        return _render_panel(request, postmortem, form=form, error="Check the form.", status=422)
    try:
        link = create_share_link(
            postmortem,
            by=request.user,
            days=int(form.cleaned_data["days"]),
            label=form.cleaned_data["label"],
        )
    except ShareRefused as refused:
        return _render_panel(
            request, postmortem, form=form, error=refused.message, status=refused.status
        )
    return _render_panel(request, postmortem, created=link)


@require_POST
def share_revoke(request: HtmxRequest, reference: str, pk: int) -> HttpResponse:
    postmortem = _team_postmortem(request, reference)
    link = postmortem.share_links.filter(pk=pk).first()
    if link is None:
        raise Http404("No such link.")
    revoke_share_link(link, by=request.user)
    return _render_panel(request, postmortem)


@require_POST
def section_internal(request: HtmxRequest, reference: str, key: str) -> HttpResponse:
    """Keep a section inside the team (internal=1) or let share links show it (internal=0)."""
    postmortem = _team_postmortem(request, reference)
    try:
        set_section_internal(postmortem, key, request.POST.get("internal") == "1", by=request.user)
    except ShareRefused as refused:
        raise Http404(refused.message) from None
    if not request.htmx:
        return redirect(f"{postmortem.get_absolute_url()}#section-{key}")
    document = Document(postmortem.incident, request.user)
    assert document.postmortem is not None  # the postmortem was just loaded
    document.postmortem.internal_sections = postmortem.internal_sections
    return render(request, SECTION_SHARING, {"section": document.section(key)})


@require_http_methods(["GET", "POST"])
def after_publication(request: HtmxRequest, reference: str) -> HttpResponse:
    """The after-publication checklist; POST ticks or unticks a step people know of."""
    postmortem = get_postmortem_for(request.user, reference)
    error, status = "", 200
    if request.method == "POST":
        if not postmortem.incident.can_edit(request.user):
            raise PermissionDenied(f"Only members of {postmortem.incident.team} can tick it.")
        try:
            set_publication_check(
                postmortem,
                request.POST.get("item", ""),
                request.POST.get("done") == "1",
                by=request.user,
            )
        except TransitionRefused as refused:
            error, status = refused.message, refused.status
        if not request.htmx and not error:
            return redirect(f"{postmortem.get_absolute_url()}#after-publication")
    context = {
        "postmortem": postmortem,
        "incident": postmortem.incident,
        "document": Document(postmortem.incident, request.user),
        "after_error": error,
    }
    response: HttpResponse = render_fragment(request, AFTER_PUBLICATION, context, status=status)
    return trigger_client_event(response, "document-changed") if request.htmx else response


@login_not_required
@require_GET
def shared_postmortem(request: HttpRequest, token: str) -> HttpResponse:
    """The read-only page a share link opens, for anyone holding the link, without login."""
    try:
        link = open_share_link(token)
    except ShareGone as gone:
        response = render(
            request, "postmortems/shared_gone.html", {"reason": gone.reason}, status=410
        )
    else:
        incident = document_queryset(cast(User, AnonymousUser())).get(
            pk=link.postmortem.incident_id
        )
        document = SharedDocument(incident)
        response = render(
            request,
            "postmortems/shared.html",
            {
                "document": document,
                "incident": incident,
                "postmortem": document.postmortem,
                "link": link,
            },
        )
        response.content = shared_attachment_links(response.content.decode(), link, token)
    # Never kept by a browser or a proxy (revoking works at once), never indexed, and the
    # token in the URL is not sent on to the sites the document links to.
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
