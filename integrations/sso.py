"""Single sign-on with OpenID Connect (mozilla-django-oidc), on only when OIDC_RP_CLIENT_ID
and the provider's endpoints are set. People are matched to accounts by a verified email
address; password login stays as it is."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView


class EmailOIDCBackend(OIDCAuthenticationBackend):
    def verify_claims(self, claims: dict[str, Any]) -> bool:
        """An email the provider has not verified could be anyone's: refuse it."""
        return bool(claims.get("email")) and claims.get("email_verified", True) is not False

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        return self.UserModel.objects.filter(email__iexact=claims["email"], is_active=True)

    def create_user(self, claims: dict[str, Any]) -> Any:
        """Only when OIDC_CREATE_USER is on (mozilla-django-oidc checks it before calling)."""
        user = super().create_user(claims)
        user.first_name = str(claims.get("given_name", ""))[:150]
        user.last_name = str(claims.get("family_name", ""))[:150]
        user.save(update_fields=["first_name", "last_name"])
        return user


def _enabled() -> None:
    if not getattr(settings, "OIDC_ENABLED", False):
        raise Http404("Single sign-on is not set up.")


@login_not_required
def oidc_login(request: HttpRequest) -> HttpResponseBase:
    _enabled()
    return OIDCAuthenticationRequestView.as_view()(request)


@login_not_required
def oidc_callback(request: HttpRequest) -> HttpResponseBase:
    _enabled()
    return OIDCAuthenticationCallbackView.as_view()(request)
