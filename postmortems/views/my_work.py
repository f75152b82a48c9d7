"""My work: what is waiting for me."""

from datetime import timedelta

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import F
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from actionitems.models import ActionItem

from ..models import Postmortem, ReviewRequest


@require_GET
def my_work(request):
    """What is waiting for me: drafts I write, reviews I owe, action items I own."""
    user = request.user
    writing = (
        Postmortem.objects.filter(authors=user)
        .exclude(status=Postmortem.Status.PUBLISHED)
        .select_related("incident__team")
        .order_by("incident__resolved_at", "pk")
    )
    to_review = (
        ReviewRequest.objects.filter(
            reviewer=user,
            decision=ReviewRequest.Decision.PENDING,
            postmortem__status=Postmortem.Status.IN_REVIEW,
        )
        .select_related("postmortem__incident__team", "requested_by")
        .order_by("requested_at")
    )
    items = (
        ActionItem.objects.filter(owner=user)
        .open()
        .select_related("postmortem__incident")
        .order_by(F("due_date").asc(nulls_last=True), "priority", "pk")
    )
    page = Paginator(items, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "postmortems/my_work.html",
        {
            "writing": writing,
            "to_review": to_review,
            "page": page,
            "draft_deadline": timezone.now() - timedelta(hours=48),
        },
    )
