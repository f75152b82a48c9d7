"""Rows of a list section: add, view, edit, delete, move; the timeline paste.

A row is shown read-only; its form comes when someone clicks Edit. A saved row whose place in
the list is unchanged comes back alone (the page swaps that row); an added or moved row brings
the list back down to it; a deleted row leaves only the section's new version behind.
"""

import copy
from contextlib import suppress
from typing import Any, cast

from django.contrib.auth.models import User
from django.http import Http404, HttpResponse, HttpResponseBadRequest, QueryDict
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from incidents.http import HtmxRequest
from incidents.models import Incident

from ..document import Document
from ..editing import ROW_SECTIONS, RowForm, RowSection
from ..forms import BaseVersionForm, TimelinePasteForm
from ..importing.parser import NotMarkdown
from ..row_html import render_rows
from ..services import (
    StaleEdit,
    add_row,
    delete_row,
    get_document_for,
    move_row,
    paste_timeline,
    read_paste,
    save_row,
)
from .base import after_change, conflict_context, editable_for, in_place, rebased, render_fragment

ROW_FORM = "postmortems/partials/row_form.html"
ROW_DELETE = "postmortems/partials/row_delete.html"
PASTE = "postmortems/partials/timeline_paste.html"


def row_context(
    request: HtmxRequest,
    incident: Incident,
    key: str,
    row: Any = None,
    form: RowForm | TimelinePasteForm | None = None,
    pk: int | None = None,
    gone: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """What the row fragments need: where the form posts, what Cancel brings back, and the
    element the row is drawn in (a table row, a list item, or a box for a new row)."""
    section = Document(incident, request.user).section(key)
    # Only the sections of rows have row fragments.
    editable, reference = cast(RowSection, section.editable), incident.reference
    pk = pk or (row.pk if row is not None else None)
    existing = row is not None and not gone
    return {
        "section": section,
        "row": row,
        "form": form,
        "gone": gone,
        "row_text": editable.describe_row(row) if row is not None else "",
        "element": editable.row_tag if pk else "div",
        "container_id": f"row-{key}-{pk}" if pk else f"new-form-{key}",
        "action": reverse("postmortems:row", args=[reference, key, pk])
        if existing
        else reverse("postmortems:row_new", args=[reference, key]),
        "cancel_url": reverse("postmortems:row", args=[reference, key, pk])
        if existing
        else reverse("postmortems:section", args=[reference, key]),
        "cancel_target": f"#row-{key}-{pk}" if existing else f"#{section.body_id}",
        # An existing row's form is saved in place of the row; a new one refreshes the list.
        "form_target": f"#row-{key}-{pk}" if existing else f"#{section.body_id}",
        **extra,
    }


def row_in_document(
    request: HtmxRequest, reference: str, key: str, pk: int, edit: bool
) -> tuple[Incident, RowSection, Any]:
    """The document, the row section and the row itself (None if it was deleted)."""
    incident = get_document_for(request.user, reference, edit=edit, keys=())
    editable = editable_for(incident, key, ROW_SECTIONS)
    return incident, editable, editable.row_of(incident, pk)


def new_row_initial(
    editable: RowSection, incident: Incident, user: User, query: QueryDict
) -> dict[str, Any]:
    if editable.key == "related_incidents":  # the "Link" button of a similar incident
        return {"other": query.get("other", "")}
    if editable.key == "timeline":
        last = incident.timeline_events.order_by("-occurred_at").first()
        return {"occurred_at": last.occurred_at if last else incident.started_at}
    if editable.key == "action_items":
        return {"owner": user}
    return {}


@require_http_methods(["GET", "POST"])
def row_new(request: HtmxRequest, reference: str, key: str) -> HttpResponse:
    incident = get_document_for(request.user, reference, edit=True, keys=())
    editable = editable_for(incident, key, ROW_SECTIONS)
    if request.method == "GET":
        initial = new_row_initial(editable, incident, request.user, request.GET)
        form = editable.make_form(incident, request.user, initial=initial)
        return render_fragment(request, ROW_FORM, row_context(request, incident, key, form=form))
    form = editable.make_form(incident, request.user, data=request.POST)
    if not form.is_valid():
        response = render_fragment(
            request, ROW_FORM, row_context(request, incident, key, form=form), status=422
        )
        return in_place(response, f"#new-form-{key}")
    added = add_row(incident, key, editable.values_from_form(form), request.user)
    return after_change(request, reference, key, incident, through=added)


def render_row(request: HtmxRequest, incident: Incident, key: str, row: Any) -> HttpResponse:
    """A row's read-only markup (the same, cached, as in the list)."""
    context = row_context(request, incident, key, row)
    if request.htmx:
        return HttpResponse(render_rows(context["section"], [row]))
    return render_fragment(request, ROW_SECTIONS[key].row_template, context)


@require_http_methods(["GET", "POST"])
def row(request: HtmxRequest, reference: str, key: str, pk: int) -> HttpResponse:
    editing = request.method == "POST" or bool(request.GET.get("edit"))
    incident, editable, current = row_in_document(request, reference, key, pk, editing)
    if request.method == "GET":
        if current is None:
            raise Http404("This row was deleted.")
        if request.GET.get("edit"):
            form = editable.make_form(incident, request.user, row=current)
            return render_fragment(
                request, ROW_FORM, row_context(request, incident, key, current, form)
            )
        return render_row(request, incident, key, current)

    row_id = f"#row-{key}-{pk}"
    if current is None:  # deleted while this person was editing it: offer to add it back
        form = editable.make_form(incident, request.user, data=request.POST)
        context = row_context(request, incident, key, form=form, pk=pk, gone=True)
        response = render_fragment(request, ROW_FORM, context, status=409)
        return in_place(response, row_id)
    place = editable.order_values(current)  # before the form changes the instance
    loaded = copy.copy(current)
    form = editable.make_form(incident, request.user, data=request.POST, row=current)
    if not form.is_valid():
        context = row_context(request, incident, key, loaded, form)
        return in_place(render_fragment(request, ROW_FORM, context, status=422), row_id)
    values = editable.values_from_form(form)
    try:
        saved = save_row(incident, key, pk, values, request.user, form.cleaned_data["version"])
    except StaleEdit as conflict:
        fresh = editable.display_rows(incident).filter(pk=pk).first()
        form = rebased(form, conflict.current_version)
        extra = conflict_context(conflict, editable.describe_values(values))
        context = row_context(
            request, incident, key, fresh, form, pk=pk, gone=fresh is None, **extra
        )
        return in_place(render_fragment(request, ROW_FORM, context, status=409), row_id)
    if editable.order_values(saved) != place:
        return after_change(request, reference, key, incident, through=saved)
    return after_change(request, reference, key, incident, row=saved)


@require_http_methods(["GET", "POST"])
def row_delete(request: HtmxRequest, reference: str, key: str, pk: int) -> HttpResponse:
    incident, _editable, current = row_in_document(request, reference, key, pk, edit=True)
    if request.method == "GET":
        if current is None:
            raise Http404("This row was already deleted.")
        return render_fragment(request, ROW_DELETE, row_context(request, incident, key, current))
    form = BaseVersionForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Missing the version of the row to delete.")
    try:
        delete_row(incident, key, pk, request.user, form.cleaned_data["version"])
    except StaleEdit as conflict:
        if not conflict.gone:  # changed since the confirmation was shown: show it again
            context = row_context(request, incident, key, current, changed=True)
            response = render_fragment(request, ROW_DELETE, context, status=409)
            return in_place(response, f"#row-{key}-{pk}")
    return after_change(request, reference, key, incident, gone=pk)


@require_POST
def row_move(request: HtmxRequest, reference: str, key: str, pk: int) -> HttpResponse:
    incident = get_document_for(request.user, reference, edit=True, keys=())
    editable = editable_for(incident, key, ROW_SECTIONS)
    offsets = {"up": -1, "down": 1}
    if not editable.is_reorderable or request.POST.get("direction") not in offsets:
        return HttpResponseBadRequest("Rows of this section move up or down only.")
    moved = None
    with suppress(StaleEdit):  # the row was deleted meanwhile; the refreshed section shows it
        moved = move_row(incident, key, pk, request.user, offsets[request.POST["direction"]])
    return after_change(request, reference, key, incident, through=moved)


@require_http_methods(["GET", "POST"])
def timeline_paste(request: HtmxRequest, reference: str) -> HttpResponse:
    """Paste notes, see each line accepted (with its time in UTC) or refused (with why),
    then add the accepted ones."""
    incident = get_document_for(request.user, reference, edit=True)
    form = TimelinePasteForm(request.POST if request.method == "POST" else None)
    context = row_context(request, incident, "timeline", form=form)
    if not form.is_bound:
        return render_fragment(request, PASTE, context)
    if not form.is_valid():
        return in_place(render_fragment(request, PASTE, context, status=422), "#paste-form")
    try:
        lines = read_paste(incident, form.cleaned_data["text"], form.cleaned_data["zone"])
    except NotMarkdown as refused:
        form.add_error("text", str(refused))
        return in_place(render_fragment(request, PASTE, context, status=422), "#paste-form")
    accepted = [line.event for line in lines if line.event is not None]
    if request.POST.get("confirm") == "1" and accepted:
        paste_timeline(incident, accepted, request.user)
        return after_change(request, reference, "timeline")
    if not accepted:
        form.add_error("text", "No line could be read as an event: see why under each line.")
    context |= {"lines": lines, "accepted": len(accepted)}
    status = 200 if accepted else 422
    return in_place(render_fragment(request, PASTE, context, status=status), "#paste-form")
