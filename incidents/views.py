from django.conf import settings
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from actionitems.models import ActionItem
from postmortems.document import Document
from postmortems.forms import StartPostmortemForm
from postmortems.services import get_document_for, start_postmortem

from .filters import IncidentFilter
from .forms import IncidentForm
from .models import Incident


@require_GET
def incident_list(request):
    incidents = (
        Incident.objects.visible_to(request.user)
        .select_related("team", "commander", "postmortem")
        .annotate(
            open_action_items=Count(
                "postmortem__action_items",
                filter=~Q(postmortem__action_items__status__in=ActionItem.CLOSED_STATUSES),
            )
        )
        .order_by("-started_at", "-pk")
    )
    incident_filter = IncidentFilter(request.GET, queryset=incidents, request=request)
    page = Paginator(incident_filter.qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "incidents/list.html", {"filter": incident_filter, "page": page})


@require_GET
def incident_detail(request, reference):
    document = Document(get_document_for(request.user, reference), request.user)
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


def incident_create(request):
    form = IncidentForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            incident = form.save(commit=False)
            incident.created_by = request.user
            incident.save()
            form.save_m2m()
            start_postmortem(incident, form.cleaned_data["template"], by=request.user)
        return redirect(incident)
    status = 422 if form.is_bound else 200
    return render(request, "incidents/form.html", {"form": form}, status=status)
