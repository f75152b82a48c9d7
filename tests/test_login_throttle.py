"""Login throttle (django-axes): five failures for one username from one address pause that
pair for the cool-off, with the reason on the login page."""

import pytest
from django.test import Client
from django.urls import reverse

from postmortems.throttle import client_ip

PASSWORD = "correct horse battery staple"  # tests/conftest.py's make_user


def attempt(browser, username, password, **meta):
    return browser.post(reverse("login"), {"username": username, "password": password}, **meta)


@pytest.mark.django_db
def test_five_failures_lock_the_username_from_that_address(author, settings):
    browser = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(4):
        response = attempt(browser, "jane", "wrong")
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()
    locked = attempt(browser, "jane", "wrong")  # the fifth
    assert locked.status_code == 429
    body = locked.content.decode()
    assert "Too many failed logins" in body and "15 minutes" in body
    assert '<form method="post" action="/accounts/login/"' in body  # the page, not a bare 403
    assert 'value="jane"' in body  # the username is kept
    # Even the right password waits now, and no session is made.
    response = attempt(browser, "jane", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in browser.session


@pytest.mark.django_db
def test_the_lock_is_per_address_and_username(author, teammate):
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(5):
        attempt(attacker, "jane", "wrong")
    assert attempt(attacker, "jane", PASSWORD).status_code == 429
    # Jane at her own desk still gets in, and so does Mike from the attacker's address.
    assert attempt(Client(REMOTE_ADDR="198.51.100.2"), "jane", PASSWORD).status_code == 302
    assert attempt(attacker, "mike", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_the_lock_lifts_after_the_cool_off(author, time_machine):
    time_machine.move_to("2026-06-01 10:00Z")
    browser = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(5):
        attempt(browser, "jane", "wrong")
    time_machine.move_to("2026-06-01 10:16Z")
    assert attempt(browser, "jane", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_trying_during_the_lock_starts_the_cool_off_again(author, time_machine):
    """Someone who keeps guessing stays locked out: no five fresh guesses every 15 minutes."""
    time_machine.move_to("2026-06-01 10:00Z")
    browser = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(5):
        attempt(browser, "jane", "wrong")
    time_machine.move_to("2026-06-01 10:14Z")
    assert attempt(browser, "jane", "guess").status_code == 429
    time_machine.move_to("2026-06-01 10:16Z")
    assert attempt(browser, "jane", PASSWORD).status_code == 429
    time_machine.move_to("2026-06-01 10:32Z")
    assert attempt(browser, "jane", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_success_clears_the_count(author):
    browser = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(4):
        attempt(browser, "jane", "wrong")
    assert attempt(browser, "jane", PASSWORD).status_code == 302
    browser.logout()
    for _ in range(4):
        assert attempt(browser, "jane", "wrong").status_code == 200
    assert attempt(browser, "jane", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_forged_forwarded_for_header_is_ignored_without_trusted_proxies(author):
    for n in range(5):
        attempt(Client(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"), "jane", "x")
    assert attempt(Client(REMOTE_ADDR="203.0.113.7"), "jane", PASSWORD).status_code == 429


@pytest.mark.django_db
def test_behind_one_trusted_proxy_the_client_is_the_address_it_appended(author, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    nginx = "172.18.0.5"
    for n in range(5):  # the client forges a left-hand entry each time; nginx appends the real one
        forwarded = f"10.0.0.{n}, 203.0.113.7"
        attempt(Client(REMOTE_ADDR=nginx, HTTP_X_FORWARDED_FOR=forwarded), "jane", "x")
    real = Client(REMOTE_ADDR=nginx, HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert attempt(real, "jane", PASSWORD).status_code == 429
    elsewhere = Client(REMOTE_ADDR=nginx, HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert attempt(elsewhere, "jane", PASSWORD).status_code == 302


def test_client_ip_counts_proxies_from_the_right(rf, settings):
    request = rf.get(
        "/", REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="1.1.1.1, 2.2.2.2, 3.3.3.3"
    )
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "172.18.0.5"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "3.3.3.3"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "2.2.2.2"
    settings.TRUSTED_PROXY_COUNT = 5  # fewer entries than proxies: the left-most there is
    assert client_ip(request) == "1.1.1.1"


@pytest.mark.django_db
def test_a_username_longer_than_any_account_is_a_failed_login_not_a_500(client):
    """axes records the tried username in a 255-character column: a 300-character one once
    broke that insert (found by the fuzzed login form). Five such tries still lock out."""
    long_name = "a" * 300
    responses = [attempt(Client(), long_name, "x") for _ in range(6)]
    assert [r.status_code for r in responses] == [200] * 4 + [429] * 2  # the fifth locks
