"""What every document view shares: fragment or page, errors swapped in place, the
section as it is after a change, conflicts and diffs."""

import difflib

from django.http import Http404
from django.shortcuts import redirect, render
from django_htmx.http import reswap, retarget, trigger_client_event

from ..document import Document
from ..editing import EDITABLE_SECTIONS
from ..models import Postmortem
from ..services import get_document_for

VIEW = "postmortems/partials/section_view.html"


def render_fragment(request, template, context, status=200):
    """HTMX swaps the fragment in; without JavaScript it is shown inside the page layout."""
    if request.htmx:
        return render(request, template, context, status=status)
    return render(
        request,
        "postmortems/fragment_page.html",
        {**context, "fragment_template": template},
        status=status,
    )


def in_place(response, target):
    """Swap an error response over the form that caused it, not over the whole section."""
    return reswap(retarget(response, target), "outerHTML")


def after_change(request, reference, key):
    """The section as it now is; a plain form post goes back to the page."""
    incident = get_document_for(request.user, reference)
    if not request.htmx:
        return redirect(f"{incident.get_absolute_url()}#section-{key}")
    section = Document(incident, request.user).section(key)
    # The review panel's checklist listens for this and refreshes itself.
    return trigger_client_event(render(request, VIEW, {"section": section}), "document-changed")


def editable_for(incident, key, kinds=EDITABLE_SECTIONS):
    """The declared section, if it exists and this document has what it edits."""
    editable = kinds.get(key)
    if editable is None or (
        editable.owner == "postmortem" and not Postmortem.objects.filter(incident=incident).exists()
    ):
        raise Http404("No such section.")
    return editable


def diff_lines(old, new):
    """Unified diff lines as (kind, text) for the template, without the file headers."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=2)
    kinds = {"+": "added", "-": "removed", "@": "hunk"}
    return [(kinds.get(line[:1], "same"), line) for line in lines if line[:3] not in ("---", "+++")]


def conflict_context(conflict, yours):
    return {
        "conflict": conflict,
        "yours": yours,
        "diff": diff_lines(conflict.current_text, yours),
    }


def rebased(form, version):
    """The user's form again, now based on the current version so that saving applies it."""
    data = form.data.copy()
    data["version"] = str(version)
    return type(form)(
        data, instance=form.instance, incident=form.incident, user=form.user, initial=form.initial
    )
