"""Root URLconf. The postmortem document's own routes live under each incident."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, register_converter
from django.views.generic import RedirectView

from incidents import views as incident_views
from incidents.converters import IncidentReferenceConverter

from . import health
from .views import (
    archive,
    attachments,
    comments,
    document,
    importing,
    presence,
    review,
    rows,
    sections,
    sharing,
    site,
)

register_converter(IncidentReferenceConverter, "incident_ref")


# Everything that edits or reads one incident's document lives under its reference.
document_patterns: tuple[list[URLPattern | URLResolver], str] = (
    [
        path("postmortem/start/", document.start, name="start"),
        path("postmortem/export.md", document.export, name="export"),
        path("postmortem/archive/", archive.postmortem_archive, {"archived": True}, name="archive"),
        path(
            "postmortem/unarchive/",
            archive.postmortem_archive,
            {"archived": False},
            name="unarchive",
        ),
        path("postmortem/delete/", archive.postmortem_delete, name="delete"),
        path("sections/<slug:key>/", sections.section, name="section"),
        path("sections/<slug:key>/rows/", sections.section_rows, name="section_rows"),
        path("sections/<slug:key>/history/", sections.section_history, name="history"),
        path("similar-incidents/", sections.similar, name="similar"),
        path(
            "sections/<slug:key>/history/<int:version>/restore/",
            sections.section_restore,
            name="restore",
        ),
        path("sections/<slug:key>/comments/", comments.comments, name="comments"),
        path("comments/<int:pk>/resolve/", comments.comment_resolve, name="comment_resolve"),
        path("rows/<slug:key>/new/", rows.row_new, name="row_new"),
        path("rows/<slug:key>/<int:pk>/", rows.row, name="row"),
        path("rows/<slug:key>/<int:pk>/delete/", rows.row_delete, name="row_delete"),
        path("rows/<slug:key>/<int:pk>/move/", rows.row_move, name="row_move"),
        path("timeline/paste/", rows.timeline_paste, name="timeline_paste"),
        path("action-items/", include("actionitems.document_urls")),
        path("review/", review.review_panel, name="review"),
        path(
            "review/<slug:action>/",
            review.review_transition,
            name="review_transition",
        ),
        path("reviewers/", review.reviewer_add, name="reviewer_add"),
        path("reviewers/<int:pk>/remove/", review.reviewer_remove, name="reviewer_remove"),
        path("reviewers/<int:pk>/decide/", review.review_decide, name="review_decide"),
        path("postmortem/template/", review.template_switch, name="template_switch"),
        path("postmortem/authors/join/", review.authors_join, name="authors_join"),
        path("share/", sharing.share_links, name="share_links"),
        path("share/<int:pk>/revoke/", sharing.share_revoke, name="share_revoke"),
        path("sections/<slug:key>/internal/", sharing.section_internal, name="section_internal"),
        path("after-publication/", sharing.after_publication, name="after_publication"),
        path("toc/", document.toc, name="toc"),
        path("attachments/", attachments.upload, name="attachment_upload"),
        path("attachments/<int:pk>/<str:name>", attachments.attachment, name="attachment"),
        path("presence/", presence.presence, name="presence"),
        path("presence/leave/", presence.presence_leave, name="presence_leave"),
    ],
    "postmortems",
)

# The incidents namespace: the list is the incidents app's; declaring an incident and its page
# open the postmortem document, so those views live with it.
incident_patterns: tuple[list[URLPattern | URLResolver], str] = (
    [
        path("", incident_views.incident_list, name="list"),
        path("new/", document.incident_create, name="create"),
        path("import/", importing.import_postmortem, name="import"),
        path("<incident_ref:reference>/", document.incident_detail, name="detail"),
        path(
            "<incident_ref:reference>/archive/",
            archive.incident_archive,
            {"archived": True},
            name="archive",
        ),
        path(
            "<incident_ref:reference>/unarchive/",
            archive.incident_archive,
            {"archived": False},
            name="unarchive",
        ),
    ],
    "incidents",
)

# Apps above this one (action items, insights, integrations, the API) are included by name,
# never imported: dependencies point down (docs/design/types-and-layers.md).
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="my_work"), name="home"),
    path("", include("actionitems.home_urls")),
    path("incidents/", include(incident_patterns)),
    path("incidents/<incident_ref:reference>/", include(document_patterns)),
    path("action-items/", include("actionitems.urls")),
    path("", include("insights.urls")),
    path("integrations/", include("integrations.urls")),
    path("api/", include("api.urls")),
    # A share link: read-only, without login, for people outside the team.
    path("shared/<str:token>/", sharing.shared_postmortem, name="shared_postmortem"),
    path(
        "shared/<str:token>/attachments/<int:pk>/<str:name>",
        attachments.shared_attachment,
        name="shared_attachment",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("favicon.ico", site.favicon, name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
