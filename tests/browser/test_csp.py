"""Every main page works under the Content-Security-Policy: Chromium reports no violation
while the pages load, charts draw, and a section is edited through htmx."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from incidents.models import Incident
from insights.indexing import reindex_incidents

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Recorded in the page before any of its scripts run (Playwright injects this itself, so the
# policy does not apply to it).
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def pages(incident):
    reference = incident.reference
    return [
        reverse("my_work"),
        reverse("incidents:list"),
        reverse("incidents:create"),
        reverse("incidents:import"),
        incident.get_absolute_url(),
        reverse("postmortems:history", args=[reference, "root_cause"]),
        reverse("actionitems:list") + "?status=not_done",
        reverse("actionitems:preferences"),
        reverse("insights:dashboard") + "?started_from=2025-01-01",
        reverse("insights:search") + "?q=database",
        reverse("integrations:index"),
        reverse("integrations:team", args=[incident.team.slug]),
        reverse("api:tokens"),
        reverse("api:docs"),
        reverse("admin:index"),
    ]


@pytest.fixture
def sarah():
    """The demo's manager (staff too), who sees every page of the demo."""
    call_command("seed_demo", password="browser-test")
    reindex_incidents(Incident.objects.values_list("pk", flat=True))
    return get_user_model().objects.get(username="sarah")


def violations(page, console):
    found = page.evaluate("window.__violations")
    return found + [text for text in console if "Content Security Policy" in text]


def test_no_page_breaks_the_content_security_policy(sarah, open_as, live_server):
    incident = Incident.objects.filter(
        postmortem__isnull=False, team__memberships__user=sarah
    ).first()
    page = open_as(sarah, "/healthz")
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.context.add_init_script(WATCH)
    checked = []
    for path in pages(incident):
        response = page.goto(live_server.url + path)
        assert response.status < 400, (path, response.status)
        assert "content-security-policy" in response.headers, path
        page.wait_for_load_state("networkidle")
        assert violations(page, console) == [], path
        checked.append(path)
    assert len(checked) == 15

    # The insights charts draw (inline SVG, coloured by classes from studio.css).
    page.goto(live_server.url + reverse("insights:dashboard") + "?started_from=2025-01-01")
    expect(page.locator("#chart-incidents svg.chart")).to_be_visible()
    fill = page.locator("#chart-incidents svg rect").first.evaluate("r => getComputedStyle(r).fill")
    assert fill != "rgb(0, 0, 0)"

    # htmx works: open a section's editor and save it; its indicator styles come from our CSS.
    page.goto(live_server.url + incident.get_absolute_url())
    section = page.locator("#body-root_cause")
    section.get_by_role("link", name="Edit Root Cause").click()
    form = section.locator("form[data-edit-form]")
    form.locator("textarea").first.fill("The pool ran dry under the CSP.")
    form.get_by_role("button", name="Save").click()
    expect(section).to_contain_text("The pool ran dry under the CSP.")
    expect(section.locator("form")).to_have_count(0)
    assert violations(page, console) == []


def test_a_too_long_section_is_counted_down_and_refused_with_the_text_kept(
    sarah, open_as, live_server
):
    incident = Incident.objects.filter(
        postmortem__isnull=False, team__memberships__user=sarah
    ).first()
    page = open_as(sarah, incident.get_absolute_url())
    section = page.locator("#body-root_cause")
    section.get_by_role("link", name="Edit Root Cause").click()
    editor = section.locator("form[data-edit-form] textarea").first
    editor.fill("a" * 45_000)
    expect(section.locator(".limit-counter").first).to_have_text("5,000 characters left")
    editor.fill("a" * 50_010)
    expect(section.locator(".limit-counter").first).to_have_text(
        "10 characters over the limit of 50,000"
    )
    section.get_by_role("button", name="Save").click()
    expect(section).to_contain_text("Ensure this value has at most 50000 characters")
    assert section.locator("form[data-edit-form] textarea").first.input_value() == "a" * 50_010


def test_a_new_api_token_is_selected_without_an_inline_handler(sarah, open_as, live_server):
    page = open_as(sarah, reverse("api:tokens"))
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.context.add_init_script(WATCH)
    page.reload()
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token")
    expect(token).to_be_visible()
    selected = page.evaluate(
        "() => window.getSelection().toString() || document.activeElement.value.substring(document.activeElement.selectionStart, document.activeElement.selectionEnd)"
    )
    assert selected.startswith("pms_")
    assert violations(page, console) == []
