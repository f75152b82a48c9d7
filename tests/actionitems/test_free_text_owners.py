"""Action items owned by a name (a team, a person without an account): the team's managers
are reminded in the owner's place, and every list shows who owns what."""

from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from actionitems.models import ActionItem, Notification
from actionitems.tasks import run_sweeps, send_notification
from postmortems.models import Postmortem

NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)


def sweep(at=NOW):
    mail.outbox.clear()
    with time_machine.travel(at, tick=False):
        run_sweeps()
    return sorted(mail.outbox, key=lambda message: message.to)


@pytest.fixture
def postmortem(postmortem):
    postmortem.status = Postmortem.Status.PUBLISHED
    postmortem.save()
    return postmortem


@pytest.fixture
def qa_item(postmortem):
    return ActionItem.objects.create(
        postmortem=postmortem, title="Load test checkout", owner_name="QA Team",
        due_date=date(2026, 3, 11),
    )  # fmt: skip


@pytest.mark.django_db
def test_overdue_reminders_of_a_name_go_to_the_managers_saying_so(qa_item, author, manager):
    (message,) = sweep()
    assert message.to == ["sarah@example.com"]
    assert message.subject == "Action item: Load test checkout (INC-2026-0001 Checkout failing)"
    assert (
        "It is owned by QA Team, who has no account here: please pass this on or assign someone."
        in message.body
    )
    assert "Owner: QA Team (no account here)" in message.body
    html = message.alternatives[0][0]
    assert "<strong>QA Team</strong>, who has no account here" in html
    # Every day on the team's cadence, and no second "escalation" copy once it is a week late.
    later = sweep(NOW + timedelta(days=7))
    assert [(m.to, "8 days overdue" in m.body) for m in later] == [(["sarah@example.com"], True)]
    assert not Notification.objects.filter(kind="escalation").exists()


@pytest.mark.django_db
def test_the_heads_up_of_a_name_goes_to_the_managers_too(postmortem, manager):
    ActionItem.objects.create(postmortem=postmortem, title="Rotate keys", owner_name="DevOps",
                              due_date=date(2026, 3, 13))  # fmt: skip
    (message,) = sweep()
    assert message.to == ["sarah@example.com"]
    assert "due in 1 day" in message.body and "owned by DevOps, who has no account" in message.body


@pytest.mark.django_db
def test_an_item_nobody_owns_still_waits_for_the_escalation(postmortem, manager):
    ActionItem.objects.create(postmortem=postmortem, title="Orphan", due_date=date(2026, 3, 11))
    assert sweep() == []
    (message,) = sweep(NOW + timedelta(days=6))
    assert message.to == ["sarah@example.com"] and "nobody owns it" in message.body


@pytest.mark.django_db
def test_a_reminder_recorded_before_the_item_changed_hands_is_not_sent(qa_item, manager, teammate):
    with (
        time_machine.travel(NOW, tick=False),
        mock.patch("actionitems.tasks.send_notification.delay"),
    ):
        run_sweeps()
    qa_item.owner_name, qa_item.owner = "", teammate
    qa_item.save()
    with time_machine.travel(NOW, tick=False):
        assert send_notification(Notification.objects.get().pk) == "skipped"


@pytest.mark.django_db
def test_lists_show_the_owner_by_name_and_mine_stays_mine(
    qa_item, author, manager, postmortem, client, django_assert_max_num_queries
):
    ActionItem.objects.create(postmortem=postmortem, title="Mine", owner=author)
    client.force_login(author)
    listing = client.get(reverse("actionitems:list")).content.decode()
    assert 'QA Team <span class="meta">(no account)</span>' in listing
    mine = client.get(reverse("actionitems:list"), {"mine": "on"})
    assert [item.title for item in mine.context["page"].object_list] == ["Mine"]
    detail = client.get(reverse("actionitems:detail", args=[qa_item.pk])).content.decode()
    assert "QA Team" in detail and "reminders go to the managers of Payments" in detail

    client.force_login(manager)
    with django_assert_max_num_queries(9):
        work = client.get(reverse("my_work")).content.decode()
    assert "Waiting for an owner in the teams I manage" in work
    assert "Load test checkout" in work and "QA Team" in work
    client.force_login(author)
    assert "Waiting for an owner" not in client.get(reverse("my_work")).content.decode()
