"""A Slack channel into the timeline: preview, confirm, and a progress bar for large ones."""

import html
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from incidents.models import TimelineEvent
from integrations.models import SlackImportJob
from postmortems.models import Revision
from tests.conftest import HTMX
from tests.integrations.test_slack_import import COPIED, export, message

pytestmark = pytest.mark.django_db


def url(postmortem):
    return reverse("integrations:slack_import", args=[postmortem.incident.reference])


def test_copied_text_is_previewed_with_people_matched_then_added(author_client, postmortem):
    response = author_client.post(url(postmortem), {"text": COPIED, "day": "2026-03-02",
                                                   "zone": "UTC"})  # fmt: skip
    body = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "5 messages will be added" in body
    assert "Jane Park → Jane Park (jane)" in body
    assert "PagerDuty → kept as written: has no account in this team" in body
    assert not TimelineEvent.objects.exists()

    job = SlackImportJob.objects.get()
    done = author_client.post(reverse("integrations:slack_import_start", args=[job.pk]), **HTMX)
    assert done["HX-Redirect"].endswith("#section-timeline")
    events = list(TimelineEvent.objects.values_list("occurred_at", "actor", "description"))
    assert events[0] == (
        datetime(2026, 3, 2, 14, 2, tzinfo=UTC), "Jane Park", "Seeing 500s on checkout\nerror rate 12%"
    )  # fmt: skip
    assert events[3][1:] == ("PagerDuty", "Resolved: checkout errors")
    assert Revision.objects.filter(section="timeline").count() == 1
    # A second click does not add them again.
    author_client.post(reverse("integrations:slack_import_start", args=[job.pk]), **HTMX)
    assert TimelineEvent.objects.count() == 5


def test_messages_already_in_the_timeline_are_not_added_twice(author_client, postmortem):
    TimelineEvent.objects.create(
        incident=postmortem.incident,
        occurred_at=datetime(2026, 3, 2, 14, 10, tzinfo=UTC),
        description="rolling back build 9",
    )
    body = author_client.post(url(postmortem), {"text": COPIED, "day": "2026-03-02"}).content
    assert "1 already in the timeline will not be added again" in body.decode()


def test_a_5000_message_export_imports_with_a_progress_bar_in_under_30_seconds(
    author_client, postmortem, django_capture_on_commit_callbacks
):
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    days = {}
    for n in range(5000):
        moment = start + timedelta(seconds=61 * n)
        days.setdefault(f"{moment:%Y-%m-%d}", []).append(
            message(moment, user="U01JANE" if n % 2 else "U02MIKE", text=f"Message {n}")
        )
    upload = SimpleUploadedFile("export.zip", export(days), "application/zip")
    began = time.perf_counter()
    preview = author_client.post(url(postmortem), {"file": upload, "zone": "UTC"})
    assert "5000 messages will be added" in preview.content.decode()
    job = SlackImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        queued = author_client.post(
            reverse("integrations:slack_import_start", args=[job.pk]), **HTMX
        )
    elapsed = time.perf_counter() - began
    print(f"\nslack timeline import: 5000 messages in {elapsed:.1f} s")
    assert "<progress" in queued.content.decode()
    progress = author_client.get(
        reverse("integrations:slack_import_progress", args=[job.pk]), **HTMX
    ).content.decode()
    assert "Done: 5000 messages added to the timeline" in progress
    assert 'value="5000"' in progress and "every 1s" not in progress
    assert TimelineEvent.objects.filter(incident=postmortem.incident).count() == 5000
    assert elapsed < 30


def test_the_progress_bar_polls_while_the_worker_runs(author_client, postmortem, author):
    job = SlackImportJob.objects.create(
        incident=postmortem.incident, created_by=author, status="running", total=5000, done=2500
    )
    body = author_client.get(
        reverse("integrations:slack_import_progress", args=[job.pk]), **HTMX
    ).content.decode()
    assert 'hx-trigger="every 1s"' in body
    assert '<progress id="slack-progress-' in body and 'value="2500"' in body
    assert "Importing: 2500 of 5000 messages" in body


def test_bad_input_is_refused_with_the_reason(author_client, postmortem):
    empty = author_client.post(url(postmortem), {})
    assert empty.status_code == 422
    assert "Choose an export zip or paste" in html.unescape(empty.content.decode())
    broken = SimpleUploadedFile("export.zip", b"PK\x03\x04not really a zip", "application/zip")
    refused = author_client.post(url(postmortem), {"file": broken})
    assert refused.status_code == 422
    assert not SlackImportJob.objects.exists()


def test_other_teams_and_other_peoples_imports_are_404(client, outsider, teammate, postmortem,
                                                       author):  # fmt: skip
    client.force_login(outsider)
    assert client.get(url(postmortem)).status_code == 404
    job = SlackImportJob.objects.create(incident=postmortem.incident, created_by=author)
    client.force_login(teammate)
    start = reverse("integrations:slack_import_start", args=[job.pk])
    assert client.post(start).status_code == 404
    assert SlackImportJob.objects.get().status == "preview"
