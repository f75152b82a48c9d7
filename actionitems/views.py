from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from .emails import user_from_unsubscribe_token
from .filters import ActionItemFilter
from .forms import EmailPreferenceForm
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
