"""A long timeline in real Chromium: the first rows at once, the rest as they scroll into view,
every row's Edit link reachable with the keyboard alone, and "Show all"."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from incidents.models import Incident, Membership, Team, TimelineEvent
from postmortems.models import Postmortem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
ROWS = 35


@pytest.fixture
def long_timeline(settings, make_user):
    settings.ROWS_CHUNK = 10
    team = Team.objects.create(name="Payments", slug="payments")
    jane = make_user("jane", team, role=Membership.Role.MANAGER)
    incident = Incident.objects.create(
        title="Checkout failing",
        team=team,
        started_at=START,
        resolved_at=START + timedelta(hours=2),
    )
    Postmortem.objects.create(incident=incident).authors.add(jane)
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            incident=incident,
            occurred_at=START + timedelta(minutes=n),
            description=f"Event number {n}",
            position=n,
        )
        for n in range(ROWS)
    )
    return incident, jane


def test_rows_load_as_they_scroll_in_and_the_keyboard_reaches_every_edit_link(
    long_timeline, open_as
):
    incident, jane = long_timeline
    page = open_as(jane, incident.get_absolute_url())
    rows = page.locator("#body-timeline tbody tr[data-row]")
    expect(page.locator("#body-timeline")).to_contain_text("Event number 0")
    expect(page.locator("#body-timeline .more-rows").first).to_contain_text("Show all 35 rows")

    # Tab from the first row's Edit link to the last one, one key press at a time.
    edit_links = page.locator("#body-timeline a.row-edit")
    edit_links.first.focus()
    reached = set()
    for _ in range(3 * ROWS):
        focused = page.evaluate(
            "() => { const row = document.activeElement.closest('[data-row]');"
            " return row && document.activeElement.matches('a.row-edit') ? row.id : null; }"
        )
        if focused:
            reached.add(focused)
        if len(reached) == ROWS:
            break
        page.keyboard.press("Tab")
        page.wait_for_timeout(40)
    expected = {
        f"row-timeline-{pk}" for pk in incident.timeline_events.values_list("pk", flat=True)
    }
    assert reached == expected
    expect(rows).to_have_count(ROWS)
    expect(page.locator("#body-timeline .more-rows")).to_have_count(0)


def test_show_all_brings_every_row(long_timeline, open_as):
    incident, jane = long_timeline
    page = open_as(jane, incident.get_absolute_url())
    show_all = page.locator("#body-timeline .more-rows a").first
    show_all.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#body-timeline tbody tr[data-row]")).to_have_count(ROWS)
    expect(page.locator("#body-timeline")).to_contain_text(f"Event number {ROWS - 1}")


def test_a_row_edited_deep_in_the_list_is_saved_in_place(long_timeline, open_as):
    incident, jane = long_timeline
    page = open_as(jane, incident.get_absolute_url())
    page.locator("#body-timeline .more-rows a").first.click()  # show all
    event = incident.timeline_events.order_by("position")[30]
    row = page.locator(f"#row-timeline-{event.pk}")
    row.get_by_role("link", name="Edit").click()
    form = page.locator(f"#row-timeline-{event.pk} form[data-edit-form]")
    form.get_by_label("Event").fill("Rolled back the release")
    form.get_by_label("Event").press("Control+Enter")
    expect(page.locator(f"#row-timeline-{event.pk}")).to_contain_text("Rolled back the release")
    # Only that row was swapped: the rest of the list is still all there.
    expect(page.locator("#body-timeline tbody tr[data-row]")).to_have_count(ROWS)
    assert TimelineEvent.objects.get(pk=event.pk).description == "Rolled back the release"
