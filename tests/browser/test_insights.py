"""Insights, search and related incidents in real Chromium, on the demo's data."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from incidents.models import Incident, IncidentLink
from insights.indexing import reindex_incidents

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTS = [
    "incidents",
    "response",
    "services_count",
    "services_minutes",
    "tags_count",
    "tags_minutes",
    "repeats",
    "action_items",
    "closure",
    "overdue",
    "publish",
    "approval",
]


@pytest.fixture
def jane():
    call_command("seed_demo", password="browser-test")
    # The demo bulk-inserts its timelines; a worker's first sweep would index them.
    reindex_incidents(Incident.objects.values_list("pk", flat=True))
    return get_user_model().objects.get(username="jane")


def test_insights_draws_every_chart_with_its_numbers(jane, open_as, artifacts):
    page = open_as(jane, "/insights/?started_from=2025-01-01")
    for key in CHARTS:
        figure = page.locator(f"#chart-{key}")
        svg = figure.locator("svg.chart")
        expect(svg).to_be_visible()
        box = svg.bounding_box()
        assert box["width"] > 250 and box["height"] > 80, key
        expect(figure.locator("table.chart-table tbody tr").first).to_be_visible()
    # Bars and lines are drawn, with sizes from the numbers, in the series colours.
    bars = page.locator("#chart-incidents svg rect")
    assert bars.count() == 4  # the demo's four incidents, one bar part per month and severity
    assert all(bars.nth(n).bounding_box()["height"] > 5 for n in range(bars.count()))
    fill = bars.first.evaluate("rect => getComputedStyle(rect).fill")
    assert fill.startswith("rgb(") and fill != "rgb(0, 0, 0)"
    expect(page.locator("#chart-response svg circle").first).to_be_visible()  # one per point
    expect(page.locator("#chart-overdue svg rect").first).to_be_visible()
    # The chart's text is drawn in the page's text colour, so it follows light and dark.
    text_fill = page.locator("#chart-incidents svg .axis text").first.evaluate(
        "t => getComputedStyle(t).fill"
    )
    figure_color = page.locator("#chart-incidents").evaluate("f => getComputedStyle(f).color")
    assert text_fill == figure_color
    page.screenshot(path=artifacts / "insights.png", full_page=True)

    with page.expect_download() as download:
        page.locator("#chart-incidents").get_by_role(
            "link", name=re.compile("Download CSV")
        ).click()
    lines = download.value.path().read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Month,SEV1,SEV2,SEV3,Total"
    checkout = Incident.objects.get(title__startswith="Checkout outage")  # alone in its month
    assert f"{checkout.started_at:%Y-%m},1,0,0,1" in lines


def test_insights_reads_in_dark_mode_and_prints(jane, chromium, live_server):
    from django.test import Client

    client = Client()
    client.force_login(jane)
    for options in ({"color_scheme": "dark"}, {}):
        context = chromium.new_context(viewport={"width": 1024, "height": 800}, **options)
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        page = context.new_page()
        page.goto(live_server.url + "/insights/?started_from=2025-01-01")
        if not options:
            page.emulate_media(media="print")
        expect(page.locator("#chart-incidents svg rect").first).to_be_visible()
        expect(page.locator("#chart-incidents table")).to_be_visible()
        if not options:  # printed: no download links, no search box; charts and tables stay
            expect(page.locator(".chart-actions").first).to_be_hidden()
            expect(page.locator(".site-search")).to_be_hidden()
        context.close()


def test_a_phrase_typed_in_the_header_finds_the_postmortem_and_opens_the_section(
    jane, open_as, artifacts
):
    page = open_as(jane, "/my-work/")
    box = page.get_by_label("Search postmortems")
    box.fill('"properly close database connections"')
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q="))
    result = page.locator(".search-result", has_text="Checkout outage: connection leak in v2.5.3")
    expect(result.locator("mark").first).to_be_visible()
    page.screenshot(path=artifacts / "search.png", full_page=True)
    result.get_by_role("link", name="Root cause").click()
    expect(page).to_have_url(re.compile(r"/incidents/INC-\d{4}-\d{4}/#section-root_cause$"))
    expect(page.locator("#section-root_cause")).to_be_in_viewport()


def test_a_similar_incident_is_linked_with_a_note_from_the_document(jane, open_as):
    incident = Incident.objects.get(title__startswith="API unavailable during flash sale")
    IncidentLink.objects.filter(incident=incident).delete()
    page = open_as(jane, incident.get_absolute_url())
    earlier = Incident.objects.get(title="Database connection pool exhausted")
    page.locator("#body-related_incidents").scroll_into_view_if_needed()
    similar = page.locator(".similar li", has_text=earlier.reference)
    expect(similar).to_be_visible()
    similar.get_by_role("link", name=re.compile("Link")).click()
    form = page.locator("#new-related_incidents form[data-edit-form]")
    expect(form.get_by_label("Related incident")).to_have_value(earlier.reference)
    form.get_by_label("Note").fill("Same pool, a year apart")
    form.get_by_label("Note").press("Control+Enter")
    links = page.locator("#body-related_incidents .links")
    expect(links).to_contain_text(f"{earlier.reference}")
    expect(links).to_contain_text("Same pool, a year apart")
    assert IncidentLink.objects.filter(incident=incident, related=earlier).exists()
