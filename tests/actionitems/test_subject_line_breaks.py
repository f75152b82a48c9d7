"""A title with a line break (typed through the API or an import) still gets its email: the
subject is put on one line instead of Django refusing the header and the send failing forever.
Found by the XSS corpus (tests/security), whose multi-line payloads went into titles."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from actionitems.models import ActionItem, Notification
from actionitems.tasks import run_sweeps
from postmortems.services import add_comment

NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_an_overdue_item_whose_title_has_line_breaks_is_reminded_on_one_subject_line(
    postmortem, author
):
    postmortem.status = "published"
    postmortem.save()
    incident = postmortem.incident
    incident.title = "Checkout\nfailing"
    incident.save()
    ActionItem.objects.create(postmortem=postmortem, title="Add a\r\npool alert", owner=author,
                              due_date=NOW.date() - timedelta(days=2))  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        run_sweeps()
    [message] = mail.outbox
    assert (
        message.subject == f"Action item: Add a pool alert ({incident.reference} Checkout failing)"
    )
    assert Notification.objects.get().status == "sent"


@pytest.mark.django_db
def test_a_mention_in_a_document_whose_title_has_line_breaks_is_emailed(
    postmortem, author, teammate, django_capture_on_commit_callbacks
):
    incident = postmortem.incident
    incident.title = "Checkout\n\nfailing"
    incident.save()
    with django_capture_on_commit_callbacks(execute=True):
        add_comment(postmortem, "root_cause", author, "@mike have a look")
    [message] = mail.outbox
    assert message.to == ["mike@example.com"]
    assert "\n" not in message.subject and "Checkout failing" in message.subject
