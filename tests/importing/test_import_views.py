"""Importing through the page (HTMX preview, then confirm) and the command line."""

import html
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from incidents.models import Incident
from postmortems.models import Postmortem, Revision
from tests.conftest import HTMX

pytestmark = pytest.mark.django_db
URL = reverse("incidents:import")

DOCUMENT = """# Postmortem: Checkout outage

**Incident ID:** PD-4242
**Date:** 2026-03-02
**Duration:** 1 hour 10 minutes (14:00 UTC - 15:10 UTC)
**Severity:** P1 (Critical)

## Summary

Checkout failed for **70 minutes**. It’s fixed.

## Timeline (All times UTC)

| Time | Action | Person | Notes |
|------|--------|--------|-------|
| 14:00 | Error rate alert fired | Monitoring | PagerDuty |
| 14:05 | Status page updated | Mike | |

### Detection
- **First Alert:** 14:01 - Prometheus alert: 5xx above 2%

## Root Cause Analysis

A connection leak in v2.5.3.

```python
conn = get_db_connection()
```

## Action Items

| Action | Owner | Due | Priority | Status |
|--------|-------|-----|----------|--------|
| Add a pool alert | Jane | 2026-03-09 | P1 | 🔄 In Progress |
| Load test | QA Team | 2026-03-20 | P2 | 📋 Planned |

## Customer Quotes

> "Checkout is down again?"
"""


def preview(client, **data):
    data = {"team": data.pop("team"), "template": "", "zone": "UTC", **data}
    return client.post(URL, data, **HTMX)


def test_the_page_offers_upload_paste_team_and_template(author_client):
    body = author_client.get(URL).content.decode()
    for text in ("Markdown file", "Or paste the Markdown", "Team", "Detect from the document"):
        assert text in body


def test_preview_says_what_goes_where_and_writes_nothing(author_client, team, teammate):
    response = preview(author_client, team=team.pk, text=DOCUMENT)
    body = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Preview: Checkout outage" in body
    assert "Timeline</td><td>3 rows" in body
    assert "Action items</td><td>2 rows" in body
    assert "Additional section: Customer Quotes" in body
    assert "Jane → Jane Park (jane)" in body
    assert 'Owner "QA Team" has no account in this team: kept as the owner\'s name.' in body
    assert "14:01 → " not in body  # times are shown as written, then in UTC
    assert "2026-03-02 14:01" in body
    assert not Incident.objects.exists()


def test_confirm_writes_everything_at_once_and_redirects(author_client, team, author):
    response = preview(author_client, team=team.pk, text=DOCUMENT, confirm="1")
    incident = Incident.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == incident.get_absolute_url()
    assert (incident.title, incident.external_id, incident.severity) == (
        "Checkout outage", "PD-4242", "SEV1")  # fmt: skip
    postmortem = incident.postmortem
    assert postmortem.template == "incident_postmortem"
    assert "It’s fixed." in postmortem.executive_summary
    assert "```python\nconn = get_db_connection()\n```" in postmortem.root_cause
    events = list(incident.timeline_events.values_list("description", "actor", "notes", "kind"))
    assert events == [
        ("Error rate alert fired", "Monitoring", "PagerDuty", "alert"),
        ("**First Alert:** Prometheus alert: 5xx above 2%", "", "", "alert"),
        ("Status page updated", "Mike", "", "communication"),
    ]
    items = list(postmortem.action_items.all())
    assert [(i.owner, i.owner_name, i.status) for i in items] == [
        (author, "", "in_progress"),
        (None, "QA Team", "open"),
    ]
    additional = {s.title: s.body for s in postmortem.additional_sections.all()}
    assert additional["Customer Quotes"] == '> "Checkout is down again?"'
    assert additional["Timeline notes"] == "#### Detection"  # the phase heading, kept
    assert list(postmortem.authors.all()) == [author]
    assert Revision.objects.filter(incident=incident, note="imported").count() >= 5


def test_a_file_upload_imports_the_same(author_client, team):
    upload = SimpleUploadedFile("pm.md", DOCUMENT.encode("utf-8"), "text/markdown")
    response = author_client.post(
        URL, {"team": team.pk, "file": upload, "confirm": "1", "zone": "UTC"}, **HTMX
    )
    assert response.status_code == 200
    assert Incident.objects.get().title == "Checkout outage"


def test_without_javascript_the_preview_is_a_page_and_confirm_redirects(author_client, team):
    page = author_client.post(URL, {"team": team.pk, "text": DOCUMENT, "zone": "UTC"})
    assert "<h1>Import a postmortem</h1>" in page.content.decode()
    assert "Preview: Checkout outage" in page.content.decode()
    done = author_client.post(URL, {"team": team.pk, "text": DOCUMENT, "confirm": "1"})
    assert done.status_code == 302
    assert done["Location"] == Incident.objects.get().get_absolute_url()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose a Markdown file or paste the document"),
        ({"text": "just a sentence, no structure"}, "This does not look like a postmortem"),
        ({"text": DOCUMENT, "zone": "Mars/Olympus"}, "is not a time zone"),
    ],
)
def test_bad_input_gets_a_clear_message_and_writes_nothing(author_client, team, data, message):
    response = preview(author_client, team=team.pk, **data)
    assert response.status_code == 422
    assert message in html.unescape(response.content.decode())
    assert not Incident.objects.exists()


def test_a_binary_file_is_refused(author_client, team):
    upload = SimpleUploadedFile("pm.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png")
    response = author_client.post(URL, {"team": team.pk, "file": upload}, **HTMX)
    assert response.status_code == 422
    assert "not a text file" in response.content.decode()
    assert not Incident.objects.exists()


def test_a_20_mb_file_is_refused(author_client, team):
    upload = SimpleUploadedFile("big.md", b"# Big\n" + b"x" * (20 * 1024 * 1024), "text/markdown")
    response = author_client.post(URL, {"team": team.pk, "file": upload}, **HTMX)
    assert response.status_code == 422
    assert "import at most 2 MB" in response.content.decode()
    assert not Incident.objects.exists()


def test_a_timeline_table_without_a_time_column_is_kept_as_notes_and_said(author_client, team):
    text = "# Outage\n\n## Timeline\n\n| Event | Who |\n|---|---|\n| Paged | Jane |\n"
    body = html.unescape(preview(author_client, team=team.pk, text=text).content.decode())
    assert "a timeline table needs a time column" in body
    preview(author_client, team=team.pk, text=text, confirm="1")
    notes = Postmortem.objects.get().additional_sections.get(title="Timeline notes")
    assert "| Paged | Jane |" in notes.body


def test_a_duplicate_of_an_existing_incident_is_flagged(author_client, team):
    preview(author_client, team=team.pk, text=DOCUMENT, confirm="1")
    body = html.unescape(preview(author_client, team=team.pk, text=DOCUMENT).content.decode())
    reference = Incident.objects.get().reference
    assert f"Possibly a duplicate of {reference}" in body


def test_only_into_ones_own_team(client, outsider, team):
    client.force_login(outsider)
    response = preview(client, team=team.pk, text=DOCUMENT, confirm="1")
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert not Incident.objects.exists()


def test_import_command_prints_the_reference_on_its_last_line(tmp_path, team, author):
    path = tmp_path / "pm.md"
    path.write_text(DOCUMENT, encoding="utf-8")
    out = io.StringIO()
    call_command("import_postmortem", str(path), team=team.slug, author="jane", stdout=out)
    lines = out.getvalue().strip().splitlines()
    incident = Incident.objects.get()
    assert lines[-1] == incident.reference
    assert "Title: Checkout outage" in lines
    assert "  Action items: 2 rows" in lines
    assert incident.created_by == author


def test_import_command_dry_run_writes_nothing(tmp_path, team):
    path = tmp_path / "pm.md"
    path.write_text(DOCUMENT, encoding="utf-8")
    out = io.StringIO()
    call_command("import_postmortem", str(path), team=team.slug, dry_run=True, stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "Dry run: nothing was written."
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"team": "nope"}, 'No team with the slug "nope"'),
        ({"team": "payments", "author": "nobody"}, 'No user "nobody"'),
    ],
)
def test_import_command_says_what_is_wrong(tmp_path, team, args, message):
    path = tmp_path / "pm.md"
    path.write_text(DOCUMENT, encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        call_command("import_postmortem", str(path), **args)
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_postmortem", str(tmp_path / "missing.md"), team=team.slug)


def test_import_command_reads_standard_input(monkeypatch, team):
    """`manage.py import_postmortem - --team payments < pm.md`: the command used to read
    self.stdin, which a command does not have (AttributeError)."""
    piped = io.TextIOWrapper(io.BytesIO(DOCUMENT.encode("utf-8")), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", piped)
    out = io.StringIO()
    call_command("import_postmortem", "-", team=team.slug, stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == Incident.objects.get().reference
    assert Incident.objects.get().title == "Checkout outage"


def test_import_command_reads_a_stream_it_is_given(team):
    out = io.StringIO()
    stream = io.BytesIO(DOCUMENT.encode("cp1252", "replace"))
    call_command("import_postmortem", "-", team=team.slug, stdin=stream, stdout=out)
    assert Incident.objects.get().title == "Checkout outage"


def test_an_upload_of_unknown_size_is_read_and_still_limited():
    """An upload may not announce its size (UploadedFile.size is None): read_upload used to
    raise TypeError comparing None with the limit; now what is read decides. (The page's
    FileField refuses such an upload as empty first; other callers, e.g. a script, do not.)"""
    from django.core.files.uploadedfile import UploadedFile

    from postmortems.importing.service import MAX_IMPORT_BYTES, ImportRefused, read_upload

    unknown = UploadedFile(io.BytesIO(DOCUMENT.encode("utf-8")), name="pm.md", size=None)
    assert read_upload(unknown).startswith("# Postmortem: Checkout outage")

    too_big = io.BytesIO(b"x" * (MAX_IMPORT_BYTES + 1))
    with pytest.raises(ImportRefused, match="at most 2 MB"):
        read_upload(UploadedFile(too_big, name="big.md", size=None))
