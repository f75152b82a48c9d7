"""Field sections: view, edit, save, history, restore."""

from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from incidents.services import get_incident_for

from ..document import Document
from ..editing import EDITABLE_SECTIONS, FIELD_SECTIONS
from ..forms import BaseVersionForm
from ..models import Revision
from ..services import StaleEdit, get_document_for, restore_revision, save_section
from .base import after_change, conflict_context, diff_lines, editable_for, rebased, render_fragment

VIEW = "postmortems/partials/section_view.html"
FORM = "postmortems/partials/section_form.html"
HISTORY = "postmortems/partials/section_history.html"


@require_http_methods(["GET", "POST"])
def section(request, reference, key):
    editing = request.method == "POST" or bool(request.GET.get("edit"))
    incident = get_document_for(request.user, reference, edit=editing)
    editable = editable_for(incident, key)
    shown = Document(incident, request.user).section(key)
    context = {"section": shown}
    if request.method == "GET":
        if request.GET.get("edit") and editable.kind == "fields":
            form = editable.make_form(
                incident, request.user, version=shown.version, prompt=shown.prompt
            )
            return render_fragment(request, FORM, {**context, "form": form})
        return render_fragment(request, VIEW, context)

    editable = editable_for(incident, key, FIELD_SECTIONS)
    form = editable.make_form(incident, request.user, data=request.POST, prompt=shown.prompt)
    if not form.is_valid():
        return render_fragment(request, FORM, {**context, "form": form}, status=422)
    values = editable.values_from_form(form)
    try:
        save_section(incident, key, values, request.user, form.cleaned_data["version"])
    except StaleEdit as conflict:
        context |= conflict_context(conflict, editable.describe(values))
        form = rebased(form, conflict.current_version)
        return render_fragment(request, FORM, {**context, "form": form}, status=409)
    return after_change(request, reference, key)


@require_GET
def section_history(request, reference, key):
    incident = get_incident_for(request.user, reference)
    editable_for(incident, key)
    revisions = Revision.objects.filter(incident=incident, section=key).select_related("author")
    page = Paginator(revisions, 20).get_page(request.GET.get("page"))
    latest = revisions.first()
    return render_fragment(
        request,
        HISTORY,
        {
            "section": Document(incident, request.user).section(key),
            "page": page,
            "entries": [(r, diff_lines(r.old_text, r.new_text)) for r in page],
            "current_version": latest.version if latest else 0,
            "restorable": EDITABLE_SECTIONS[key].restorable,
        },
    )


@require_POST
def section_restore(request, reference, key, version):
    incident = get_incident_for(request.user, reference, edit=True)
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
    return after_change(request, reference, key)
