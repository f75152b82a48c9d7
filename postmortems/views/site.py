"""Site-wide odds and ends that are not part of any document."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.views.decorators.http import require_GET


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers and tools ask for /favicon.ico whatever the page links: send them to the
    static icon (hashed name in production), instead of a 404 in every log."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))
