"""Real Chromium (Debian's package) driven by Playwright against Django's live server."""

import os
import threading
import time
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import skip_or_fail

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install playwright)")
    # Playwright's sync API keeps an event loop in this thread, which Django's guard against
    # blocking calls from async code mistakes for async code. Browser tests run last (see
    # tests/conftest.py), so lifting the guard here touches no other test.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture(autouse=True)
def requests_finish_before_the_flush(live_server):
    """After a browser test, wait for the live server's requests still running (a closed page's
    presence beacon, a last poll) before the database is flushed: a request holding row locks
    while TRUNCATE waits for the tables deadlocks, and the next test starts on a dirty
    database. ThreadingMixIn names each request's thread after process_request_thread."""
    yield
    time.sleep(0.2)  # a beacon sent as the page closed may not have reached the server yet
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
        "process_request_thread" in thread.name and thread.is_alive()
        for thread in threading.enumerate()
    ):
        time.sleep(0.05)


@pytest.fixture
def fast_polling(settings):
    settings.PRESENCE_POLL_SECONDS = 1


@pytest.fixture
def open_as(chromium, live_server, fast_polling):
    """open_as(user, path) -> a page in a browser context of its own, logged in as user."""
    contexts = []

    def open_page(user, path):
        client = Client()
        client.force_login(user)
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(live_server.url + path)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
