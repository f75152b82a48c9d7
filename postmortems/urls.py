"""Root URLconf. The postmortem document's own routes live under each incident."""

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpResponse
from django.urls import include, path, register_converter
from django.views.generic import RedirectView

from incidents.converters import IncidentReferenceConverter

from . import views

register_converter(IncidentReferenceConverter, "incident_ref")


@login_not_required
def healthz(request):
    """For load balancers and docker-compose: the app answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


postmortem_patterns = (
    [
        path("start/", views.start, name="start"),
        path("export.md", views.export, name="export"),
    ],
    "postmortems",
)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="incidents:list"), name="home"),
    path("incidents/", include("incidents.urls")),
    path("incidents/<incident_ref:reference>/postmortem/", include(postmortem_patterns)),
    path("action-items/", include("actionitems.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
