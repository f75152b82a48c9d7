"""A reminder's one-click action in real Chromium: from the email's HTML to the app."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from actionitems.models import ActionItem
from actionitems.tasks import run_sweeps
from postmortems.models import Postmortem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_snooze_a_week_from_the_emails_html_and_see_the_new_date_in_the_app(
    chromium, live_server, settings, postmortem, author, artifacts
):
    settings.SITE_URL = live_server.url
    settings.REMINDER_HOURS = (0, 24)  # the sweep runs on the real clock
    postmortem.status = Postmortem.Status.PUBLISHED
    postmortem.save()
    today = timezone.localdate()
    item = ActionItem.objects.create(
        postmortem=postmortem, title="Add a pool alert", owner=author,
        due_date=today - timedelta(days=2),
    )  # fmt: skip
    mail.outbox.clear()
    run_sweeps()
    (reminder,) = mail.outbox
    html, mimetype = reminder.alternatives[0]
    assert mimetype == "text/html"

    # Jane is logged in to the app in this browser, as she would be.
    login = Client()
    login.force_login(author)
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    context.add_cookies(
        [{"name": "sessionid", "value": login.cookies["sessionid"].value, "url": live_server.url}]
    )
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.set_content(html)  # the email as her mail client shows it
        page.get_by_role("link", name="Snooze 1 week").click()

        new_due = today + timedelta(days=7)
        expect(page.get_by_role("heading", level=1)).to_have_text("Snooze 1 week?")
        expect(page.locator(".facts")).to_contain_text(f"{new_due:%Y-%m-%d}")
        page.screenshot(path=artifacts / "email-action-confirm.png", full_page=True)
        item.refresh_from_db()
        assert item.due_date == today - timedelta(days=2)  # opening the link changed nothing

        page.get_by_role("button", name="Snooze 1 week").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Snoozed")
        expect(page.locator(".new-due")).to_contain_text(f"{new_due:%Y-%m-%d}")
        page.screenshot(path=artifacts / "email-action-done.png", full_page=True)

        page.get_by_role("link", name="Open the action item").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Add a pool alert")
        expect(page.locator(".facts")).to_contain_text(f"{new_due:%Y-%m-%d}")
        expect(page.locator("#history-title + ul")).to_contain_text(
            f"snoozed the due date from {today - timedelta(days=2):%Y-%m-%d} to {new_due:%Y-%m-%d}"
        )
        page.goto(f"{live_server.url}{postmortem.incident.get_absolute_url()}")
        expect(page.locator(f"#row-action_items-{item.pk}")).to_contain_text(f"{new_due:%Y-%m-%d}")
    finally:
        context.close()
    item.refresh_from_db()
    assert item.due_date == new_due
