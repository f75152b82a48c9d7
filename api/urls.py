"""/api/v1/ (the REST API), /api/schema/ and /api/docs/, and the API tokens page."""

from collections.abc import Callable
from typing import Any

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib.auth.decorators import login_not_required
from django.urls import path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from . import pages, views

app_name = "api"


def api(view: Any, **kwargs: Any) -> Callable[..., Any]:
    """The API authenticates each request itself (a token, or the session): the site's
    login-required middleware must let it through instead of redirecting to the login page."""
    handler: Callable[..., Any] = login_not_required(view.as_view(**kwargs))
    return handler


urlpatterns = [
    path("v1/incidents/", api(views.IncidentList), name="incidents"),
    path("v1/incidents/<str:reference>/", api(views.IncidentDetail), name="incident"),
    path("v1/incidents/<str:reference>/timeline/", api(views.TimelineList), name="timeline"),
    path(
        "v1/incidents/<str:reference>/timeline/bulk/",
        api(views.TimelineBulk),
        name="timeline_bulk",
    ),
    path(
        "v1/incidents/<str:reference>/timeline/<int:pk>/",
        api(views.TimelineEventDetail),
        name="timeline_event",
    ),
    path("v1/incidents/<str:reference>/sections/", api(views.SectionList), name="sections"),
    path(
        "v1/incidents/<str:reference>/sections/<slug:key>/",
        api(views.SectionDetail),
        name="section",
    ),
    path(
        "v1/incidents/<str:reference>/sections/<slug:key>/rows/",
        api(views.SectionRows),
        name="section_rows",
    ),
    path(
        "v1/incidents/<str:reference>/sections/<slug:key>/rows/<int:pk>/",
        api(views.SectionRowDetail),
        name="section_row",
    ),
    path(
        "v1/incidents/<str:reference>/postmortem/",
        api(views.PostmortemDetail),
        name="postmortem",
    ),
    path("v1/incidents/<str:reference>/comments/", api(views.CommentList), name="comments"),
    path(
        "v1/incidents/<str:reference>/comments/<int:pk>/resolve/",
        api(views.CommentResolve),
        name="comment_resolve",
    ),
    path("v1/action-items/", api(views.ActionItemList), name="action_items"),
    path("v1/action-items/<int:pk>/", api(views.ActionItemDetail), name="action_item"),
    path(
        "v1/action-items/<int:pk>/status/",
        api(views.ActionItemStatus),
        name="action_item_status",
    ),
    path("schema/", api(SpectacularAPIView), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (?script), not inline; the
    # two documentation pages style themselves with inline <style> (React, styled-components),
    # so these two pages alone allow inline styles. Scripts stay 'self' everywhere.
    path(
        "docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(
            api(SpectacularSwaggerSplitView, url_name="api:schema")
        ),
        name="docs",
    ),
    path(
        "redoc/",
        csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})(
            api(SpectacularRedocView, url_name="api:schema")
        ),
        name="redoc",
    ),
    path("tokens/", pages.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", pages.revoke_token, name="token_revoke"),
]
