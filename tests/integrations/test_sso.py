"""Single sign-on with OpenID Connect, when configured; pytest-httpserver plays the provider
(authorization, token and userinfo endpoints; an HS256 id_token signed with the client
secret, as the OIDC core spec allows for confidential clients)."""

import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.contrib.auth import get_user_model
from werkzeug.wrappers import Response

pytestmark = pytest.mark.django_db

CLIENT_ID, CLIENT_SECRET = "postmortem-studio", "a-client-secret-of-enough-length-0123456789"


class FakeProvider:
    def __init__(self, server):
        self.server = server
        self.nonce = None
        self.claims = {}
        server.expect_request("/token", method="POST").respond_with_handler(self.token)
        server.expect_request("/userinfo").respond_with_handler(self.userinfo)

    def token(self, request):
        form = request.form
        assert form["grant_type"] == "authorization_code" and form["code"] == "the-code"
        assert form["client_id"] == CLIENT_ID
        id_token = jwt.encode(
            {"iss": self.server.url_for("/"), "sub": "idp-42", "aud": CLIENT_ID,
             "exp": int(time.time()) + 300, "iat": int(time.time()), "nonce": self.nonce},
            CLIENT_SECRET, algorithm="HS256",
        )  # fmt: skip
        return Response(
            f'{{"id_token": "{id_token}", "access_token": "at-1", "token_type": "Bearer"}}',
            content_type="application/json",
        )

    def userinfo(self, request):
        assert request.headers["Authorization"] == "Bearer at-1"
        import json

        return Response(json.dumps({"sub": "idp-42", **self.claims}),
                        content_type="application/json")  # fmt: skip


@pytest.fixture
def provider(httpserver, settings):
    settings.OIDC_ENABLED = True
    settings.OIDC_PROVIDER_NAME = "Okta"
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "integrations.sso.EmailOIDCBackend",
    ]
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = httpserver.url_for("/authorize")
    settings.OIDC_OP_TOKEN_ENDPOINT = httpserver.url_for("/token")
    settings.OIDC_OP_USER_ENDPOINT = httpserver.url_for("/userinfo")
    settings.OIDC_OP_JWKS_ENDPOINT = None
    settings.OIDC_RP_SIGN_ALGO = "HS256"
    settings.OIDC_RP_SCOPES = "openid email profile"
    settings.OIDC_CREATE_USER = False
    settings.OIDC_AUTHENTICATION_CALLBACK_URL = "integrations:oidc_callback"
    settings.LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/"
    return FakeProvider(httpserver)


def sign_in(client, provider, **claims):
    """Follow the login as a browser would: to the provider and back with a code."""
    start = client.get("/integrations/sso/login/")
    assert start.status_code == 302
    target = urlsplit(start["Location"])
    query = parse_qs(target.query)
    assert target.path == "/authorize" and query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"][0].endswith("/integrations/sso/callback/")
    provider.nonce = query["nonce"][0]
    provider.claims = claims
    return client.get("/integrations/sso/callback/",
                      {"code": "the-code", "state": query["state"][0]})  # fmt: skip


def test_the_login_page_offers_single_sign_on_when_configured(client, provider):
    page = client.get("/accounts/login/").content.decode()
    assert "Log in with Okta" in page and "/integrations/sso/login/" in page


def test_a_verified_email_signs_in_its_account(client, provider, author):
    response = sign_in(client, provider, email="JANE@example.com", email_verified=True)
    assert response.status_code == 302 and response["Location"] == "/my-work/"  # LOGIN_REDIRECT_URL
    assert client.get("/incidents/").context["user"] == author


def test_an_unverified_or_unknown_email_does_not_sign_in(client, provider, author):
    refused = sign_in(client, provider, email="jane@example.com", email_verified=False)
    assert refused["Location"] == "/accounts/login/"
    unknown = sign_in(client, provider, email="someone@else.com", email_verified=True)
    assert unknown["Location"] == "/accounts/login/"
    assert client.get("/incidents/").status_code == 302  # still anonymous
    assert get_user_model().objects.count() == 1  # nobody was created


def test_without_configuration_passwords_are_the_only_way(client, author):
    assert client.get("/integrations/sso/login/").status_code == 404
    assert "Log in with" not in client.get("/accounts/login/").content.decode()
    response = client.post("/accounts/login/", {"username": "jane",
                                                "password": "correct horse battery staple"})  # fmt: skip
    assert response.status_code == 302
