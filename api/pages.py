"""The API tokens page: make a token (shown once), see when each was last used, revoke."""

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from .forms import NewTokenForm
from .models import ApiToken


@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # the login-required middleware let only users in
    form = NewTokenForm(request.POST if request.method == "POST" else None)
    new_token = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            _token, new_token = ApiToken.issue(user, form.cleaned_data["name"])
            form = NewTokenForm()
        else:
            status = 422
    context = {
        "form": form,
        "new_token": new_token,
        "tokens": ApiToken.objects.filter(user=user),
    }
    return render(request, "api/tokens.html", context, status=status)


@require_POST
def revoke_token(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, user_id=request.user.pk, pk=pk)
    token.revoke()
    messages.success(request, f"Revoked “{token.name}”; it no longer works.")
    return redirect("api:tokens")
