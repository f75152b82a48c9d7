"""The document page: declaring an incident, its page, starting its postmortem, exporting it."""

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from incidents.http import AuthenticatedRequest
from incidents.services import get_incident_for, possible_duplicates

from ..document import Document
from ..export import export_filename, export_markdown
from ..forms import NewIncidentForm, StartPostmortemForm
from ..services import get_document_for, get_postmortem_for, start_postmortem


@require_GET
def incident_detail(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    """The document page. Lists show their first rows (the rest load as they scroll into
    view); ?all=1 shows every row, for printing."""
    rows = Document.ALL_ROWS if request.GET.get("all") else ...
    document = Document(get_document_for(request.user, reference), request.user, rows=rows)
    document.read_bodies()
    return render(
        request,
        "incidents/detail.html",
        {
            "incident": document.incident,
            "document": document,
            "start_form": None if document.postmortem else StartPostmortemForm(),
            "presence_poll_seconds": settings.PRESENCE_POLL_SECONDS,
        },
    )


@require_GET
def toc(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    """The table of contents' list, asked for again after a save or a comment: the same
    counts the page reads (one incident query), no section bodies."""
    document = Document(get_document_for(request.user, reference), request.user)
    if document.postmortem is None:
        raise Http404("This incident has no postmortem yet.")
    context = {"incident": document.incident, "document": document}
    return render(request, "postmortems/partials/toc_list.html", context)


@require_http_methods(["GET", "POST"])
def incident_create(request: AuthenticatedRequest) -> HttpResponse:
    """Declare an incident. One that looks like a recent one of the team comes back first with
    a warning naming it (409), and is declared once "Create anyway" is ticked."""
    form = NewIncidentForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        duplicates = possible_duplicates(data["team"], data["title"], data["started_at"])
        if duplicates and not data["create_anyway"]:
            context = {"form": form, "duplicates": duplicates}
            return render(request, "incidents/form.html", context, status=409)
        with transaction.atomic():
            incident = form.save(commit=False)
            incident.created_by = request.user
            incident.save()
            form.save_m2m()
            start_postmortem(incident, form.cleaned_data["template"], by=request.user)
        return redirect(incident)
    status = 422 if form.is_bound else 200
    return render(request, "incidents/form.html", {"form": form}, status=status)


@require_POST
def start(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    incident = get_incident_for(request.user, reference, edit=True)
    form = StartPostmortemForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "incidents/detail.html",
            {
                "incident": incident,
                "document": Document(incident, request.user),
                "start_form": form,
                "presence_poll_seconds": settings.PRESENCE_POLL_SECONDS,
            },
            status=422,
        )
    start_postmortem(incident, form.cleaned_data["template"], by=request.user)
    return redirect(incident)


@require_GET
def export(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    postmortem = get_postmortem_for(request.user, reference, full=True)
    response = HttpResponse(
        export_markdown(postmortem), content_type="text/markdown; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{export_filename(postmortem)}"'
    return response
