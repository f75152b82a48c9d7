"""Threads mail clients can group (stable Message-ID, In-Reply-To/References to the first email,
one subject per thread) and unsubscribing per kind of email, one-click (RFC 8058)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail, signing
from django.test import Client

from actionitems.emails import compose
from actionitems.links import UNSUBSCRIBE_SALT, read_unsubscribe_token
from actionitems.models import ActionItem, EmailPreference, Notification, TeamFollowUpSettings
from actionitems.tasks import run_sweeps, sweep_weekly_digests
from postmortems.models import Postmortem, ReviewRequest
from postmortems.services import add_comment

NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)  # a Thursday


def sweep(at):
    mail.outbox.clear()
    with time_machine.travel(at, tick=False):
        run_sweeps()
    return list(mail.outbox)


def days(n):
    return timedelta(days=n)


@pytest.fixture
def postmortem(postmortem):
    postmortem.status = Postmortem.Status.PUBLISHED
    postmortem.save()
    return postmortem


@pytest.fixture
def item(postmortem, author):
    return ActionItem.objects.create(
        postmortem=postmortem, title="Add a pool alert", owner=author, due_date=date(2026, 3, 13)
    )


@pytest.mark.django_db
def test_every_email_has_a_message_id_derived_from_its_notification(item, smtp_server):
    with time_machine.travel(NOW, tick=False):
        run_sweeps()
    notification = Notification.objects.get()
    (received,) = smtp_server.to("jane@example.com")
    assert received["Message-ID"] == notification.message_id
    assert notification.message_id == (
        f"<due_soon.{notification.pk}.{notification.created_at:%Y%m%d%H%M%S}@localhost>"
    )
    # Composed again (a retry, or a resend after a crash): the same Message-ID.
    with time_machine.travel(NOW, tick=False):
        again = compose(Notification.objects.select_related("recipient").get())
    assert again.extra_headers["Message-ID"] == notification.message_id


@pytest.mark.django_db
def test_emails_about_one_item_are_one_thread_with_one_subject(item, manager, settings):
    settings.ESCALATE_AFTER = days(3)
    (heads_up,) = sweep(NOW)  # due on the 13th: a heads-up on the 12th
    first_id = heads_up.extra_headers["Message-ID"]
    assert "In-Reply-To" not in heads_up.extra_headers
    later = [sweep(NOW + days(n)) for n in range(2, 6)]  # 1 to 4 days overdue
    jane = [m for batch in later for m in batch if m.to == ["jane@example.com"]]
    assert len(jane) == 4
    subjects = {heads_up.subject, *(m.subject for m in jane)}
    assert subjects == {"Action item: Add a pool alert (INC-2026-0001 Checkout failing)"}
    for message in jane:
        assert message.extra_headers["In-Reply-To"] == first_id
        assert message.extra_headers["References"] == first_id
        assert message.extra_headers["Message-ID"] != first_id
    assert ["1 day overdue" in jane[0].body, "4 days overdue" in jane[3].body] == [True, True]

    # The manager's own thread about the item starts with their first email.
    sarah = [m for batch in later for m in batch if m.to == ["sarah@example.com"]]
    assert len(sarah) == 2  # 3 and 4 days overdue
    assert sarah[0].subject == heads_up.subject
    assert "In-Reply-To" not in sarah[0].extra_headers
    assert sarah[1].extra_headers["In-Reply-To"] == sarah[0].extra_headers["Message-ID"]


@pytest.mark.django_db
def test_review_meeting_reminders_are_one_thread(postmortem, author, manager):
    postmortem.status = Postmortem.Status.IN_REVIEW
    postmortem.review_meeting_at = datetime(2026, 3, 13, 15, 0, tzinfo=UTC)
    postmortem.save()
    ReviewRequest.objects.create(postmortem=postmortem, reviewer=manager, role="manager")
    day_before = {m.to[0]: m for m in sweep(NOW)}
    on_the_day = {m.to[0]: m for m in sweep(NOW + days(1))}
    for address in ("jane@example.com", "sarah@example.com"):
        first, second = day_before[address], on_the_day[address]
        assert (
            first.subject == second.subject == "Postmortem review: INC-2026-0001 Checkout failing"
        )
        assert second.extra_headers["In-Reply-To"] == first.extra_headers["Message-ID"]


@pytest.mark.django_db
def test_non_essential_emails_say_how_to_unsubscribe_from_their_kind_alone(
    postmortem, author, teammate, manager, django_capture_on_commit_callbacks
):
    ActionItem.objects.create(
        postmortem=postmortem, title="Late", owner=author, due_date=date(2026, 3, 10)
    )
    ActionItem.objects.create(
        postmortem=postmortem, title="Soon", owner=author, due_date=date(2026, 3, 13)
    )
    messages = sweep(NOW)
    overdue = next(m for m in messages if "Late" in m.subject)
    soon = next(m for m in messages if "Soon" in m.subject)
    assert "List-Unsubscribe" not in overdue.extra_headers  # one's own overdue work: essential
    assert soon.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert soon.extra_headers["List-Unsubscribe"].startswith("<http://localhost:8000/")
    assert "Stop heads-ups and nudges: http://localhost:8000/" in soon.body

    mail.outbox.clear()
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        add_comment(postmortem, "root_cause", author, "@mike could you check?")
    (mention,) = mail.outbox
    assert "List-Unsubscribe" in mention.extra_headers
    mail.outbox.clear()
    with time_machine.travel(NOW, tick=False):
        sweep_weekly_digests()
    (digest,) = mail.outbox
    assert "List-Unsubscribe" in digest.extra_headers
    # One link per kind: stopping one kind stops nothing else.
    assert len({m.extra_headers["List-Unsubscribe"] for m in (soon, mention, digest)}) == 3


def unsubscribe_link(message):
    return (
        message.extra_headers["List-Unsubscribe"].strip("<>").removeprefix("http://localhost:8000")
    )


@pytest.mark.django_db
def test_one_click_unsubscribe_as_mail_clients_post_it(item, author, manager):
    (heads_up,) = sweep(NOW)
    path = unsubscribe_link(heads_up)
    # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click", with no cookie and no CSRF
    # token; a GET (a scanner following the link) only asks.
    mail_client = Client(enforce_csrf_checks=True)
    asked = mail_client.get(path)
    assert asked.status_code == 200 and "Stop heads-ups and nudges?" in asked.content.decode()
    assert not EmailPreference.objects.filter(user=author).exists()
    response = mail_client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "Unsubscribed" in response.content.decode()
    preference = EmailPreference.objects.get(user=author)
    assert (preference.nudges, preference.mentions, preference.weekly_digest) == (False, True, True)
    assert preference.overdue_reminders is True

    item.due_date = date(2026, 3, 16)  # a new date: a new heads-up would be owed...
    item.save()
    assert sweep(NOW + days(2)) == []  # ...but not to someone who stopped them
    overdue = sweep(NOW + days(5))  # overdue reminders about one's own item still come
    assert [m.to for m in overdue] == [["jane@example.com"]]


@pytest.mark.django_db
def test_own_overdue_reminders_stay_on_unless_the_team_allows_otherwise(
    item, author, team, client, settings
):
    item.due_date = date(2026, 3, 10)
    item.save()
    (reminder,) = sweep(NOW)
    assert "List-Unsubscribe" not in reminder.extra_headers
    from actionitems.links import unsubscribe_token

    forged_path = f"/action-items/email/unsubscribe/{unsubscribe_token(author.pk, 'overdue')}/"
    kept = client.post(forged_path)
    assert kept.status_code == 403 and "These reminders stay on" in kept.content.decode()
    assert not EmailPreference.objects.filter(user=author, overdue_reminders=False).exists()

    TeamFollowUpSettings.objects.create(team=team, members_may_mute_overdue=True)
    (reminder,) = sweep(NOW + days(1))
    path = unsubscribe_link(reminder)
    assert read_unsubscribe_token(path.split("/")[-2]) == (author.pk, "overdue")
    assert client.post(path).status_code == 200
    assert EmailPreference.objects.get(user=author).overdue_reminders is False
    assert sweep(NOW + days(2)) == []


@pytest.mark.django_db
def test_digest_links_sent_before_this_release_still_unsubscribe(client, manager):
    old_link = (
        f"/action-items/email/unsubscribe/{signing.dumps(manager.pk, salt=UNSUBSCRIBE_SALT)}/"
    )
    assert "Stop the weekly digest?" in client.get(old_link).content.decode()
    assert client.post(old_link).status_code == 200
    assert EmailPreference.objects.get(user=manager).weekly_digest is False


@pytest.mark.django_db
def test_the_preferences_page_shows_each_kind_with_its_cadence(
    client, manager, team, django_assert_max_num_queries, settings
):
    settings.REMINDER_HOURS = (8, 18)
    TeamFollowUpSettings.objects.create(
        team=team, reminder_cadence="weekdays", heads_up_days=3, digest_weekday=4, digest_hour=16
    )
    client.force_login(manager)
    with django_assert_max_num_queries(10):
        page = client.get("/action-items/email/")
    body = page.content.decode()
    assert "Payments: every weekday, between 08:00 and 18:00 local time" in body
    assert "Payments: 3 days before" in body
    assert "Payments: Fridays at 16:00 your time" in body
    assert "Payments: after 7 days overdue, then every weekday" in body
    assert "Right away" in body and "Once, 48 hours after the incident was resolved" in body
    assert f'href="/action-items/teams/{team.slug}/email/"' in body
    assert 'name="overdue_reminders" disabled' in body  # always on in this team
    assert '<optgroup label="Europe">' in body and '<option value="Europe/Berlin">' in body


@pytest.mark.django_db
def test_the_preferences_form_keeps_a_bad_time_zone_and_says_so(author_client, author):
    response = author_client.post(
        "/action-items/email/", {"timezone": "Mars/Olympus_Mons", "nudges": "on"}
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "Select a valid choice" in body and "Mars/Olympus_Mons" in body
    assert 'name="nudges" checked' in body or "checked" in body
    assert (
        author_client.post(
            "/action-items/email/", {"timezone": "Asia/Tokyo", "overdue_reminders": ""}
        ).status_code
        == 302
    )
    preference = EmailPreference.objects.get(user=author)
    assert preference.timezone == "Asia/Tokyo"
    assert preference.overdue_reminders is True  # not the person's to turn off here
    assert (preference.nudges, preference.mentions) == (False, False)


@pytest.mark.django_db
def test_a_kind_turned_off_after_the_sweep_recorded_it_is_not_sent(item, author):
    from unittest import mock

    from actionitems.tasks import send_notification

    with (
        time_machine.travel(NOW, tick=False),
        mock.patch("actionitems.tasks.send_notification.delay"),
    ):
        run_sweeps()  # the heads-up is recorded...
    EmailPreference.objects.create(user=author, nudges=False)  # ...then turned off
    with time_machine.travel(NOW, tick=False):
        assert send_notification(Notification.objects.get().pk) == "skipped"
    assert mail.outbox == []
