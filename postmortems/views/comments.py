"""Comments on a section, threads, resolve."""

from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from incidents.http import HtmxRequest

from ..document import Document
from ..forms import CommentForm
from ..layouts import SECTIONS
from ..models import Comment, Postmortem
from ..services import add_comment, get_postmortem_for, set_thread_resolved
from .base import render_fragment

COMMENTS = "postmortems/partials/comments.html"


def comment_threads(postmortem: Postmortem, key: str) -> QuerySet[Comment]:
    return (
        postmortem.comments.filter(section=key, parent__isnull=True)
        .select_related("author", "resolved_by")
        .prefetch_related(
            Prefetch("replies", queryset=Comment.objects.select_related("author")),
            "mentions__user",
        )
    )


def render_comments(
    request: HtmxRequest,
    postmortem: Postmortem,
    key: str,
    form: CommentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    document = Document(postmortem.incident, request.user)
    return render_fragment(
        request,
        COMMENTS,
        {
            "section": document.section(key),
            "threads": comment_threads(postmortem, key),
            "form": form or CommentForm(),
            "open": True,
            # The thread's own author may too (the template checks that per thread).
            "may_resolve": postmortem.may_resolve_threads(request.user),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def comments(request: HtmxRequest, reference: str, key: str) -> HttpResponse:
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
    # The table of contents counts open comments: it refreshes on this event.
    return trigger_client_event(render_comments(request, postmortem, key), "toc-changed")


@require_POST
def comment_resolve(request: HtmxRequest, reference: str, pk: int) -> HttpResponse:
    postmortem = get_postmortem_for(request.user, reference)
    comment = postmortem.comments.filter(pk=pk).first()
    if comment is None:
        raise Http404("No such comment.")
    thread = set_thread_resolved(
        comment, request.user, resolved=request.POST.get("resolved") == "1"
    )
    response = render_comments(request, postmortem, thread.section)
    return trigger_client_event(response, "toc-changed")
