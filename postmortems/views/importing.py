"""Importing a postmortem written elsewhere: upload or paste, preview what goes where, then
write it all at once."""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from incidents.http import HtmxRequest

from ..forms import ImportForm
from ..importing.service import ImportRefused, plan_import, write_import

PAGE = "postmortems/import.html"
PREVIEW = "postmortems/partials/import_preview.html"


@require_http_methods(["GET", "POST"])
def import_postmortem(request: HtmxRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "GET":
        return render(request, PAGE, {"form": form})
    if not form.is_valid():
        return _again(request, form, status=422)
    data = form.cleaned_data
    try:
        plan = plan_import(
            data["text"], team=data["team"], template=data["template"], zone=data["zone"]
        )
    except ImportRefused as refused:
        form.add_error(None, str(refused))
        return _again(request, form, status=422)
    if request.POST.get("confirm") != "1":
        context = {"form": form, "plan": plan, "text": data["text"]}
        return render(request, PREVIEW if request.htmx else PAGE, context)
    try:
        incident = write_import(plan, by=request.user)
    except ImportRefused as refused:
        form.add_error(None, str(refused))
        return _again(request, form, status=422)
    if request.htmx:
        return HttpResponseClientRedirect(incident.get_absolute_url())
    return redirect(incident)


def _again(request: HtmxRequest, form: ImportForm, status: int) -> HttpResponse:
    return render(request, PREVIEW if request.htmx else PAGE, {"form": form}, status=status)
