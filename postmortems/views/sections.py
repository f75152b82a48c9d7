"""Field sections: view, edit, save, history, restore; a list's rows in chunks."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from incidents.http import HtmxRequest

from ..document import Document
from ..editing import EDITABLE_SECTIONS, FIELD_SECTIONS, ROW_SECTIONS
from ..forms import BaseVersionForm
from ..models import Revision
from ..services import StaleEdit, get_document_for, restore_revision, save_section
from .base import (
    after_change,
    conditional,
    conflict_context,
    diff_lines,
    document_keys,
    editable_for,
    fragment_etag,
    rebased,
    render_fragment,
)

VIEW = "postmortems/partials/section_view.html"
FORM = "postmortems/partials/section_form.html"
HISTORY = "postmortems/partials/section_history.html"
SIMILAR = "postmortems/partials/similar_incidents.html"
CHUNK = "postmortems/partials/rows_chunk.html"


@require_http_methods(["GET", "POST"])
def section(request: HtmxRequest, reference: str, key: str) -> HttpResponse:
    editing = request.method == "POST" or bool(request.GET.get("edit"))
    incident = get_document_for(request.user, reference, edit=editing, keys=document_keys(key))
    editable = editable_for(incident, key)
    show_all = request.method == "GET" and bool(request.GET.get("all"))
    document = Document(incident, request.user, rows=Document.ALL_ROWS if show_all else ...)
    shown = document.section(key)
    context: dict[str, Any] = {"section": shown}
    if request.method == "GET":
        if request.GET.get("edit") and editable.kind == "fields":
            form = editable.make_form(
                incident, request.user, version=shown.version, prompt=shown.prompt
            )
            return render_fragment(request, FORM, {**context, "form": form})

        def respond() -> HttpResponse:
            if request.htmx:  # the cached markup the page shows
                return HttpResponse(shown.body_html)
            return render_fragment(request, VIEW, context)

        return conditional(request, fragment_etag(shown), respond)

    editable = editable_for(incident, key, FIELD_SECTIONS)
    form = editable.make_form(incident, request.user, data=request.POST, prompt=shown.prompt)
    if not form.is_valid():
        return render_fragment(request, FORM, {**context, "form": form}, status=422)
    values = editable.values_from_form(form)
    try:
        revision = save_section(incident, key, values, request.user, form.cleaned_data["version"])
    except StaleEdit as conflict:
        context |= conflict_context(conflict, editable.describe(values))
        form = rebased(form, conflict.current_version)
        return render_fragment(request, FORM, {**context, "form": form}, status=409)
    notice = ""
    if revision is not None and revision.note.startswith("merged with"):
        notice = f"Saved and {revision.note}: both changes are kept."
    return after_change(request, reference, key, incident, notice=notice)


@require_GET
def section_rows(request: HtmxRequest, reference: str, key: str) -> HttpResponse:
    """The rows of a list after a given one (the next chunk, asked for as it scrolls in)."""
    incident = get_document_for(request.user, reference, keys=[key])
    editable = editable_for(incident, key, ROW_SECTIONS)
    try:
        after = editable.values_from_cursor(request.GET.get("after", ""))
    except (ValueError, TypeError, ValidationError):
        return HttpResponseBadRequest("Not a place in this list.")
    document = Document(incident, request.user, rows_after={key: after})
    context = {"section": document.section(key)}
    etag = fragment_etag(context["section"], request.GET["after"])
    return conditional(request, etag, lambda: render_fragment(request, CHUNK, context))


@require_GET
def section_history(request: HtmxRequest, reference: str, key: str) -> HttpResponse:
    incident = get_document_for(request.user, reference, keys=())
    editable_for(incident, key)
    revisions = Revision.objects.filter(incident=incident, section=key).select_related("author")
    page = Paginator(revisions, 20).get_page(request.GET.get("page"))
    document = Document(incident, request.user)
    return render_fragment(
        request,
        HISTORY,
        {
            "section": document.section(key),
            "page": page,
            "entries": [(r, diff_lines(r.old_text, r.new_text)) for r in page],
            "current_version": document.versions.get(key, 0),
            "restorable": EDITABLE_SECTIONS[key].restorable,
        },
    )


@require_POST
def section_restore(request: HtmxRequest, reference: str, key: str, version: int) -> HttpResponse:
    incident = get_document_for(request.user, reference, edit=True, keys=document_keys(key))
    if not editable_for(incident, key).restorable:
        return HttpResponseBadRequest("This section's history cannot be restored.")
    form = BaseVersionForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Missing the version the history was opened at.")
    try:
        restore_revision(incident, key, version, request.user, form.cleaned_data["version"])
    except Revision.DoesNotExist:
        raise Http404("No such revision.") from None
    except StaleEdit:
        response = section_history(request, reference, key)
        response.status_code = 409
        return response
    return after_change(request, reference, key, incident)


@require_GET
def similar(request: HtmxRequest, reference: str) -> HttpResponse:
    """Earlier incidents that look like this one (same service, tag or title words), for the
    authors to link; loaded when the related incidents section scrolls into view."""
    incident = get_document_for(request.user, reference, edit=True)
    section = Document(incident, request.user).section("related_incidents")
    context = {"section": section, "similar": section.document.similar_incidents}
    return render_fragment(request, SIMILAR, context)
