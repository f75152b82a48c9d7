"""Team integration settings, "Create ticket" on an action item, the trackers' webhooks."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db.models import ProtectedError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from incidents.http import AuthenticatedRequest, HtmxRequest
from postmortems.services import get_document_for

from . import delivery, services, slack_timeline
from .forms import (
    CreateTicketForm,
    SlackForm,
    SlackImportForm,
    TrackerConnectionForm,
    WebhookEndpointForm,
)
from .models import Delivery, SlackChannel, SlackImportJob, TrackerConnection, WebhookEndpoint
from .trackers import BadSignature, lower_keys

logger = logging.getLogger(__name__)
TEAM_PAGE = "integrations/team.html"


@require_GET
def index(request: AuthenticatedRequest) -> HttpResponse:
    return render(request, "integrations/index.html", {"teams": services.teams_for(request.user)})


def render_team(
    request: AuthenticatedRequest, team: Any, status: int = 200, **extra: Any
) -> HttpResponse:
    """The team's page; a form that failed comes back in `extra`, bound, with its errors."""
    manages = services.can_manage(team, request.user)
    slack = SlackChannel.objects.filter(team=team).first()
    context = {
        "team": team,
        "manages": manages,
        "endpoints": WebhookEndpoint.objects.filter(team=team),
        "deliveries": services.recent_deliveries(team),
        "slack": slack,
        "trackers": TrackerConnection.objects.filter(team=team),
        "endpoint_form": WebhookEndpointForm(),
        "slack_form": SlackForm(),
        "tracker_form": TrackerConnectionForm(),
        **extra,
    }
    return render(request, TEAM_PAGE, context, status=status)


@require_GET
def team_settings(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    return render_team(request, services.get_team_for(request.user, slug))


@require_POST
def endpoint_add(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    team = services.get_team_for(request.user, slug, manage=True)
    form = WebhookEndpointForm(request.POST)
    if not form.is_valid():
        return render_team(request, team, 422, endpoint_form=form)
    endpoint, secret = services.add_endpoint(
        team,
        form.cleaned_data["url"],
        form.cleaned_data["events"],
        form.cleaned_data["description"],
        request.user,
    )
    return render_team(request, team, new_secret=(endpoint, secret))


def _endpoint(request: AuthenticatedRequest, slug: str, pk: int) -> WebhookEndpoint:
    team = services.get_team_for(request.user, slug, manage=True)
    return get_object_or_404(WebhookEndpoint, team=team, pk=pk)


@require_POST
def endpoint_rotate(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, slug, pk)
    secret = services.rotate_secret(endpoint)
    return render_team(request, endpoint.team, new_secret=(endpoint, secret))


@require_POST
def endpoint_toggle(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, slug, pk)
    endpoint.is_active = not endpoint.is_active
    endpoint.save(update_fields=["is_active"])
    state = "sends events again" if endpoint.is_active else "is paused"
    messages.success(request, f"{endpoint.url} {state}.")
    return redirect("integrations:team", slug)


@require_POST
def endpoint_delete(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, slug, pk)
    endpoint.delete()
    messages.success(request, f"Removed {endpoint.url} and its deliveries.")
    return redirect("integrations:team", slug)


@require_POST
def delivery_resend(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    team = services.get_team_for(request.user, slug, manage=True)
    found = get_object_or_404(Delivery.objects.select_related("event"), endpoint__team=team, pk=pk)
    delivery.resend(found)
    messages.success(request, f"Sending {found.event.kind} ({found.event.id}) again.")
    return redirect("integrations:team", slug)


@require_POST
def slack_save(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    team = services.get_team_for(request.user, slug, manage=True)
    form = SlackForm(request.POST)
    if not form.is_valid():
        return render_team(request, team, 422, slack_form=form)
    channel = services.set_slack_url(team, form.cleaned_data["url"])
    messages.success(
        request, "Reminders will be posted to Slack too." if channel else "Slack posting is off."
    )
    return redirect("integrations:team", slug)


@require_POST
def tracker_add(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    team = services.get_team_for(request.user, slug, manage=True)
    form = TrackerConnectionForm(request.POST)
    if not form.is_valid():
        return render_team(request, team, 422, tracker_form=form)
    connection = form.save(commit=False)
    connection.team = team
    connection.save()
    messages.success(request, f"Added {connection}.")
    return redirect("integrations:team", slug)


@require_POST
def tracker_delete(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    team = services.get_team_for(request.user, slug, manage=True)
    connection = get_object_or_404(TrackerConnection, team=team, pk=pk)
    try:
        connection.delete()
        messages.success(request, f"Removed {connection}.")
    except ProtectedError:
        connection.is_active = False
        connection.save(update_fields=["is_active"])
        messages.success(
            request, f"{connection} has tickets linked to action items: it is turned off instead."
        )
    return redirect("integrations:team", slug)


@require_POST
def ticket_create(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    item = services.get_item_for(request.user, pk, edit=True)
    form = CreateTicketForm(request.POST, item=item)
    if not form.is_valid():
        messages.error(request, "Choose one of the team's trackers.")
        return redirect(item)
    try:
        link = services.create_ticket(item, form.cleaned_data["connection"], request.user)
    except services.IntegrationError as error:
        messages.error(request, str(error))
        return redirect(item)
    messages.success(request, f"Created {link.key}; it is linked from this action item.")
    return redirect(item)


@login_not_required
@csrf_exempt
@require_POST
def tracker_webhook(request: HttpRequest, provider: str, public_id: str) -> HttpResponse:
    """Jira, GitHub or Linear telling us a ticket changed; refused unless signed with the
    connection's webhook secret."""
    connection = TrackerConnection.objects.filter(
        provider=provider, public_id=public_id, is_active=True
    ).first()
    if connection is None:
        raise Http404("No such tracker.")
    try:
        changed = services.receive_tracker_webhook(
            connection, request.body, lower_keys(request.headers.items())
        )
    except BadSignature as error:
        logger.warning("tracker webhook %s refused: %s", connection.pk, error)
        return JsonResponse({"detail": "bad signature"}, status=401)
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        return JsonResponse({"detail": "not a payload we understand"}, status=400)
    return JsonResponse({"changed": changed})


# A Slack channel into an incident's timeline.

SLACK_PAGE = "integrations/slack_import.html"
SLACK_PROGRESS = "integrations/partials/slack_progress.html"


@require_http_methods(["GET", "POST"])
def slack_import(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    incident = get_document_for(request.user, reference, edit=True)
    posted = request.method == "POST"
    form = SlackImportForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        initial={"day": slack_timeline.first_day(incident), "zone": "UTC"},
    )
    context: dict[str, Any] = {"incident": incident, "form": form}
    if request.method == "GET":
        return render(request, SLACK_PAGE, context)
    if not form.is_valid():
        return render(request, SLACK_PAGE, context, status=422)
    data = form.cleaned_data
    try:
        job, found = slack_timeline.propose(
            incident, data["source"], day=data["day"] or slack_timeline.first_day(incident),
            zone=data["zone"], channel=data["channel"], by=request.user,
        )  # fmt: skip
    except slack_timeline.SlackRefused as refused:
        form.add_error(None, str(refused))
        return render(request, SLACK_PAGE, context, status=422)
    return render(request, SLACK_PAGE, {**context, "job": job, "preview": found})


def _job(request: AuthenticatedRequest, pk: int) -> SlackImportJob:
    job = get_object_or_404(SlackImportJob.objects.select_related("incident"), pk=pk)
    get_document_for(request.user, job.incident.reference, edit=True)  # 404 for other teams
    if job.created_by_id != request.user.pk:
        raise Http404("This import is someone else's.")
    return job


@require_POST
def slack_import_start(request: HtmxRequest, pk: int) -> HttpResponse:
    job = slack_timeline.start(_job(request, pk))
    if job.status == SlackImportJob.Status.DONE and job.total <= slack_timeline.SYNC_LIMIT:
        messages.success(request, f"{job.done} messages from Slack added to the timeline.")
        url = f"{job.incident.get_absolute_url()}#section-timeline"
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return render(request, SLACK_PAGE if not request.htmx else SLACK_PROGRESS,
                  {"incident": job.incident, "job": job})  # fmt: skip


@require_GET
def slack_import_progress(request: HtmxRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    return render(request, SLACK_PROGRESS if request.htmx else SLACK_PAGE,
                  {"incident": job.incident, "job": job})  # fmt: skip
