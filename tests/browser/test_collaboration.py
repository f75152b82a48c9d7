"""Two people write one postmortem at the same time, each in their own Chromium context."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from incidents.models import Incident
from postmortems.models import Postmortem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo():
    call_command("seed_demo", password="browser-test")
    users = get_user_model().objects
    incident = Incident.objects.get(title__startswith="Application unavailable")
    return incident, users.get(username="jane"), users.get(username="mike")


def edit_section(page, key, title):
    page.locator(f"#body-{key}").get_by_role("link", name=f"Edit {title}").click()
    return page.locator(f"#body-{key} form[data-edit-form]")


def test_an_edit_appears_on_the_other_screen_and_presence_shows_both(demo, open_as, artifacts):
    incident, jane, mike = demo
    jane_page = open_as(jane, incident.get_absolute_url())
    mike_page = open_as(mike, incident.get_absolute_url())
    expect(jane_page.locator("#presence")).to_contain_text("Also here: Mike Alvarez")
    expect(mike_page.locator("#presence")).to_contain_text("Jane Park")

    form = edit_section(jane_page, "root_cause", "Root Cause")
    expect(mike_page.locator("#presence")).to_contain_text("editing Root Cause")
    expect(mike_page.locator("#editors-root_cause")).to_have_text("✎ Jane Park editing")
    textarea = form.get_by_label("Root cause")
    expect(textarea).to_be_focused()  # the cursor is in the form as soon as it opens
    textarea.fill("Connection leak in the **payment service** error path.")
    textarea.press("Control+Enter")  # keyboard save

    expect(jane_page.locator("#body-root_cause strong")).to_have_text("payment service")
    expect(jane_page.locator("#body-root_cause form")).to_have_count(0)
    # Mike did nothing: the poll brings the new text to his screen.
    expect(mike_page.locator("#body-root_cause")).to_contain_text(
        "Connection leak in the payment service error path.", timeout=8_000
    )
    expect(mike_page.locator("#editors-root_cause")).to_have_text("")
    jane_page.screenshot(path=artifacts / "postmortem-page.png", full_page=True)


def test_escape_cancels_without_saving(demo, open_as):
    incident, jane, _mike = demo
    page = open_as(jane, incident.get_absolute_url())
    form = edit_section(page, "lessons_learned", "Key Lessons")
    form.get_by_label("Lessons learned").fill("Thrown away")
    form.get_by_label("Lessons learned").press("Escape")
    expect(page.locator("#body-lessons_learned form")).to_have_count(0)
    expect(page.locator("#body-lessons_learned")).not_to_contain_text("Thrown away")
    assert "Thrown away" not in Postmortem.objects.get(incident=incident).lessons_learned


def test_both_edit_one_section_and_the_second_save_shows_the_conflict(demo, open_as, artifacts):
    incident, jane, mike = demo
    jane_page = open_as(jane, incident.get_absolute_url())
    mike_page = open_as(mike, incident.get_absolute_url())
    jane_form = edit_section(jane_page, "went_well", "What Went Well")
    mike_form = edit_section(mike_page, "went_well", "What Went Well")
    mike_form.get_by_label("What went well").fill("Mike: paging worked")

    jane_form.get_by_label("What went well").fill("Jane: the runbook helped")
    jane_form.get_by_role("button", name="Save").click()
    expect(jane_page.locator("#body-went_well")).to_contain_text("Jane: the runbook helped")

    # Mike's open editor is not refreshed under him by the poll...
    mike_page.wait_for_timeout(2_500)
    expect(mike_form.get_by_label("What went well")).to_have_value("Mike: paging worked")
    # ...and his save does not overwrite Jane's: he gets both texts side by side.
    mike_form.get_by_role("button", name="Save").click()
    conflict = mike_page.locator("#body-went_well .conflict")
    expect(conflict).to_contain_text("Jane Park saved this section")
    expect(conflict.locator("pre.theirs")).to_have_text("Jane: the runbook helped")
    expect(conflict.locator("pre.yours")).to_have_text("Mike: paging worked")
    mike_page.screenshot(path=artifacts / "conflict.png", full_page=False)
    assert Postmortem.objects.get(incident=incident).went_well == "Jane: the runbook helped"

    merged = mike_page.locator("#body-went_well").get_by_label("What went well")
    merged.fill("Jane: the runbook helped\nMike: paging worked")
    mike_page.locator("#body-went_well").get_by_role("button", name="Save merged text").click()
    expect(mike_page.locator("#body-went_well .conflict")).to_have_count(0)
    expect(mike_page.locator("#body-went_well")).to_contain_text("Mike: paging worked")
    expect(jane_page.locator("#body-went_well")).to_contain_text(
        "Mike: paging worked", timeout=8_000
    )
    assert Postmortem.objects.get(incident=incident).went_well == (
        "Jane: the runbook helped\nMike: paging worked"
    )


def test_a_timeline_event_added_inline_appears_in_order(demo, open_as):
    incident, jane, mike = demo
    jane_page = open_as(jane, incident.get_absolute_url())
    mike_page = open_as(mike, incident.get_absolute_url())
    timeline = jane_page.locator("#body-timeline")
    timeline.get_by_role("link", name="+ Add event").click()
    form = timeline.locator("#new-form-timeline form")
    form.get_by_label("Time (UTC)").fill(f"{incident.started_at:%Y-%m-%d}T14:11")
    form.get_by_label("Kind").select_option("decision")
    form.get_by_label("Event").fill("Decided to page the DBA")
    form.get_by_label("Actor").fill("SRE (Jane)")
    form.get_by_label("Key decision").check()
    form.get_by_role("button", name="Add").click()

    rows = jane_page.locator("#body-timeline tbody tr")
    expect(rows).to_have_count(16)
    texts = rows.all_inner_texts()
    position = next(i for i, text in enumerate(texts) if "Decided to page the DBA" in text)
    assert "Identified connection leak" in texts[position - 1]  # 14:10
    assert "Decision: Restart payment service" in texts[position + 1]  # 14:12
    assert re.search(r"14:11", texts[position])
    expect(rows.nth(position)).to_have_class("key-decision")
    expect(mike_page.locator("#body-timeline")).to_contain_text(
        "Decided to page the DBA", timeout=8_000
    )
