"""Importing a postmortem file in a real browser: upload, preview, confirm, land on it."""

import pytest
from playwright.sync_api import expect

from incidents.models import Incident
from postmortems.demo import demo_documents

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_upload_a_file_see_the_preview_and_confirm(open_as, author, team, tmp_path, artifacts):
    document = demo_documents()[0]
    page = open_as(author, "/incidents/import/")
    page.get_by_label("Markdown file").set_input_files(str(document))
    page.get_by_role("button", name="Preview the import").click()
    preview = page.locator("#import-preview")
    expect(preview).to_contain_text("Preview: Checkout outage: connection leak in v2.5.3")
    expect(preview).to_contain_text("Timeline")
    assert not Incident.objects.exists()  # nothing written before the confirm
    page.screenshot(path=str(artifacts / "import-preview.png"), full_page=True)
    preview.get_by_role("button", name="Import into Payments").click()
    expect(page.locator("h1")).to_contain_text("Checkout outage: connection leak in v2.5.3")
    incident = Incident.objects.get()
    assert page.url.endswith(incident.get_absolute_url())
    assert incident.postmortem.action_items.count() == 13
    expect(page.locator("#section-timeline")).to_contain_text("Rollback initiated")
