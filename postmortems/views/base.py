"""What every document view shares: fragment or page, errors swapped in place, the
section (or the row) as it is after a change, conflicts and diffs, ETags."""

import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast, overload

from django.conf import settings
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django_htmx.http import reswap, retarget, trigger_client_event

from incidents.http import HtmxRequest
from incidents.models import Incident

from ..diffs import diff_lines
from ..document import Document, DocumentSection
from ..editing import EDITABLE_SECTIONS, ROW_SECTIONS, EditForm, FieldSection, RowSection, Section
from ..models import Postmortem
from ..row_html import render_rows
from ..services import StaleEdit, get_document_for

VIEW = "postmortems/partials/section_view.html"
SEEN = "postmortems/partials/seen.html"

__all__ = ["diff_lines"]  # the history and conflict views import it from here

S = TypeVar("S", bound=FieldSection | RowSection)
F = TypeVar("F", bound=EditForm)


def render_fragment(
    request: HtmxRequest, template: str, context: Mapping[str, Any], status: int = 200
) -> HttpResponse:
    """HTMX swaps the fragment in; without JavaScript it is shown inside the page layout."""
    if request.htmx:
        return render(request, template, context, status=status)
    return render(
        request,
        "postmortems/fragment_page.html",
        {**context, "fragment_template": template},
        status=status,
    )


def in_place(response: HttpResponse, target: str) -> HttpResponse:
    """Swap an error response over the form that caused it, not over the whole section."""
    return reswap(retarget(response, target), "outerHTML")


def document_keys(key: str) -> tuple[str, ...]:
    """The sections a fragment of `key` renders: itself and those it shows."""
    return (key, *EDITABLE_SECTIONS[key].depends_on) if key in EDITABLE_SECTIONS else ()


def _targets_row(request: HtmxRequest, key: str) -> int | None:
    """The pk of the row element the request will swap (HX-Target "row-<key>-<pk>")."""
    match = re.fullmatch(rf"row-{re.escape(key)}-(\d+)", request.htmx.target or "")
    return int(match[1]) if match else None


def after_change(
    request: HtmxRequest,
    reference: str,
    key: str,
    incident: Incident | None = None,
    *,
    row: Any = None,
    through: Any = None,
    gone: int | None = None,
    notice: str = "",
) -> HttpResponse:
    """What the page swaps in after a change: the changed row alone when the page asked for
    it (HX-Target is the row) and its place in the list is the same (`row`), nothing for a
    deleted row (`gone`), otherwise the section, its list shown down to `through`. The section's
    version travels along so the presence poll does not send the section again. A plain form
    post goes back to the page."""
    if incident is None:
        incident = get_document_for(request.user, reference, keys=document_keys(key))
    if not request.htmx:
        return redirect(f"{incident.get_absolute_url()}#section-{key}")
    targeted = _targets_row(request, key) if key in ROW_SECTIONS else None
    if targeted is not None and row is None and gone is None and through is None:
        # A one-click change (an action item's status) that named only its row.
        row = ROW_SECTIONS[key].display_rows(incident).filter(pk=targeted).first()
        gone = targeted if row is None else None
    document = Document(incident, request.user, rows_through={key: through} if through else None)
    section = document.section(key)
    if targeted is not None and gone == targeted:
        response = HttpResponse(render_to_string(SEEN, {"section": section, "oob": True}))
    elif targeted is not None and row is not None and row.pk == targeted:
        seen = render_to_string(SEEN, {"section": section, "oob": True})
        response = HttpResponse(render_rows(section, [row]) + seen)
    elif notice:
        response = render(request, VIEW, {"section": section, "notice": notice})
    else:  # rendered once for everyone: the other viewers' polls fetch this same markup
        response = HttpResponse(section.body_html)
        if targeted is not None:  # the page expected a row: the row moved, show the list
            response = in_place(response, f"#{section.body_id}")
    # The review panel's checklist listens for this and refreshes itself.
    return trigger_client_event(response, "document-changed")


@overload
def editable_for(incident: Incident, key: str) -> Section: ...
@overload
def editable_for(incident: Incident, key: str, kinds: Mapping[str, S]) -> S: ...
def editable_for(
    incident: Incident, key: str, kinds: Mapping[str, Section] = EDITABLE_SECTIONS
) -> Section:
    """The declared section, if it exists and this document has what it edits."""
    editable = kinds.get(key)
    if editable is None or (editable.owner == "postmortem" and not _has_postmortem(incident)):
        raise Http404("No such section.")
    return editable


def _has_postmortem(incident: Incident) -> bool:
    try:
        return incident.postmortem is not None
    except Postmortem.DoesNotExist:
        return False


def conflict_context(conflict: StaleEdit, yours: str) -> dict[str, Any]:
    return {
        "conflict": conflict,
        "yours": yours,
        "diff": diff_lines(conflict.current_text, yours),
    }


def rebased(form: F, version: int) -> F:
    """The user's form again, now based on the current version so that saving applies it."""
    # The form was bound to request.POST (a QueryDict); the stubs only know a Mapping.
    data = cast(QueryDict, form.data).copy()
    data["version"] = str(version)
    return type(form)(
        data, instance=form.instance, incident=form.incident, user=form.user, initial=form.initial
    )


def fragment_etag(section: DocumentSection, *extra: object) -> str:
    """A fragment's ETag: the section's state (see DocumentSection.state) and what else the
    request chose (a chunk's place)."""
    digest = hashlib.sha1(
        "|".join([section.state, *map(str, extra)]).encode(), usedforsecurity=False
    )
    return f'"{digest.hexdigest()[:24]}"'


def conditional(
    request: HtmxRequest, etag: str, respond: Callable[[], HttpResponse]
) -> HttpResponse:
    """304 without rendering when the browser holds this ETag; else `respond()` with it."""
    if not request.htmx or request.method != "GET":
        return respond()
    not_modified = get_conditional_response(request, etag=etag)
    response = not_modified if not_modified is not None else respond()
    if response.status_code in (200, 304):
        response["ETag"] = etag
        # Revalidate every time (the page changes under other people's hands); private: only
        # this person's browser keeps it.
        patch_cache_control(response, private=True, no_cache=True)
        patch_vary_headers(response, ("HX-Request",))
    return response


def poll_seconds() -> int:
    return settings.PRESENCE_POLL_SECONDS
