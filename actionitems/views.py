from contextlib import suppress

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from postmortems.models import Postmortem, ReviewRequest
from postmortems.services import StaleEdit, get_document_for, save_row
from postmortems.views.base import after_change, editable_for

from .emails import user_from_unsubscribe_token
from .filters import ActionItemFilter
from .forms import ActionItemStatusForm, EmailPreferenceForm
from .models import ActionItem, EmailPreference


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


@require_http_methods(["GET", "POST"])
def preferences(request):
    preference, _ = EmailPreference.objects.get_or_create(user=request.user)
    # Bound on every POST: an all-unchecked form posts nothing, which is still an answer.
    data = request.POST if request.method == "POST" else None
    form = EmailPreferenceForm(data, instance=preference)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Email settings saved.")
        return redirect("actionitems:preferences")
    return render(request, "actionitems/preferences.html", {"form": form})


@login_not_required
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """The digest's one-click link: a signed token stands for the login it does not need.
    GET only asks, so that mail scanners following links unsubscribe nobody."""
    user = user_from_unsubscribe_token(token)
    if user is None:
        return render(request, "actionitems/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "POST":
        EmailPreference.objects.update_or_create(user=user, defaults={"weekly_digest": False})
        return render(request, "actionitems/unsubscribe.html", {"done": True, "person": user})
    return render(request, "actionitems/unsubscribe.html", {"person": user})


@require_POST
def action_item_status(request, reference, pk):
    """The one-click status change on the document's action item rows."""
    incident = get_document_for(request.user, reference, edit=True)
    editable_for(incident, "action_items")
    form = ActionItemStatusForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Unknown status.")
    with suppress(StaleEdit):  # deleted meanwhile; the refreshed list shows it
        save_row(
            incident,
            "action_items",
            pk,
            {"status": form.cleaned_data["status"]},
            request.user,
            base_version=None,
        )
    return after_change(request, reference, "action_items")


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
        "actionitems/my_work.html",
        {
            "writing": writing,
            "to_review": to_review,
            "page": page,
            "draft_deadline": timezone.now() - settings.DRAFT_NUDGE_AFTER,
        },
    )
