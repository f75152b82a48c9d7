"""Starting a postmortem and exporting it."""

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from incidents.services import get_incident_for

from ..document import Document
from ..export import export_filename, export_markdown
from ..forms import StartPostmortemForm
from ..services import get_postmortem_for, start_postmortem


@require_POST
def start(request, reference):
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
def export(request, reference):
    postmortem = get_postmortem_for(request.user, reference)
    response = HttpResponse(
        export_markdown(postmortem), content_type="text/markdown; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{export_filename(postmortem)}"'
    return response
