"""The new-incident form in Chromium: the services filter, keyboard only, UTC times typed on a
24-hour clock, and the duplicate warning; no console error on the way."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from incidents.models import Incident, Service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# Owned by other parts of issue 10 (a favicon, the review panel's out-of-band swap): left to
# the test that checks every page for console errors.
NOT_OURS = ("/favicon.ico", "oobErrorNoTarget", "Failed to load resource")


def watch_for_errors(page, errors: list[str]) -> None:
    def console(message) -> None:  # type: ignore[no-untyped-def]
        if message.type == "error" and not any(part in message.text for part in NOT_OURS):
            errors.append(message.text)

    def response(answer) -> None:  # type: ignore[no-untyped-def]
        if answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
            errors.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", response)


def test_filter_services_tick_by_keyboard_and_declare_in_utc(open_as, author, team, artifacts):
    for name in ("Payment API", "Ledger", "Checkout web", "Ledger replica"):
        Service.objects.create(team=team, name=name)
    errors: list[str] = []
    page = open_as(author, "/")
    watch_for_errors(page, errors)
    page.goto(page.url.split("/my-work/")[0] + "/incidents/new/")

    options = page.locator("[data-picker-option]")
    expect(options).to_have_count(4)
    search = page.get_by_label("Filter services")
    expect(search).to_be_visible()  # shown by picker.js; hidden without script
    search.fill("ledger")
    expect(page.locator("[data-picker-option]:visible")).to_have_count(2)
    expect(page.locator("[data-picker-count]")).to_have_text("2 of 4 shown")
    search.fill("ledger rep")
    search.press("Enter")  # the only match is ticked, the form is not sent
    expect(page.get_by_label("Ledger replica")).to_be_checked()
    search.fill("")
    expect(page.locator("[data-picker-option]:visible")).to_have_count(4)
    page.get_by_label("Payment API").focus()
    page.keyboard.press("Space")
    expect(page.get_by_label("Payment API")).to_be_checked()
    search.fill("checkout")  # ticked ones stay in view while filtering
    expect(page.locator("[data-picker-option]:visible")).to_have_count(3)

    page.get_by_label("Title").fill("Ledger writes slow")
    page.get_by_label("Started (UTC)").fill("2026-03-02 14:00")
    detected = page.get_by_label("Detected (UTC)")
    detected.fill("2026-03-02 2:05 PM")  # the browser's own check, from the pattern
    assert detected.evaluate("input => input.checkValidity()") is False
    detected.fill("2026-03-02T14:05Z")
    assert detected.evaluate("input => input.checkValidity()") is True
    expect(page.locator(".utc-suffix").first).to_have_text("UTC")
    page.screenshot(path=str(artifacts / "incident-form.png"), full_page=True)
    page.get_by_role("button", name="Declare incident").click()
    expect(page.locator("h1")).to_contain_text("Ledger writes slow")
    incident = Incident.objects.get()
    assert incident.started_at == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert incident.detected_at == datetime(2026, 3, 2, 14, 5, tzinfo=UTC)
    assert sorted(s.name for s in incident.services.all()) == ["Ledger replica", "Payment API"]
    assert errors == []


def test_without_script_every_service_is_listed(chromium, live_server, author, team):
    from django.test import Client

    for name in ("Payment API", "Ledger"):
        Service.objects.create(team=team, name=name)
    client = Client()
    client.force_login(author)
    context = chromium.new_context(java_script_enabled=False)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    try:
        page = context.new_page()
        page.goto(live_server.url + "/incidents/new/")
        expect(page.get_by_label("Filter services")).to_be_hidden()
        expect(page.locator("[data-picker-option]:visible")).to_have_count(2)
        page.get_by_label("Ledger").check()
        page.get_by_label("Title").fill("Ledger down")
        page.get_by_label("Started (UTC)").fill("2026-03-02 14:00")
        page.get_by_role("button", name="Declare incident").click()
        expect(page.locator("h1")).to_contain_text("Ledger down")
        assert [s.name for s in Incident.objects.get().services.all()] == ["Ledger"]
    finally:
        context.close()
