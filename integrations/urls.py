from django.urls import path

from . import sso, views

app_name = "integrations"

urlpatterns = [
    path("", views.index, name="index"),
    path("teams/<slug:slug>/", views.team_settings, name="team"),
    path("teams/<slug:slug>/webhooks/", views.endpoint_add, name="endpoint_add"),
    path(
        "teams/<slug:slug>/webhooks/<int:pk>/secret/",
        views.endpoint_rotate,
        name="endpoint_rotate",
    ),
    path(
        "teams/<slug:slug>/webhooks/<int:pk>/toggle/",
        views.endpoint_toggle,
        name="endpoint_toggle",
    ),
    path(
        "teams/<slug:slug>/webhooks/<int:pk>/delete/",
        views.endpoint_delete,
        name="endpoint_delete",
    ),
    path(
        "teams/<slug:slug>/deliveries/<int:pk>/resend/",
        views.delivery_resend,
        name="delivery_resend",
    ),
    path("teams/<slug:slug>/slack/", views.slack_save, name="slack"),
    path("teams/<slug:slug>/trackers/", views.tracker_add, name="tracker_add"),
    path(
        "teams/<slug:slug>/trackers/<int:pk>/delete/",
        views.tracker_delete,
        name="tracker_delete",
    ),
    path("action-items/<int:pk>/ticket/", views.ticket_create, name="ticket_create"),
    path(
        "hooks/<slug:provider>/<uuid:public_id>/",
        views.tracker_webhook,
        name="tracker_webhook",
    ),
    path(
        "incidents/<incident_ref:reference>/slack/",
        views.slack_import,
        name="slack_import",
    ),
    path("slack-imports/<int:pk>/start/", views.slack_import_start, name="slack_import_start"),
    path("slack-imports/<int:pk>/", views.slack_import_progress, name="slack_import_progress"),
    path("sso/login/", sso.oidc_login, name="oidc_login"),
    path("sso/callback/", sso.oidc_callback, name="oidc_callback"),
]
