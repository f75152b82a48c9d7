"""Review and sign-off: the panel and each workflow step; the template and the authors."""

from collections.abc import Callable
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from incidents.http import AuthenticatedRequest, HtmxRequest

from ..document import Document
from ..forms import DecisionForm, NoteForm, ReviewerForm, TemplateForm
from ..models import Postmortem
from ..review import (
    TransitionRefused,
    add_reviewer,
    decide,
    join_authors,
    publish,
    remove_reviewer,
    reopen,
    request_review,
    switch_template,
    withdraw,
)
from ..services import get_postmortem_for
from .base import render_fragment

REVIEW = "postmortems/partials/review_panel.html"


def render_review(
    request: HtmxRequest,
    postmortem: Postmortem,
    error: str | None = None,
    status: int = 200,
    forms: dict[str, Any] | None = None,
) -> HttpResponse:
    if not request.htmx and error is None:
        return redirect(f"{postmortem.get_absolute_url()}#review")
    context = {
        "postmortem": postmortem,
        "incident": postmortem.incident,
        "document": Document(postmortem.incident, request.user),
        "error": error,
        **(forms or {}),
    }
    return render_fragment(request, REVIEW, context, status=status)


def review_step(
    request: HtmxRequest,
    postmortem: Postmortem,
    step: Callable[[], object],
    form: django_forms.BaseForm | None = None,
) -> HttpResponse:
    """Run one workflow step; a refusal comes back as the panel with its reason, and with
    the form as the person filled it in (a reviewer's note is not lost to a refused step)."""
    kept = {} if form is None else {f"failed_{form.__class__.__name__}": form}
    if form is not None and not form.is_valid():
        return render_review(request, postmortem, "Check the form.", 422, kept)
    try:
        step()
    except TransitionRefused as refused:
        return render_review(request, postmortem, refused.message, refused.status, kept)
    response = render_review(
        request, get_postmortem_for(request.user, postmortem.incident.reference)
    )
    return trigger_client_event(response, "document-changed") if request.htmx else response


@require_GET
def review_panel(request: HtmxRequest, reference: str) -> HttpResponse:
    return render_review(request, get_postmortem_for(request.user, reference))


@require_POST
def review_transition(request: HtmxRequest, reference: str, action: str) -> HttpResponse:
    postmortem = get_postmortem_for(request.user, reference)
    form = NoteForm(request.POST)
    steps: dict[str, Callable[[Postmortem, User, str], Postmortem]] = {
        "request": request_review,
        "withdraw": withdraw,
        "publish": publish,
        "reopen": reopen,
    }
    if action not in steps:
        raise Http404("No such step.")
    return review_step(
        request,
        postmortem,
        lambda: steps[action](postmortem, request.user, form.cleaned_data["note"]),
        form,
    )


@require_POST
def reviewer_add(request: HtmxRequest, reference: str) -> HttpResponse:
    postmortem = get_postmortem_for(request.user, reference)
    form = ReviewerForm(request.POST)
    return review_step(
        request,
        postmortem,
        lambda: add_reviewer(
            postmortem, form.cleaned_data["reviewer"], form.cleaned_data["role"], request.user
        ),
        form,
    )


@require_POST
def reviewer_remove(request: HtmxRequest, reference: str, pk: int) -> HttpResponse:
    postmortem = get_postmortem_for(request.user, reference)
    review_request = postmortem.review_requests.filter(pk=pk).first()
    if review_request is None:
        raise Http404("No such reviewer.")
    return review_step(request, postmortem, lambda: remove_reviewer(review_request, request.user))


@require_POST
def review_decide(request: HtmxRequest, reference: str, pk: int) -> HttpResponse:
    postmortem = get_postmortem_for(request.user, reference)
    review_request = postmortem.review_requests.filter(pk=pk).first()
    if review_request is None:
        raise Http404("No such review.")
    form = DecisionForm(request.POST)
    return review_step(
        request,
        postmortem,
        lambda: decide(
            review_request, request.user, form.cleaned_data["decision"], form.cleaned_data["note"]
        ),
        form,
    )


@require_POST
def template_switch(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    """Authors and the team's managers switch the template (others get a 403)."""
    postmortem = get_postmortem_for(request.user, reference)
    if not postmortem.incident.can_edit(request.user):
        raise PermissionDenied(f"Only members of {postmortem.incident.team} can change this.")
    form = TemplateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Unknown template.")
        return redirect(postmortem.incident)
    try:
        postmortem = switch_template(postmortem, form.cleaned_data["template"], request.user)
    except TransitionRefused as refused:
        if refused.status == 403:
            raise PermissionDenied(refused.message) from None
        messages.error(request, refused.message)
    else:
        messages.success(request, f"Now in the shape of: {postmortem.get_template_display()}.")
    return redirect(postmortem.incident)


@require_POST
def authors_join(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    postmortem = get_postmortem_for(request.user, reference)
    try:
        join_authors(postmortem, request.user)
    except TransitionRefused as refused:
        raise PermissionDenied(refused.message) from None
    return redirect(postmortem.incident)
