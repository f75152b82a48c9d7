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


# Everything that edits or reads one incident's document lives under its reference.
document_patterns = (
    [
        path("postmortem/start/", views.start, name="start"),
        path("postmortem/export.md", views.export, name="export"),
        path("sections/<slug:key>/", views.section, name="section"),
        path("sections/<slug:key>/history/", views.section_history, name="history"),
        path(
            "sections/<slug:key>/history/<int:version>/restore/",
            views.section_restore,
            name="restore",
        ),
        path("sections/<slug:key>/comments/", views.comments, name="comments"),
        path("comments/<int:pk>/resolve/", views.comment_resolve, name="comment_resolve"),
        path("rows/<slug:key>/new/", views.row_new, name="row_new"),
        path("rows/<slug:key>/<int:pk>/", views.row, name="row"),
        path("rows/<slug:key>/<int:pk>/delete/", views.row_delete, name="row_delete"),
        path("rows/<slug:key>/<int:pk>/move/", views.row_move, name="row_move"),
        path("timeline/paste/", views.timeline_paste, name="timeline_paste"),
        path(
            "action-items/<int:pk>/status/",
            views.action_item_status,
            name="action_item_status",
        ),
        path("review/", views.review_panel, name="review"),
        path(
            "review/<slug:action>/",
            views.review_transition,
            name="review_transition",
        ),
        path("reviewers/", views.reviewer_add, name="reviewer_add"),
        path("reviewers/<int:pk>/remove/", views.reviewer_remove, name="reviewer_remove"),
        path("reviewers/<int:pk>/decide/", views.review_decide, name="review_decide"),
        path("postmortem/template/", views.template_switch, name="template_switch"),
        path("postmortem/authors/join/", views.authors_join, name="authors_join"),
        path("presence/", views.presence, name="presence"),
        path("presence/leave/", views.presence_leave, name="presence_leave"),
    ],
    "postmortems",
)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="my_work"), name="home"),
    path("my-work/", views.my_work, name="my_work"),
    path("incidents/", include("incidents.urls")),
    path("incidents/<incident_ref:reference>/", include(document_patterns)),
    path("action-items/", include("actionitems.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
