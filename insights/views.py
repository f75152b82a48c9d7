"""Search and the insights dashboard: parse, choose the incidents the person may see through
the shared filters, call one service, render."""

import csv

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from incidents.filters import IncidentFilter
from incidents.http import AuthenticatedRequest, HtmxRequest
from incidents.models import REFERENCE_PATTERN, Incident

from .dashboard import Dashboard, DashboardFilter, build_dashboard
from .forms import SearchForm
from .search import search
from .sql import analytic_queries

RESULTS_PER_PAGE = 10


@require_GET
def search_page(request: HtmxRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    visible = Incident.objects.visible_to(request.user)
    if REFERENCE_PATTERN.match(query.upper()):
        incident = visible.with_reference(query.upper()).first()
        if incident is not None:  # a reference typed in the search box opens the document
            return redirect(incident)
    chosen = IncidentFilter(request.GET, queryset=visible, request=request)
    results = search(query, chosen.qs, request.GET.get("page"), RESULTS_PER_PAGE) if query else None
    context = {"form": form, "filter": chosen, "results": results, "query": query}
    if request.htmx:
        return render(request, "insights/partials/search_results.html", context)
    return render(request, "insights/search.html", context)


def _dashboard_for(request: AuthenticatedRequest) -> tuple[DashboardFilter, Dashboard]:
    chosen = DashboardFilter(
        DashboardFilter.with_defaults(request.GET),
        queryset=Incident.objects.visible_to(request.user),
        request=request,
    )
    with analytic_queries():
        return chosen, build_dashboard(chosen)


@require_GET
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    chosen, board = _dashboard_for(request)
    return render(request, "insights/dashboard.html", {"filter": chosen, "board": board})


@require_GET
def chart_csv(request: AuthenticatedRequest, chart: str) -> HttpResponse:
    """The numbers of one chart, exactly as its table shows them."""
    _chosen, board = _dashboard_for(request)
    table = board.charts.get(chart)
    if table is None:
        raise Http404("No such chart.")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{table.filename}"'
    writer = csv.writer(response)
    writer.writerow(table.header)
    writer.writerows(table.cells)
    return response
