from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .filters import IncidentFilter
from .models import Incident


@require_GET
def incident_list(request):
    incidents = (
        Incident.objects.visible_to(request.user)
        .select_related("team", "commander", "postmortem")
        .annotate(
            # An action item is open until it has a completed_at (a database constraint ties
            # it to the closed statuses), so counting needs nothing from the app above.
            open_action_items=Count(
                "postmortem__action_items",
                filter=Q(postmortem__action_items__completed_at__isnull=True),
            )
        )
        .order_by("-started_at", "-pk")
    )
    incident_filter = IncidentFilter(request.GET, queryset=incidents, request=request)
    page = Paginator(incident_filter.qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "incidents/list.html", {"filter": incident_filter, "page": page})
