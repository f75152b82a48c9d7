from dataclasses import dataclass

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from .filters import IncidentFilter, IncidentListFilter, postmortem_rank, status_rank
from .filters import postmortem_overdue_q as overdue_postmortems
from .http import AuthenticatedRequest
from .models import Incident


@dataclass(frozen=True)
class Column:
    """A heading of the list; `sort` is the key the heading sorts by (None: not sortable)."""

    label: str
    sort: str | None = None
    help: str = ""


COLUMNS = [
    Column("Reference", "reference"),
    Column("Title", "title"),
    Column("Severity", "severity"),
    Column("Status", "status"),
    Column("Team", "team"),
    Column("Started", "started"),
    Column("Duration", "duration", "How long users were affected: start → resolved."),
    Column("Postmortem", "postmortem"),
    Column("Open items", "open_items"),
    Column("Tags"),
]


def summary(incidents: QuerySet[Incident]) -> dict[str, int]:
    """The strip above the list, for the incidents the filters chose: one query.

    An action item is open until it has a completed_at (a database constraint ties it to the
    closed statuses), so this needs nothing from the app above."""
    today = timezone.localdate()
    counts = incidents.aggregate(
        open_incidents=Count("pk", filter=~Q(status=Incident.Status.RESOLVED), distinct=True),
        postmortems_overdue=Count("pk", filter=overdue_postmortems(), distinct=True),
        action_items_overdue=Count(
            "postmortem__action_items",
            filter=Q(
                postmortem__action_items__completed_at__isnull=True,
                postmortem__action_items__due_date__lt=today,
            ),
        ),
    )
    return {name: value or 0 for name, value in counts.items()}


@require_GET
def incident_list(request: AuthenticatedRequest) -> HttpResponse:
    visible = Incident.objects.visible_to(request.user)
    incidents = (
        visible.select_related("team", "commander", "postmortem")
        .prefetch_related("tags")
        .with_milestones("resolved_at")
        .annotate(
            open_action_items=Count(
                "postmortem__action_items",
                filter=Q(postmortem__action_items__completed_at__isnull=True),
            ),
            elapsed=ExpressionWrapper(
                F("resolved_time") - F("started_at"), output_field=DurationField()
            ),
            status_rank=status_rank(),
            postmortem_rank=postmortem_rank(),
        )
        .order_by("-started_at", "-pk")
    )
    incident_filter = IncidentListFilter(request.GET, queryset=incidents, request=request)
    page = Paginator(incident_filter.qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    # The same filters on the bare incidents, so that the counts need no grouping.
    chosen = IncidentFilter(request.GET, queryset=visible, request=request)
    sort = request.GET.get("sort", "") if incident_filter.is_valid() else ""
    return render(
        request,
        "incidents/list.html",
        {
            "filter": incident_filter,
            "page": page,
            "summary": summary(chosen.qs),
            "headings": headings(sort or "-started"),
            "approval_target_days": settings.POSTMORTEM_APPROVAL_TARGET.days,
        },
    )


def headings(sort: str) -> list[dict[str, str | None]]:
    """Each column heading with the sort its link sets (clicking the sorted column again turns
    it around) and its aria-sort state."""
    result = []
    for column in COLUMNS:
        state, next_sort = "none", column.sort
        if column.sort is not None and sort.lstrip("-") == column.sort:
            descending = sort.startswith("-")
            state = "descending" if descending else "ascending"
            next_sort = column.sort if descending else f"-{column.sort}"
        result.append(
            {"label": column.label, "sort": next_sort, "state": state, "help": column.help}
        )
    return result
