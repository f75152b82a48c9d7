"""Attachments: the upload behind paste and drop in a text field, and the one place files
are served from (to those who may read the postmortem; 404 to anyone else)."""

from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_POST

from incidents.http import AuthenticatedRequest

from ..attachments import AttachmentRefused, add_attachment
from ..models import Attachment, Postmortem
from ..services import get_document_for, get_postmortem_for
from ..sharing import ShareGone, open_share_link

# A served file is never a page: no script, no plugins, no frames, even if a browser guessed.
SANDBOX = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


@require_POST
def upload(request: AuthenticatedRequest, reference: str) -> JsonResponse:
    """Store one file (`file`) and answer with its URL and the Markdown to insert; 4xx with
    a sentence for the writer when it is refused."""
    incident = get_document_for(request.user, reference, edit=True, keys=())
    try:
        postmortem = incident.postmortem
    except Postmortem.DoesNotExist:
        raise Http404("This incident has no postmortem yet.") from None
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"error": "No file came with the request."}, status=400)
    try:
        attachment = add_attachment(postmortem, upload, by=request.user)
    except AttachmentRefused as refused:
        return JsonResponse({"error": refused.message}, status=refused.status)
    postmortem.incident = incident  # the URL names the incident; it is loaded already
    attachment.postmortem = postmortem
    return JsonResponse(
        {
            "url": attachment.get_absolute_url(),
            "name": attachment.name,
            "content_type": attachment.content_type,
            "size": attachment.size,
            "markdown": attachment.markdown,
        },
        status=201,
    )


@require_GET
def attachment(request: AuthenticatedRequest, reference: str, pk: int, name: str) -> FileResponse:
    postmortem = get_postmortem_for(request.user, reference)
    response = _serve(postmortem.attachments.filter(pk=pk, name=name).first())
    # A stored file never changes under its id; only this reader's browser keeps it.
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_not_required
@require_GET
def shared_attachment(
    request: HttpRequest, token: str, pk: int, name: str
) -> HttpResponse | FileResponse:
    """A file of a shared postmortem, for whoever holds the link: gone with the link."""
    try:
        link = open_share_link(token, count_view=False)
    except ShareGone as gone:
        return HttpResponse(gone.reason, status=410, content_type="text/plain; charset=utf-8")
    response = _serve(link.postmortem.attachments.filter(pk=pk, name=name).first())
    add_never_cache_headers(response)  # revoking the link works at once
    response["Referrer-Policy"] = "no-referrer"
    return response


def _serve(found: Attachment | None) -> FileResponse:
    if found is None:
        raise Http404("No such attachment.")
    try:
        handle = found.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing from the storage.") from None
    response = FileResponse(handle, content_type=found.content_type)
    if found.content_type == "text/plain":
        response["Content-Type"] = "text/plain; charset=utf-8"
    response["Content-Disposition"] = f'inline; filename="{found.name}"'
    response["X-Content-Type-Options"] = "nosniff"
    if found.content_type != "application/pdf":  # the browser's PDF viewer needs its script
        response["Content-Security-Policy"] = SANDBOX
    return response
