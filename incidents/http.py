"""Request types for views and services that only run for a signed-in person.

Every view sits behind LoginRequiredMiddleware, so `request.user` is a real User there, never
AnonymousUser; annotating with AuthenticatedRequest says so to mypy. HtmxRequest adds the
`request.htmx` that django-htmx's middleware sets.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class AuthenticatedRequest(HttpRequest):
    user: User


class HtmxRequest(AuthenticatedRequest):
    htmx: HtmxDetails
