"""The follow-up engine's rules: who is chased about what, when, and how often."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from icalendar import Calendar

from actionitems.models import ActionItem, EmailPreference, Notification
from actionitems.tasks import run_sweeps, sweep_weekly_digests
from incidents.models import Incident
from postmortems.models import FollowUp, Postmortem, PublicationCheck, ReviewRequest
from postmortems.review import set_publication_check
from postmortems.services import add_comment

# Thursday 2026-03-12, 09:00 UTC: the day the sweeps "run" in these tests.
NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


def sweep(at=NOW):
    """Run the sweeps as beat would at that moment (the clock stops there meanwhile)."""
    mail.outbox.clear()
    with time_machine.travel(at, tick=False):
        run_sweeps()
    return list(mail.outbox)


def digest(at=NOW):
    mail.outbox.clear()
    with time_machine.travel(at, tick=False):
        sweep_weekly_digests()
    return list(mail.outbox)


def days(n):
    return timedelta(days=n)


def subjects(messages):
    return sorted(m.subject for m in messages)


@pytest.fixture
def postmortem(postmortem):
    """Published, so that the draft nudge stays out of tests about other reminders."""
    postmortem.status = Postmortem.Status.PUBLISHED
    postmortem.save()
    return postmortem


@pytest.fixture
def in_review(postmortem):
    postmortem.status = Postmortem.Status.IN_REVIEW
    postmortem.save()
    return postmortem


@pytest.fixture
def draft(postmortem):
    postmortem.status = Postmortem.Status.DRAFT
    postmortem.save()
    return postmortem


@pytest.fixture
def item(postmortem, author):
    return ActionItem.objects.create(
        postmortem=postmortem,
        title="Add a pool alert",
        owner=author,
        due_date=TODAY - days(1),
        priority="P1",
    )


@pytest.mark.django_db
def test_an_overdue_item_reminds_its_owner_with_a_link(item, settings):
    settings.SITE_URL = "https://studio.example.com"
    (message,) = sweep()
    assert message.to == ["jane@example.com"]
    # One subject for every email about the item (a thread); the day count is in the body.
    assert message.subject == "Action item: Add a pool alert (INC-2026-0001 Checkout failing)"
    assert f"https://studio.example.com/action-items/{item.pk}/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="https://studio.example.com/action-items/{item.pk}/"' in html
    assert "1 day overdue" in message.body
    item.refresh_from_db()
    assert item.last_reminded_at is not None


@pytest.mark.django_db
def test_overdue_reminders_repeat_once_per_interval(item, settings):
    settings.REMINDER_INTERVAL = timedelta(days=1)
    assert len(sweep(NOW)) == 1
    assert sweep(NOW + timedelta(hours=6)) == []  # same interval: nothing new
    assert len(sweep(NOW + days(1))) == 1  # the next day: reminded again
    assert Notification.objects.filter(kind="overdue").count() == 2


@pytest.mark.django_db
def test_overdue_items_escalate_to_managers_after_a_week(item, manager, teammate, settings):
    settings.ESCALATE_AFTER = days(7)
    assert [m.to for m in sweep(NOW + days(5))] == [["jane@example.com"]]
    messages = sweep(NOW + days(6))  # 7 days overdue
    assert sorted(m.to[0] for m in messages) == ["jane@example.com", "sarah@example.com"]
    escalation = next(m for m in messages if m.to == ["sarah@example.com"])
    assert escalation.subject == "Action item: Add a pool alert (INC-2026-0001 Checkout failing)"
    assert "overdue for 7 days" in escalation.body
    assert "Jane Park has been reminded" in escalation.body


@pytest.mark.django_db
def test_nobody_is_chased_about_done_undated_or_future_items(postmortem, author):
    ActionItem.objects.create(
        postmortem=postmortem, title="Done", owner=author, due_date=TODAY - days(3), status="done"
    )
    ActionItem.objects.create(postmortem=postmortem, title="Undated", owner=author)
    ActionItem.objects.create(
        postmortem=postmortem, title="Next month", owner=author, due_date=TODAY + days(30)
    )
    assert sweep() == []


@pytest.mark.django_db
def test_an_item_done_after_the_reminder_was_recorded_is_not_emailed(item, eager_celery):
    eager_celery.conf.task_always_eager = False  # record only: no worker picks the sends up
    try:
        from unittest import mock

        with mock.patch("actionitems.tasks.send_notification.delay"):
            sweep()
    finally:
        eager_celery.conf.task_always_eager = True
    item.status = "done"
    item.save()
    from actionitems.tasks import send_notification

    with time_machine.travel(NOW, tick=False):
        assert send_notification(Notification.objects.get().pk) == "skipped"
    assert mail.outbox == []


@pytest.mark.django_db
def test_due_soon_gets_one_heads_up(postmortem, author, settings):
    settings.DUE_SOON_WITHIN = days(2)
    item = ActionItem.objects.create(
        postmortem=postmortem, title="Rotate keys", owner=author, due_date=TODAY + days(2)
    )
    (message,) = sweep()
    assert message.subject == "Action item: Rotate keys (INC-2026-0001 Checkout failing)"
    assert "due in 2 days, on Saturday, 2026-03-14" in message.body
    assert sweep(NOW + days(1)) == []  # one heads-up only
    item.due_date = TODAY + days(3)  # re-planned: a heads-up for the new date, in time
    item.save()
    assert len(sweep(NOW + days(1))) == 1


@pytest.mark.django_db
def test_weekly_digest_to_managers_grouped_by_postmortem(postmortem, author, manager, team):
    other = Incident.objects.create(title="Queue backlog", team=team, started_at=NOW - days(20))
    other_pm = Postmortem.objects.create(incident=other)
    ActionItem.objects.create(
        postmortem=postmortem, title="Late one", owner=author, due_date=TODAY - days(4)
    )
    ActionItem.objects.create(
        postmortem=other_pm, title="Soon one", owner=author, due_date=TODAY + days(1)
    )
    ActionItem.objects.create(
        postmortem=other_pm, title="Far one", owner=author, due_date=TODAY + days(20)
    )
    (digest_email,) = digest()
    assert digest_email.to == ["sarah@example.com"]
    assert digest_email.subject == "Weekly follow-up for Payments: 1 overdue, 1 due soon"
    body = digest_email.body
    assert body.index("INC-2026-0001 Checkout failing") < body.index("[OVERDUE] Late one")
    assert body.index("INC-2026-0002 Queue backlog") < body.index("[due soon] Soon one")
    assert "Far one" not in body
    assert "Stop these weekly emails: http" in body
    assert digest_email.extra_headers["List-Unsubscribe"].startswith("<http")
    assert digest(NOW + days(2)) == []  # the same ISO week


@pytest.mark.django_db
def test_no_digest_when_unsubscribed_or_when_nothing_is_due(postmortem, author, manager):
    finish_follow_through(postmortem, author)
    assert digest() == []  # nothing due: no empty digest
    ActionItem.objects.create(
        postmortem=postmortem, title="Late", owner=author, due_date=TODAY - days(1)
    )
    EmailPreference.objects.create(user=manager, weekly_digest=False)
    assert digest() == []


def finish_follow_through(postmortem, by):
    """The after-publication checklist done: meeting held, shared, next review set."""
    for item in PublicationCheck.Item.values:
        set_publication_check(postmortem, item, True, by=by)
    postmortem.next_review_on = TODAY + days(30)
    postmortem.save()


@pytest.mark.django_db
def test_the_digest_lists_published_postmortems_until_their_follow_through_is_done(
    postmortem, author, manager
):
    p0 = ActionItem.objects.create(
        postmortem=postmortem, title="Fix the leak", owner=author, priority="P0",
        due_date=TODAY + days(30),
    )  # fmt: skip
    (digest_email,) = digest()
    assert digest_email.to == ["sarah@example.com"]
    assert digest_email.subject == (
        "Weekly follow-up for Payments: 1 published postmortem to follow through"
    )
    text = digest_email.body
    assert "After publication, still to do:" in text
    assert (
        "INC-2026-0001 Checkout failing: Review meeting held; Shared with the engineering "
        "organization; Follow-up date set; Every P0 action item has a ticket" in text
    )
    assert "/incidents/INC-2026-0001/#after-publication" in text
    html = digest_email.alternatives[0][0]
    assert "After publication, still to do" in html

    # Done step by step: the next week's digest lists only what is left.
    set_publication_check(postmortem, "review_meeting", True, by=author)
    p0.tracker_url = "https://jira.example.com/browse/PAY-7"
    p0.save()
    (digest_email,) = digest(NOW + days(7))
    assert (
        "INC-2026-0001 Checkout failing: Shared with the engineering organization; "
        "Follow-up date set\n" in digest_email.body
    )
    finish_follow_through(postmortem, author)
    assert digest(NOW + days(14)) == []  # all done, nothing else due: no digest


@pytest.mark.django_db
def test_a_draft_is_not_in_the_follow_through(draft, author, manager):
    assert digest() == []


@pytest.mark.django_db
def test_one_click_unsubscribe_from_the_digest(client, postmortem, author, manager):
    ActionItem.objects.create(
        postmortem=postmortem, title="Late", owner=author, due_date=TODAY - days(1)
    )
    (digest_email,) = digest()
    link = next(
        line for line in digest_email.body.splitlines() if "Stop these weekly emails" in line
    ).split(": ", 1)[1]
    path = link.split("localhost:8000", 1)[1]
    page = client.get(path)  # asks first: a mail scanner following the link changes nothing
    assert page.status_code == 200 and "Stop the weekly digest?" in page.content.decode()
    assert not EmailPreference.objects.filter(user=manager, weekly_digest=False).exists()
    done = client.post(path)
    assert "Unsubscribed" in done.content.decode()
    assert EmailPreference.objects.get(user=manager).weekly_digest is False
    assert (
        client.post(path.replace("/email/unsubscribe/", "/email/unsubscribe/x")).status_code == 400
    )


@pytest.mark.django_db
def test_the_preference_page_toggles_the_digest(author_client, author):
    page = author_client.get("/action-items/email/")
    assert "Send me the weekly digest" in page.content.decode()
    author_client.post("/action-items/email/", {})
    assert EmailPreference.objects.get(user=author).weekly_digest is False
    author_client.post("/action-items/email/", {"weekly_digest": "on"})
    assert EmailPreference.objects.get(user=author).weekly_digest is True


@pytest.mark.django_db
def test_review_meeting_reminders_the_day_before_and_on_the_day_with_an_invite(
    in_review, author, manager, make_user, team
):
    postmortem = in_review
    lead = make_user("tom", team, last_name="Becker")
    meeting = datetime(2026, 3, 13, 15, 0, tzinfo=UTC)
    postmortem.review_meeting_at = meeting
    postmortem.save()
    ReviewRequest.objects.create(postmortem=postmortem, reviewer=lead, role="engineering_lead")
    ReviewRequest.objects.create(postmortem=postmortem, reviewer=manager, role="manager")

    day_before = sweep(NOW)
    assert sorted(m.to[0] for m in day_before) == [
        "jane@example.com",
        "sarah@example.com",
        "tom@example.com",
    ]
    message = day_before[0]
    assert message.subject == "Postmortem review: INC-2026-0001 Checkout failing"
    assert "is tomorrow, Friday 2026-03-13 15:00 UTC" in message.body
    ((filename, content, mimetype),) = message.attachments
    assert (filename, mimetype) == ("invite.ics", "text/calendar")
    event = Calendar.from_ical(content).walk("VEVENT")[0]
    assert event.decoded("dtstart") == meeting
    assert event.decoded("dtend") == meeting + timedelta(hours=1)
    assert str(event["uid"]).startswith(f"postmortem-review-{postmortem.pk}@")
    assert "INC-2026-0001" in str(event["summary"])

    assert sweep(NOW + timedelta(hours=3)) == []  # once per day
    on_the_day = sweep(NOW + days(1))
    assert len(on_the_day) == 3 and all(
        "is today, Friday 2026-03-13 15:00" in m.body for m in on_the_day
    )
    assert sweep(meeting + timedelta(minutes=5)) == []  # not after it started


@pytest.mark.django_db
def test_a_moved_meeting_gets_reminders_of_its_own(in_review, author):
    postmortem = in_review
    postmortem.review_meeting_at = datetime(2026, 3, 13, 15, 0, tzinfo=UTC)
    postmortem.save()
    assert len(sweep(NOW)) == 1
    postmortem.review_meeting_at = datetime(2026, 3, 13, 10, 0, tzinfo=UTC)
    postmortem.save()
    (message,) = sweep(NOW + timedelta(hours=1))
    assert "tomorrow, Friday 2026-03-13 10:00 UTC" in message.body


@pytest.mark.django_db
def test_follow_up_dates_remind_the_authors_with_an_all_day_invite(postmortem, author):
    follow_up = FollowUp.objects.create(
        postmortem=postmortem, due_on=date(2026, 3, 13), title="1-week follow-up"
    )
    (message,) = sweep()
    assert message.subject == "Follow-up: 1-week follow-up (INC-2026-0001 Checkout failing)"
    assert "is due tomorrow (2026-03-13)" in message.body
    event = Calendar.from_ical(message.attachments[0][1]).walk("VEVENT")[0]
    assert event.decoded("dtstart") == date(2026, 3, 13)
    follow_up.completed_at = NOW
    follow_up.save()
    assert sweep(NOW + days(1)) == []  # done: no reminder on the day


@pytest.mark.django_db
def test_a_draft_48_hours_after_resolution_nudges_its_authors_once(draft, author, teammate):
    draft.authors.add(teammate)
    resolved = draft.incident.resolved_at
    assert sweep(resolved + timedelta(hours=47)) == []
    messages = sweep(resolved + timedelta(hours=49))
    assert sorted(m.to[0] for m in messages) == ["jane@example.com", "mike@example.com"]
    assert messages[0].subject.startswith("Still a draft 49 hours after resolution")
    assert sweep(resolved + timedelta(hours=80)) == []


@pytest.mark.django_db
def test_postmortems_in_review_are_not_nudged(postmortem, author):
    postmortem.status = "in_review"
    postmortem.save()
    assert sweep(postmortem.incident.resolved_at + days(5)) == []


@pytest.mark.django_db
def test_mentions_are_emailed_once_right_after_the_comment(
    postmortem, author, teammate, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        comment = add_comment(postmortem, "root_cause", author, "@mike is the 100 limit right?")
    (message,) = mail.outbox
    assert message.to == ["mike@example.com"]
    assert message.subject == "Jane Park mentioned you in INC-2026-0001 Checkout failing"
    assert "is the 100 limit right?" in message.body
    assert "#section-root_cause" in message.body
    assert comment.mentions.get().emailed_at is not None
    assert sweep() == []  # the sweep does not send it again


@pytest.mark.django_db
def test_the_digest_leaves_out_items_without_a_due_date(postmortem, author, manager):
    """The digest marks items late by comparing due dates; one with no due date is neither
    late nor due soon, and must not break the comparison for the others."""
    ActionItem.objects.create(postmortem=postmortem, title="Someday", owner=author)
    ActionItem.objects.create(
        postmortem=postmortem, title="Late one", owner=author, due_date=TODAY - days(2)
    )
    (digest_email,) = digest()
    assert digest_email.subject == "Weekly follow-up for Payments: 1 overdue, 0 due soon"
    assert "Someday" not in digest_email.body
