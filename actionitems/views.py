from contextlib import suppress
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

if TYPE_CHECKING:
    from django.contrib.auth.models import User

from incidents.http import AuthenticatedRequest, HtmxRequest
from incidents.models import Membership, Team
from postmortems.models import Postmortem, ReviewRequest
from postmortems.services import StaleEdit, get_document_for, save_row
from postmortems.views.base import after_change, editable_for

from .filters import ActionItemFilter
from .forms import (
    ActionItemStatusForm,
    EmailActionForm,
    EmailPreferenceForm,
    TeamFollowUpSettingsForm,
)
from .links import read_unsubscribe_token
from .models import ActionItem, EmailPreference, TeamFollowUpSettings, default_cadence
from .services import (
    ActionInvalid,
    LinkRefused,
    apply_email_action,
    may_mute_overdue,
    open_link,
    stop_emails,
)

EMAIL_ACTION = "actionitems/email_action.html"


@require_GET
def action_item_list(request: AuthenticatedRequest) -> HttpResponse:
    items = (
        ActionItem.objects.visible_to(request.user)
        .select_related("owner", "postmortem__incident__team")
        .order_by(F("due_date").asc(nulls_last=True), "priority", "pk")
    )
    item_filter = ActionItemFilter(request.GET, queryset=items, request=request)
    page = Paginator(item_filter.qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "actionitems/list.html", {"filter": item_filter, "page": page})


@require_GET
def action_item_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(
        ActionItem.objects.visible_to(request.user).select_related(
            "owner", "postmortem__incident__team"
        ),
        pk=pk,
    )
    history = item.email_actions.select_related("actor", "from_owner", "revision")
    return render(request, "actionitems/detail.html", {"item": item, "history": history})


def reminder_hours() -> str:
    start, end = settings.REMINDER_HOURS
    if (start, end) == (0, 24):
        return "at any hour"
    return f"between {start:02d}:00 and {end:02d}:00 local time"


def _teams_with_cadence(user: "User") -> list[tuple[Team, TeamFollowUpSettings, bool]]:
    """The person's teams, how each chases its work, and whether they manage it."""
    rows = []
    memberships = Membership.objects.filter(user=user).select_related("team__follow_up_settings")
    for membership in memberships.order_by("team__name"):
        team = membership.team
        try:
            chosen = team.follow_up_settings
        except TeamFollowUpSettings.DoesNotExist:
            chosen = TeamFollowUpSettings.for_team(team)
        rows.append((team, chosen, membership.role == Membership.Role.MANAGER))
    return rows


@require_http_methods(["GET", "POST"])
def preferences(request: AuthenticatedRequest) -> HttpResponse:
    preference, _ = EmailPreference.objects.get_or_create(user=request.user)
    # Bound on every POST: an all-unchecked form posts nothing, which is still an answer.
    data = request.POST if request.method == "POST" else None
    form = EmailPreferenceForm(
        data, instance=preference, may_mute_overdue=may_mute_overdue(request.user)
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Email settings saved.")
        return redirect("actionitems:preferences")
    teams = _teams_with_cadence(request.user)
    context = {
        "form": form,
        "teams": [(team, chosen.cadence(), managed) for team, chosen, managed in teams],
        "default": default_cadence(),
        "hours": reminder_hours(),
        "draft_hours": int(settings.DRAFT_NUDGE_AFTER.total_seconds() // 3600),
        "manages_a_team": any(managed for _, _, managed in teams),
    }
    status = 422 if request.method == "POST" else 200
    return render(request, "actionitems/preferences.html", context, status=status)


@require_http_methods(["GET", "POST"])
def team_settings(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """A team's cadence: how often, how early, when the managers hear and get the digest."""
    teams = Team.objects.all() if request.user.is_superuser else request.user.teams.all()
    team = get_object_or_404(teams.distinct(), slug=slug)
    if not (request.user.is_superuser or team.is_manager(request.user)):
        raise PermissionDenied(f"Only managers of {team} change how its work is chased.")
    form = TeamFollowUpSettingsForm(
        request.POST if request.method == "POST" else None,
        instance=TeamFollowUpSettings.for_team(team),
    )
    if request.method == "POST" and form.is_valid():
        form.instance.updated_by = request.user
        form.save()
        messages.success(request, f"Follow-up settings of {team} saved.")
        return redirect("actionitems:team_settings", slug=team.slug)
    status = 422 if request.method == "POST" else 200
    context = {"team": team, "form": form, "hours": reminder_hours()}
    return render(request, "actionitems/team_settings.html", context, status=status)


@csrf_exempt
@never_cache
@login_not_required
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The one-click unsubscribe of one kind of email. GET only asks, so that mail scanners
    following links unsubscribe nobody; POST, from the page or from a mail client's
    List-Unsubscribe-Post (RFC 8058: no cookie, no CSRF token; the signed token is the
    credential), unsubscribes."""
    found = read_unsubscribe_token(token)
    person = get_user_model().objects.filter(pk=found[0]).first() if found else None
    if found is None or person is None:
        return render(request, "actionitems/unsubscribe.html", {"invalid": True}, status=400)
    context = {"person": person, "category": found[1]}
    if request.method == "POST":
        if not stop_emails(person, found[1]):
            return render(
                request, "actionitems/unsubscribe.html", {**context, "kept": True}, status=403
            )
        return render(request, "actionitems/unsubscribe.html", {**context, "done": True})
    return render(request, "actionitems/unsubscribe.html", context)


def _refused(request: HttpRequest, refused: LinkRefused) -> HttpResponse:
    context = {"refused": refused, "choices": refused.current_choices()}
    return render(request, EMAIL_ACTION, context, status=refused.status)


@never_cache
@login_not_required
@require_http_methods(["GET", "POST"])
def email_action(request: HttpRequest, token: str) -> HttpResponse:
    """A one-click link from a reminder. GET shows what it will do and asks (mail scanners
    open links too); the page POSTs. No login: the signed link stands for one."""
    if request.method == "GET":
        try:
            offer = open_link(token)
        except LinkRefused as refused:
            return _refused(request, refused)
        initial = {
            "due_date": offer.new_due or max(offer.item.due_date or offer.today, offer.today)
        }
        return render(
            request, EMAIL_ACTION, {"offer": offer, "form": EmailActionForm(initial=initial)}
        )
    form = EmailActionForm(request.POST)
    if form.is_valid():
        try:
            done = apply_email_action(
                token, due_date=form.cleaned_data["due_date"], reason=form.cleaned_data["reason"]
            )
        except LinkRefused as refused:
            return _refused(request, refused)
        except ActionInvalid as invalid:
            for name, message in invalid.errors.items():
                form.add_error(name, message)
        else:
            return render(request, EMAIL_ACTION, {"done": done, "item": done.item})
    try:
        offer = open_link(token)
    except LinkRefused as refused:
        return _refused(request, refused)
    return render(request, EMAIL_ACTION, {"offer": offer, "form": form}, status=422)


@require_POST
def action_item_status(request: HtmxRequest, reference: str, pk: int) -> HttpResponse:
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
def my_work(request: AuthenticatedRequest) -> HttpResponse:
    """What is waiting for me: drafts I write, reviews I owe, action items I own, and for
    managers the items of their teams that no account owns."""
    user = request.user
    # Archived incidents and postmortems are set aside: none of their work is listed here.
    active = {"postmortem__archived_at": None, "postmortem__incident__archived_at": None}
    writing = (
        Postmortem.objects.active()
        .filter(authors=user)
        .exclude(status=Postmortem.Status.PUBLISHED)
        .select_related("incident__team")
        .order_by("incident__resolved_at", "pk")
    )
    to_review = (
        ReviewRequest.objects.filter(
            reviewer=user,
            decision=ReviewRequest.Decision.PENDING,
            postmortem__status=Postmortem.Status.IN_REVIEW,
            **active,
        )
        .select_related("postmortem__incident__team", "requested_by")
        .order_by("requested_at")
    )
    items = (
        ActionItem.objects.filter(owner=user, **active)
        .open()
        .select_related("postmortem__incident")
        .order_by(F("due_date").asc(nulls_last=True), "priority", "pk")
    )
    managed = Membership.objects.filter(user=user, role=Membership.Role.MANAGER).values("team")
    unowned = (
        ActionItem.objects.open()
        .filter(owner__isnull=True, postmortem__incident__team__in=managed, **active)
        .select_related("postmortem__incident__team")
        .order_by(F("due_date").asc(nulls_last=True), "priority", "pk")[:50]
    )
    page = Paginator(items, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "actionitems/my_work.html",
        {
            "writing": writing,
            "to_review": to_review,
            "page": page,
            "unowned": unowned,
            "draft_deadline": timezone.now() - settings.DRAFT_NUDGE_AFTER,
        },
    )
