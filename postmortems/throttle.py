"""Login throttling (django-axes): who is asking (the client's address, through our own
proxies only) and what a locked-out person sees (the login page with why, not a bare 403)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# django.contrib.auth's User.username.
USERNAME_MAX_LENGTH = 150


def client_ip(request: HttpRequest) -> str:
    """The address a login attempt came from. REMOTE_ADDR, unless TRUSTED_PROXY_COUNT proxies
    of ours stand in front (nginx in docker-compose): each appends the address it saw to
    X-Forwarded-For, so the client is the entry that many places from the right. Anything to
    the left of it was written by the client and is not believed (else anyone could pick a
    fresh address for every guess)."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies: int = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
        if part.strip()
    ]
    if not forwarded:
        return remote
    return forwarded[max(0, len(forwarded) - proxies)]


def attempted_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """The username a failed login tried, cut to the longest a username can be: axes stores
    it in a 255-character column, and a longer one (no account has it) failed that insert
    with a 500 (found by the fuzzed login form)."""
    field: str = getattr(settings, "AXES_USERNAME_FORM_FIELD", "username")
    value = (credentials or {}).get(field) if credentials else request.POST.get(field)
    return str(value or "")[:USERNAME_MAX_LENGTH]


def cool_off_minutes() -> int:
    return max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def lockout_message() -> str:
    return (
        f"Too many failed logins for this username from your address. For your account's "
        f"safety, logging in is paused for {cool_off_minutes()} minutes: try again after "
        f"that, or ask an administrator to unlock it."
    )


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """The login page again, with the username kept and the reason at the top: 429."""
    data = request.POST if request.method == "POST" else request.GET
    form = AuthenticationForm(request, initial={"username": data.get("username", "")})
    context = {"form": form, "locked_out": lockout_message(), "next": data.get("next", "")}
    return render(request, "registration/login.html", context, status=429)
