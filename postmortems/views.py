"""Views of the incident's document.

Every section goes through `section`; every row of every list through `row_new`, `row`,
`row_delete` and `row_move`. What differs between sections is declared in editing.py.
Each view parses, authorizes (get_document_for: 404 outside the user's teams), calls one
service, and renders a fragment: 422 for invalid input and 409 for a stale version, with the
user's text kept in the form either way.
"""

import difflib
from contextlib import suppress
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F, Prefetch
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from actionitems.models import ActionItem
from incidents.services import get_incident_for
from incidents.timeline_paste import PasteError

from .document import Document
from .editing import EDITABLE_SECTIONS, FIELD_SECTIONS, ROW_SECTIONS
from .export import export_filename, export_markdown
from .forms import (
    ActionItemStatusForm,
    BaseVersionForm,
    CommentForm,
    DecisionForm,
    NoteForm,
    ReviewerForm,
    StartPostmortemForm,
    TemplateForm,
    TimelinePasteForm,
)
from .layouts import SECTIONS
from .models import Comment, Postmortem, ReviewRequest, Revision
from .review import (
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
from .services import (
    StaleEdit,
    add_comment,
    add_row,
    delete_row,
    get_document_for,
    get_postmortem_for,
    heartbeat,
    leave,
    move_row,
    others_present,
    paste_timeline,
    restore_revision,
    save_row,
    save_section,
    set_action_item_status,
    set_thread_resolved,
    start_postmortem,
)

VIEW = "postmortems/partials/section_view.html"
FORM = "postmortems/partials/section_form.html"
HISTORY = "postmortems/partials/section_history.html"
ROW_FORM = "postmortems/partials/row_form.html"
ROW_DELETE = "postmortems/partials/row_delete.html"
PASTE = "postmortems/partials/timeline_paste.html"
COMMENTS = "postmortems/partials/comments.html"
PRESENCE = "postmortems/partials/presence.html"
REVIEW = "postmortems/partials/review_panel.html"


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


# Field sections: view, edit, save, history, restore.


@require_http_methods(["GET", "POST"])
def section(request, reference, key):
    editing = request.method == "POST" or bool(request.GET.get("edit"))
    incident = get_document_for(request.user, reference, edit=editing)
    editable = editable_for(incident, key)
    shown = Document(incident, request.user).section(key)
    context = {"section": shown}
    if request.method == "GET":
        if request.GET.get("edit") and editable.kind == "fields":
            form = editable.make_form(
                incident, request.user, version=shown.version, prompt=shown.prompt
            )
            return render_fragment(request, FORM, {**context, "form": form})
        return render_fragment(request, VIEW, context)

    editable = editable_for(incident, key, FIELD_SECTIONS)
    form = editable.make_form(incident, request.user, data=request.POST, prompt=shown.prompt)
    if not form.is_valid():
        return render_fragment(request, FORM, {**context, "form": form}, status=422)
    values = editable.values_from_form(form)
    try:
        save_section(incident, key, values, request.user, form.cleaned_data["version"])
    except StaleEdit as conflict:
        context |= conflict_context(conflict, editable.describe(values))
        form = rebased(form, conflict.current_version)
        return render_fragment(request, FORM, {**context, "form": form}, status=409)
    return after_change(request, reference, key)


@require_GET
def section_history(request, reference, key):
    incident = get_incident_for(request.user, reference)
    editable_for(incident, key)
    revisions = Revision.objects.filter(incident=incident, section=key).select_related("author")
    page = Paginator(revisions, 20).get_page(request.GET.get("page"))
    latest = revisions.first()
    return render_fragment(
        request,
        HISTORY,
        {
            "section": Document(incident, request.user).section(key),
            "page": page,
            "entries": [(r, diff_lines(r.old_text, r.new_text)) for r in page],
            "current_version": latest.version if latest else 0,
            "restorable": EDITABLE_SECTIONS[key].restorable,
        },
    )


@require_POST
def section_restore(request, reference, key, version):
    incident = get_incident_for(request.user, reference, edit=True)
    if not editable_for(incident, key).restorable:
        return HttpResponseBadRequest("This section's history cannot be restored.")
    form = BaseVersionForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Missing the version the history was opened at.")
    try:
        restore_revision(incident, key, version, request.user, form.cleaned_data["version"])
    except Revision.DoesNotExist:
        raise Http404("No such revision.") from None
    except StaleEdit:
        response = section_history(request, reference, key)
        response.status_code = 409
        return response
    return after_change(request, reference, key)


# Rows: add, view, edit, delete, move.


def row_context(request, incident, key, row=None, form=None, pk=None, gone=False, **extra):
    """What the row fragments need: where the form posts, what Cancel brings back, and the
    element the row is drawn in (a table row, a list item, or a box for a new row)."""
    section = Document(incident, request.user).section(key)
    editable, reference = section.editable, incident.reference
    pk = pk or (row.pk if row is not None else None)
    existing = row is not None and not gone
    return {
        "section": section,
        "row": row,
        "form": form,
        "gone": gone,
        "row_text": editable.describe_row(row) if row is not None else "",
        "element": editable.row_tag if pk else "div",
        "container_id": f"row-{key}-{pk}" if pk else f"new-form-{key}",
        "action": reverse("postmortems:row", args=[reference, key, pk])
        if existing
        else reverse("postmortems:row_new", args=[reference, key]),
        "cancel_url": reverse("postmortems:row", args=[reference, key, pk])
        if existing
        else reverse("postmortems:section", args=[reference, key]),
        "cancel_target": f"#row-{key}-{pk}" if existing else f"#{section.body_id}",
        **extra,
    }


def row_in_document(request, reference, key, pk, edit):
    """The document, the row section and the row itself (None if it was deleted)."""
    incident = get_document_for(request.user, reference, edit=edit)
    editable = editable_for(incident, key, ROW_SECTIONS)
    return incident, editable, editable.rows(incident).filter(pk=pk).first()


def new_row_initial(editable, incident, user):
    if editable.key == "timeline":
        last = incident.timeline_events.order_by("-occurred_at").first()
        return {"occurred_at": last.occurred_at if last else incident.started_at}
    if editable.key == "action_items":
        return {"owner": user}
    return {}


@require_http_methods(["GET", "POST"])
def row_new(request, reference, key):
    incident = get_document_for(request.user, reference, edit=True)
    editable = editable_for(incident, key, ROW_SECTIONS)
    if request.method == "GET":
        initial = new_row_initial(editable, incident, request.user)
        form = editable.make_form(incident, request.user, initial=initial)
        return render_fragment(request, ROW_FORM, row_context(request, incident, key, form=form))
    form = editable.make_form(incident, request.user, data=request.POST)
    if not form.is_valid():
        response = render_fragment(
            request, ROW_FORM, row_context(request, incident, key, form=form), status=422
        )
        return in_place(response, f"#new-form-{key}")
    add_row(incident, key, editable.values_from_form(form), request.user)
    return after_change(request, reference, key)


@require_http_methods(["GET", "POST"])
def row(request, reference, key, pk):
    editing = request.method == "POST" or bool(request.GET.get("edit"))
    incident, editable, current = row_in_document(request, reference, key, pk, editing)
    if request.method == "GET":
        if current is None:
            raise Http404("This row was deleted.")
        if request.GET.get("edit"):
            form = editable.make_form(incident, request.user, row=current)
            return render_fragment(
                request, ROW_FORM, row_context(request, incident, key, current, form)
            )
        return render_fragment(
            request, editable.row_template, row_context(request, incident, key, current)
        )

    row_id = f"#row-{key}-{pk}"
    if current is None:  # deleted while this person was editing it: offer to add it back
        form = editable.make_form(incident, request.user, data=request.POST)
        context = row_context(request, incident, key, form=form, pk=pk, gone=True)
        response = render_fragment(request, ROW_FORM, context, status=409)
        return in_place(response, row_id)
    form = editable.make_form(incident, request.user, data=request.POST, row=current)
    if not form.is_valid():
        context = row_context(request, incident, key, current, form)
        return in_place(render_fragment(request, ROW_FORM, context, status=422), row_id)
    values = editable.values_from_form(form)
    try:
        save_row(incident, key, pk, values, request.user, form.cleaned_data["version"])
    except StaleEdit as conflict:
        fresh = editable.rows(incident).filter(pk=pk).first()
        form = rebased(form, conflict.current_version)
        extra = conflict_context(conflict, editable.describe_values(values))
        context = row_context(
            request, incident, key, fresh, form, pk=pk, gone=fresh is None, **extra
        )
        return in_place(render_fragment(request, ROW_FORM, context, status=409), row_id)
    return after_change(request, reference, key)


@require_http_methods(["GET", "POST"])
def row_delete(request, reference, key, pk):
    incident, _editable, current = row_in_document(request, reference, key, pk, edit=True)
    if request.method == "GET":
        if current is None:
            raise Http404("This row was already deleted.")
        return render_fragment(request, ROW_DELETE, row_context(request, incident, key, current))
    form = BaseVersionForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Missing the version of the row to delete.")
    try:
        delete_row(incident, key, pk, request.user, form.cleaned_data["version"])
    except StaleEdit as conflict:
        if not conflict.gone:  # changed since the confirmation was shown: show it again
            context = row_context(request, incident, key, current, changed=True)
            response = render_fragment(request, ROW_DELETE, context, status=409)
            return in_place(response, f"#row-{key}-{pk}")
    return after_change(request, reference, key)


@require_POST
def row_move(request, reference, key, pk):
    incident = get_document_for(request.user, reference, edit=True)
    editable = editable_for(incident, key, ROW_SECTIONS)
    offsets = {"up": -1, "down": 1}
    if not editable.is_reorderable or request.POST.get("direction") not in offsets:
        return HttpResponseBadRequest("Rows of this section move up or down only.")
    with suppress(StaleEdit):  # the row was deleted meanwhile; the refreshed section shows it
        move_row(incident, key, pk, request.user, offsets[request.POST["direction"]])
    return after_change(request, reference, key)


@require_http_methods(["GET", "POST"])
def timeline_paste(request, reference):
    incident = get_document_for(request.user, reference, edit=True)
    form = TimelinePasteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            paste_timeline(incident, form.cleaned_data["text"], request.user)
        except PasteError as error:
            for number, problem in error.problems:
                form.add_error("text", f"Line {number}: {problem}")
        else:
            return after_change(request, reference, "timeline")
    context = row_context(request, incident, "timeline", form=form)
    if not form.is_bound:
        return render_fragment(request, PASTE, context)
    return in_place(render_fragment(request, PASTE, context, status=422), "#paste-form")


@require_POST
def action_item_status(request, reference, pk):
    incident = get_document_for(request.user, reference, edit=True)
    editable_for(incident, "action_items")
    form = ActionItemStatusForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Unknown status.")
    with suppress(StaleEdit):  # deleted meanwhile; the refreshed list shows it
        set_action_item_status(incident, pk, form.cleaned_data["status"], request.user)
    return after_change(request, reference, "action_items")


# Presence: who else is here, and sections others changed.


@require_POST
def presence(request, reference):
    incident = get_incident_for(request.user, reference)
    editing = [key for key in request.POST.getlist("editing") if key in EDITABLE_SECTIONS]
    seen = {}
    for item in request.POST.getlist("seen"):
        key, _, version = item.partition(":")
        if key in EDITABLE_SECTIONS and version.isdigit():
            seen[key] = int(version)
    heartbeat(incident, request.user, editing=editing[0] if editing else "")
    others = list(others_present(incident, request.user))
    versions = Revision.objects.current_versions(incident)
    changed = [k for k, v in seen.items() if versions.get(k, 0) > v and k not in editing]
    refreshed = []
    if changed:
        document = Document(get_document_for(request.user, reference), request.user)
        refreshed = [document.section(key) for key in changed]
    editors = {key: [] for key in [*seen, *editing]}
    titles = Document(incident, request.user)
    people = []
    for other in others:
        if other.editing in editors:
            editors[other.editing].append(other.user)
        title = titles.section(other.editing).title if other.editing in EDITABLE_SECTIONS else ""
        people.append({"user": other.user, "editing_title": title})
    response = render(
        request,
        PRESENCE,
        {
            "incident": incident,
            "others": people,
            "refreshed": refreshed,
            "editors": editors,
            "poll_seconds": settings.PRESENCE_POLL_SECONDS,
        },
    )
    return trigger_client_event(response, "document-changed") if refreshed else response


@require_POST
def presence_leave(request, reference):
    leave(get_incident_for(request.user, reference), request.user)
    return HttpResponse(status=204)


# Comments.


def comment_threads(postmortem, key):
    return (
        postmortem.comments.filter(section=key, parent__isnull=True)
        .select_related("author", "resolved_by")
        .prefetch_related(
            Prefetch("replies", queryset=Comment.objects.select_related("author")),
            "mentions__user",
        )
    )


def render_comments(request, postmortem, key, form=None, status=200):
    document = Document(postmortem.incident, request.user)
    return render_fragment(
        request,
        COMMENTS,
        {
            "section": document.section(key),
            "threads": comment_threads(postmortem, key),
            "form": form or CommentForm(),
            "open": True,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def comments(request, reference, key):
    postmortem = get_postmortem_for(request.user, reference)
    if key not in SECTIONS:
        raise Http404("No such section.")
    if request.method == "GET":
        if request.GET.get("closed"):
            document = Document(postmortem.incident, request.user)
            context = {"section": document.section(key), "open": False}
            return render_fragment(request, COMMENTS, context)
        return render_comments(request, postmortem, key)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return render_comments(request, postmortem, key, form, status=422)
    parent = None
    if form.cleaned_data["parent"]:
        parent = postmortem.comments.filter(pk=form.cleaned_data["parent"], section=key).first()
        if parent is None:
            raise Http404("The comment you replied to was deleted.")
    add_comment(postmortem, key, request.user, form.cleaned_data["body"], parent)
    return render_comments(request, postmortem, key)


@require_POST
def comment_resolve(request, reference, pk):
    postmortem = get_postmortem_for(request.user, reference)
    comment = postmortem.comments.filter(pk=pk).first()
    if comment is None:
        raise Http404("No such comment.")
    thread = set_thread_resolved(
        comment, request.user, resolved=request.POST.get("resolved") == "1"
    )
    return render_comments(request, postmortem, thread.section)


# Starting and exporting.


@require_POST
def start(request, reference):
    incident = get_incident_for(request.user, reference, edit=True)
    form = StartPostmortemForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "incidents/detail.html",
            {
                "incident": incident,
                "document": Document(incident, request.user),
                "start_form": form,
                "presence_poll_seconds": settings.PRESENCE_POLL_SECONDS,
            },
            status=422,
        )
    start_postmortem(incident, form.cleaned_data["template"], by=request.user)
    return redirect(incident)


@require_GET
def export(request, reference):
    postmortem = get_postmortem_for(request.user, reference)
    response = HttpResponse(
        export_markdown(postmortem), content_type="text/markdown; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{export_filename(postmortem)}"'
    return response


# Review and sign-off.


def render_review(request, postmortem, error=None, status=200, forms=None):
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


def review_step(request, postmortem, step, form=None):
    """Run one workflow step; a refusal comes back as the panel with its reason."""
    if form is not None and not form.is_valid():
        return render_review(request, postmortem, "Check the form.", 422, {"failed_form": form})
    try:
        step()
    except TransitionRefused as refused:
        return render_review(request, postmortem, refused.message, refused.status)
    response = render_review(
        request, get_postmortem_for(request.user, postmortem.incident.reference)
    )
    return trigger_client_event(response, "document-changed") if request.htmx else response


@require_GET
def review_panel(request, reference):
    return render_review(request, get_postmortem_for(request.user, reference))


@require_POST
def review_transition(request, reference, action):
    postmortem = get_postmortem_for(request.user, reference)
    form = NoteForm(request.POST)
    steps = {
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
def reviewer_add(request, reference):
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
def reviewer_remove(request, reference, pk):
    postmortem = get_postmortem_for(request.user, reference)
    review_request = postmortem.review_requests.filter(pk=pk).first()
    if review_request is None:
        raise Http404("No such reviewer.")
    return review_step(request, postmortem, lambda: remove_reviewer(review_request, request.user))


@require_POST
def review_decide(request, reference, pk):
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
def template_switch(request, reference):
    incident = get_document_for(request.user, reference, edit=True)
    postmortem = get_postmortem_for(request.user, reference)
    form = TemplateForm(request.POST)
    if form.is_valid():
        switch_template(postmortem, form.cleaned_data["template"], request.user)
        messages.success(request, f"Now in the shape of: {postmortem.get_template_display()}.")
    else:
        messages.error(request, "Unknown template.")
    return redirect(incident)


@require_POST
def authors_join(request, reference):
    postmortem = get_postmortem_for(request.user, reference)
    try:
        join_authors(postmortem, request.user)
    except TransitionRefused as refused:
        raise PermissionDenied(refused.message) from None
    return redirect(postmortem.incident)


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
