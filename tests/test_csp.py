"""The Content-Security-Policy header, and templates that keep to it."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse


def directives(response):
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["login", "my_work", "incidents:list", "insights:dashboard"])
def test_every_page_carries_the_policy(client, author, name):
    if name != "login":
        client.force_login(author)
    response = client.get(reverse(name))
    assert response.status_code == 200
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]


@pytest.mark.django_db
def test_htmx_runs_without_eval_and_injected_styles(client, author):
    client.force_login(author)
    body = client.get(reverse("my_work")).content.decode()
    assert '"allowEval": false' in body
    assert '"selfRequestsOnly": true' in body
    assert '"includeIndicatorStyles": false' in body
    css = (Path(settings.BASE_DIR) / "static/css/studio.css").read_text()
    assert ".htmx-request .htmx-indicator" in css


@pytest.mark.django_db
def test_only_the_api_documentation_allows_inline_styles_and_never_inline_scripts(client, author):
    client.force_login(author)
    response = client.get(reverse("api:docs"))
    assert response.status_code == 200
    policy = directives(response)
    assert "'unsafe-inline'" in policy["style-src"]
    assert policy["script-src"] == ["'self'"]
    assert re.search(r"<script>\s*\S", response.content.decode()) is None  # ?script, a file
    assert client.get(reverse("api:docs") + "?script").status_code == 200


TEMPLATE_DIRS = ["templates", "*/templates"]
INLINE_HANDLER = re.compile(r"<[^>]*\s(on[a-z]+|hx-on[:\w-]*)\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.IGNORECASE)


def page_templates():
    base = Path(settings.BASE_DIR)
    for pattern in TEMPLATE_DIRS:
        for path in base.glob(f"{pattern}/**/*.html"):
            if ".venv" not in path.parts and "emails" not in path.parts:  # emails: no CSP
                yield path


def test_no_template_has_inline_script_handlers_or_styles():
    found = []
    checked = 0
    for path in page_templates():
        text = path.read_text()
        checked += 1
        for pattern in (INLINE_HANDLER, INLINE_SCRIPT, INLINE_STYLE):
            found += [f"{path}: {m.group(0)}" for m in pattern.finditer(text)]
    assert checked > 50
    assert found == []
