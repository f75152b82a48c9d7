from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import F
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from .filters import ActionItemFilter
from .models import ActionItem


@require_GET
def action_item_list(request):
    items = (
        ActionItem.objects.visible_to(request.user)
        .select_related("owner", "postmortem__incident__team")
        .order_by(F("due_date").asc(nulls_last=True), "priority", "pk")
    )
    item_filter = ActionItemFilter(request.GET, queryset=items, request=request)
    page = Paginator(item_filter.qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "actionitems/list.html", {"filter": item_filter, "page": page})


@require_GET
def action_item_detail(request, pk):
    item = get_object_or_404(
        ActionItem.objects.visible_to(request.user).select_related(
            "owner", "postmortem__incident__team"
        ),
        pk=pk,
    )
    return render(request, "actionitems/detail.html", {"item": item})
