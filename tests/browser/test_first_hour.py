"""A writer's first hour, in Chromium: log in, My work, open a postmortem, jump by the table
of contents, edit with the keyboard, paste a screenshot, reload mid-edit and get the text
back, save. Any console error, failed request or HTTP error on any page fails the test, and
axe-core finds no serious or critical violation on the pages a writer meets first."""

import base64
import json
import re
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from incidents.models import Incident
from postmortems.document import Document
from postmortems.models import Attachment, Postmortem
from postmortems.services import get_document_for, save_section

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
PASSWORD = "browser-test"
# A 4x4 red PNG, as a screenshot pasted from the clipboard would arrive.
PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEklEQVR4nGP4z8CAB+GTG8HSALfKY52fOI8r"
    "AAAAAElFTkSuQmCC"
)
PASTE = """([field, b64]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], "image.png", { type: "image/png" }));
  field.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
}"""


@pytest.fixture
def demo(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", password=PASSWORD)
    incident = Incident.objects.get(title__startswith="Application unavailable")
    jane = get_user_model().objects.get(username="jane")
    # Jane is writing this one: it is on her My work page.
    incident.postmortem.authors.add(jane)
    Postmortem.objects.filter(incident=incident).update(status=Postmortem.Status.DRAFT)
    return incident, jane


class Watch:
    """Everything that went wrong in the browser, on every page the test opens."""

    def __init__(self, page):
        self.problems = []
        page.on("console", self.console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", self.failed)
        page.on("response", self.response)

    def console(self, message):
        if message.type == "error":
            self.problems.append(f"console error: {message.text} ({message.location})")

    def failed(self, request):
        # The presence poll and the leave beacon are cut off by the reload the test makes.
        aborted = request.failure == "net::ERR_ABORTED" and "/presence/" in request.url
        if not aborted:
            self.problems.append(f"request failed: {request.url} {request.failure}")

    def response(self, response):
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def check(self):
        assert self.problems == []


def save_with_keys(page):
    """Ctrl+Enter: the save answers 200, then a moment for the contents and the review panel to
    refresh themselves (a reload at once would cut those requests off)."""
    with page.expect_response(
        lambda r: r.request.method == "POST" and "/sections/" in r.url, timeout=20_000
    ) as saved:
        page.keyboard.press("Control+Enter")
    assert saved.value.status == 200, saved.value.status
    page.wait_for_timeout(800)  # the refreshes wait 300-400 ms after a save, then go out


def axe_check(page, name, results):
    """Run the vendored axe-core on the page; no serious or critical violation."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    report = page.evaluate("() => axe.run(document).then((r) => JSON.stringify(r.violations))")
    violations = json.loads(report)
    results[name] = {
        v["id"]: {"impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:30]}
        for v in violations
    }
    severe = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert severe == [], f"axe on {name}"


def test_a_writers_first_hour(demo, chromium, live_server, fast_polling, artifacts):
    incident, _jane = demo
    started = time.monotonic()
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    watch = Watch(page)
    unload_prompts = []

    def on_dialog(dialog):
        unload_prompts.append(dialog.type)
        dialog.accept()

    page.on("dialog", on_dialog)
    axe_results = {}
    try:
        # Log in, then My work (where login lands once LOGIN_REDIRECT_URL says so).
        page.goto(live_server.url + "/accounts/login/")
        page.get_by_label("Username").fill("jane")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        page.goto(live_server.url + "/my-work/")
        expect(page.get_by_role("heading", name="My work", level=1)).to_be_visible()
        axe_check(page, "My work", axe_results)

        # Open the postmortem from "Postmortems I am writing".
        writing = page.locator("section[aria-labelledby=writing-title]")
        writing.get_by_role("link", name=f"{incident.reference} {incident.title}").click()
        expect(page.locator("#presence")).to_contain_text("here")
        toc = page.get_by_role("navigation", name="Contents")
        expect(toc).to_be_visible()
        axe_check(page, "document page", axe_results)

        # Jump by the table of contents: the section's heading has the focus.
        toc.get_by_role("link", name="Key Lessons").click()
        heading = page.locator("#section-lessons_learned-title")
        expect(heading).to_be_focused()
        expect(heading).to_be_in_viewport()

        # "?" shows the keys; Esc closes the dialog.
        page.keyboard.press("?")
        help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
        expect(help_dialog).to_be_visible()
        expect(help_dialog).to_contain_text("Edit the section in view")
        page.keyboard.press("Escape")
        expect(help_dialog).to_be_hidden()

        # e edits the section in view; type; Ctrl+Enter saves.
        body = page.locator("#body-lessons_learned")
        page.keyboard.press("e")
        field = body.get_by_label("Lessons learned")
        expect(field).to_be_focused()
        page.keyboard.press("Control+End")
        page.keyboard.type("\n\nPool limits need an alert.")
        save_with_keys(page)
        expect(body.locator("form")).to_have_count(0)
        expect(body).to_contain_text("Pool limits need an alert.")

        # Edit again and paste a screenshot: it uploads and its Markdown lands at the cursor.
        heading.focus()
        page.keyboard.press("e")
        expect(field).to_be_focused()
        page.keyboard.press("Control+End")
        page.keyboard.type("\n\nThe pool graph: ")
        page.evaluate(PASTE, [field.element_handle(), PNG_B64])
        expect(field).to_have_value(
            re.compile(r"The pool graph: !\[image\.png\]\(/incidents/[^)]+/image\.png\)$")
        )
        page.keyboard.type(" (p99 latency)")
        typed = field.input_value()
        page.wait_for_timeout(400)  # the draft is written a moment after the last key

        # Reload mid-edit: the browser asks first, and the text is offered back.
        page.reload()
        assert unload_prompts == ["beforeunload"]
        offer = body.locator(".draft-offer")
        expect(offer).to_contain_text("Restore your unsaved text?")
        axe_check(page, "document page with a draft offered", axe_results)
        offer.get_by_role("button", name="Restore").click()
        expect(field).to_have_value(typed)
        expect(field).to_be_focused()

        # Save: the image shows in the section, and the draft is gone.
        save_with_keys(page)
        expect(body.locator("form")).to_have_count(0)
        image = body.locator("img[alt='image.png']")
        expect(image).to_be_visible()
        assert image.evaluate("(img) => img.complete && img.naturalWidth") == 4
        drafts = page.evaluate(
            "() => Object.keys(localStorage).filter((k) => k.startsWith('pm-draft:'))"
        )
        assert drafts == []
        saved = Postmortem.objects.get(incident=incident).lessons_learned
        assert saved.replace("\r\n", "\n") == typed
        assert Attachment.objects.filter(postmortem__incident=incident).count() == 1
        # The table of contents shows the section filled.
        expect(toc.locator("li[data-key=lessons_learned]")).not_to_have_class("toc-empty")
        page.screenshot(path=artifacts / "first-hour.png", full_page=False)

        # No question when leaving a page with nothing unsaved.
        page.goto(live_server.url + "/incidents/new/")
        assert unload_prompts == ["beforeunload"]
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        axe_check(page, "new incident form", axe_results)
        watch.check()
    finally:
        duration = time.monotonic() - started
        (artifacts / "first-hour-axe.json").write_text(
            json.dumps({"seconds": round(duration, 1), "violations": axe_results}, indent=2)
        )
        context.close()


def test_text_refused_by_a_conflict_survives_a_reload(demo, open_as, live_server):
    """A 409 keeps the writer's text in the form; the draft follows it to the version the
    form now carries, so a reload still offers it back and saving it then applies."""
    incident, jane = demo
    mike = get_user_model().objects.get(username="mike")
    key = "went_well"

    def save_as(user, text):
        current = get_document_for(user, incident.reference, edit=True, keys=[key])
        version = Document(current, user).versions.get(key, 0)
        save_section(current, key, {key: text}, user, version)

    save_as(mike, "Paging worked.")
    page = open_as(jane, incident.get_absolute_url())
    watch = Watch(page)
    page.on("dialog", lambda dialog: dialog.accept())
    body = page.locator(f"#body-{key}")
    body.locator("a[data-edit-link]").click()
    field = body.get_by_label("What went well")
    field.fill("The runbook helped.")
    save_as(mike, "Paging worked within a minute.")  # Mike saves first
    field.press("Control+Enter")
    expect(body.locator(".conflict")).to_contain_text("saved this section")
    expect(field).to_have_value("The runbook helped.")
    page.wait_for_timeout(100)

    page.reload()
    offer = body.locator(".draft-offer")
    expect(offer).to_contain_text("Restore your unsaved text?")
    offer.get_by_role("button", name="Restore").click()
    expect(field).to_have_value("The runbook helped.")
    field.fill("Paging worked within a minute.\nThe runbook helped.")
    field.press("Control+Enter")
    expect(body.locator("form")).to_have_count(0)
    expect(body).to_contain_text("The runbook helped.")
    postmortem = Postmortem.objects.get(incident=incident)
    assert postmortem.went_well == "Paging worked within a minute.\nThe runbook helped."
    assert (
        page.evaluate("() => Object.keys(localStorage).filter((k) => k.startsWith('pm-draft:'))")
        == []
    )
    # The conflict answered 409 (Chromium logs it too), which is the point; nothing else
    # went wrong.
    assert [p for p in watch.problems if "409" not in p] == []
    assert len(watch.problems) == 2


def test_on_a_narrow_screen_the_contents_fold_away(demo, open_as):
    incident, jane = demo
    page = open_as(jane, incident.get_absolute_url())
    rail = page.locator(".toc")
    assert rail.evaluate("(nav) => getComputedStyle(nav).position") == "sticky"
    page.set_viewport_size({"width": 600, "height": 900})
    page.reload()
    box = page.locator("details[data-toc]")
    expect(box).not_to_have_attribute("open", "")
    assert rail.evaluate("(nav) => getComputedStyle(nav).position") == "static"
    page.get_by_text("Contents", exact=True).click()
    expect(box).to_have_attribute("open", "")
    page.get_by_role("navigation", name="Contents").get_by_role(
        "link", name="What Went Well"
    ).click()
    expect(box).not_to_have_attribute("open", "")  # out of the way once it has been used
    expect(page.locator("#section-went_well-title")).to_be_focused()


def test_a_refused_file_says_why_next_to_the_field(demo, open_as):
    incident, jane = demo
    page = open_as(jane, incident.get_absolute_url())
    watch = Watch(page)
    body = page.locator("#body-went_well")
    body.locator("a[data-edit-link]").click()
    field = body.get_by_label("What went well")
    field.fill("Before ")
    svg = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg"/>').decode()
    page.evaluate(PASTE.replace("image.png", "graph.png"), [field.element_handle(), svg])
    error = body.locator(".upload-error")
    expect(error).to_have_text(
        "SVG and HTML cannot be attached; only PNG, JPEG, GIF or WebP images, PDF, or plain text."
    )
    expect(error).to_have_attribute("role", "alert")
    expect(field).to_have_value("Before ")  # the placeholder is gone, the text is intact
    assert not Attachment.objects.exists()
    assert all("415" in problem for problem in watch.problems) and watch.problems
