"""One-click actions in reminders, driven from the email itself: sent through a real SMTP
server, the link read from the message, followed and confirmed with the Django client."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import signing
from django.db import connection, connections
from django.test import Client

from actionitems.links import ACTION_SALT
from actionitems.models import ActionItem, EmailAction, Notification
from actionitems.tasks import run_sweeps, sweep_weekly_digests
from incidents.models import Membership
from postmortems.models import Postmortem, Revision
from postmortems.services import save_row
from tests.actionitems.conftest import html_of, link_in, text_of
from tests.conftest import skip_or_fail

# Thursday 2026-03-12, 09:00 UTC: the reminder is sent; links are followed an hour later.
NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
LABELS = ["Mark done", "Snooze 3 days", "Snooze 1 week", "Move due date", "Not mine"]


@pytest.fixture
def postmortem(postmortem):
    postmortem.status = Postmortem.Status.PUBLISHED
    postmortem.save()
    return postmortem


@pytest.fixture
def item(postmortem, author):
    return ActionItem.objects.create(
        postmortem=postmortem,
        title="Add a pool alert",
        owner=author,
        due_date=date(2026, 3, 11),
        priority="P1",
    )


def reminder_to(smtp_server, address="jane@example.com", at=NOW):
    smtp_server.clear()
    with time_machine.travel(at, tick=False):
        run_sweeps()
    (message,) = smtp_server.to(address)
    return message


def visit(client, path, data=None, at=LATER):
    with time_machine.travel(at, tick=False):
        return client.post(path, data or {}) if data is not None else client.get(path)


def revisions(item):
    return Revision.objects.filter(incident=item.postmortem.incident, section="action_items")


@pytest.mark.django_db
def test_the_reminder_offers_every_action_in_text_and_html(smtp_server, item, client):
    message = reminder_to(smtp_server)
    text, html = text_of(message), html_of(message)
    for label in LABELS:
        path = link_in(text, label)
        assert path.startswith("/action-items/email/act/")
        assert f'href="http://localhost:8000{path}"' in html
        assert f">{label}</a>" in html
    # Following a link asks first: no login needed, and nothing changes on GET.
    for label in LABELS:
        page = visit(client, link_in(text, label))
        assert page.status_code == 200, label
        assert "Nothing changes until you confirm" in page.content.decode()
    item.refresh_from_db()
    assert (item.status, item.due_date, item.owner_id, item.version) == (
        "open",
        date(2026, 3, 11),
        item.owner_id,
        1,
    )
    assert not revisions(item).exists() and not EmailAction.objects.exists()


@pytest.mark.django_db
def test_mark_done_from_the_email_then_a_second_click_is_refused(smtp_server, item, author, client):
    path = link_in(text_of(reminder_to(smtp_server)), "Mark done")
    page = visit(client, path)
    assert "Mark “Add a pool alert” done?" in page.content.decode()

    done = visit(client, path, {})
    assert done.status_code == 200
    assert "Marked done" in done.content.decode()
    item.refresh_from_db()
    assert item.status == "done" and item.completed_at is not None
    (revision,) = revisions(item)
    assert (revision.author, revision.note) == (author, "from email")
    assert "Add a pool alert | P1 | Jane Park | 2026-03-11 | Done" in revision.new_text
    action = EmailAction.objects.get()
    assert (action.actor, action.action, action.revision) == (author, "done", revision)
    assert action.notification == Notification.objects.get(kind="overdue")

    again = visit(client, path, {})
    assert again.status_code == 409
    assert "This link was already used" in again.content.decode()
    assert "Nothing was changed" in again.content.decode()
    assert revisions(item).count() == 1 and EmailAction.objects.count() == 1
    assert visit(client, path).status_code == 409  # the page says so on GET too


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("label", "new_due"), [("Snooze 3 days", "2026-03-15"), ("Snooze 1 week", "2026-03-19")]
)
def test_snooze_from_the_email(smtp_server, item, author, client, label, new_due):
    path = link_in(text_of(reminder_to(smtp_server)), label)
    assert new_due in visit(client, path).content.decode()  # the page shows the date first
    response = visit(client, path, {})
    assert response.status_code == 200 and new_due in response.content.decode()
    item.refresh_from_db()
    assert item.due_date.isoformat() == new_due  # overdue: counted from the owner's today
    (revision,) = revisions(item)
    assert revision.author == author and revision.note == "from email"
    assert f"| {new_due} |" in revision.new_text
    assert visit(client, path, {}).status_code == 409
    item.refresh_from_db()
    assert item.due_date.isoformat() == new_due


@pytest.mark.django_db
def test_move_the_due_date_with_a_reason(smtp_server, item, author, client):
    path = link_in(text_of(reminder_to(smtp_server)), "Move due date")
    page = visit(client, path).content.decode()
    assert 'type="date"' in page and 'name="reason"' in page and "<label" in page

    past = visit(client, path, {"due_date": "2026-03-01", "reason": "vendor is late"})
    assert past.status_code == 422
    body = past.content.decode()
    assert "Pick today (2026-03-12) or a later date." in body
    assert 'value="2026-03-01"' in body and "vendor is late" in body  # what they typed stays
    garbage = visit(client, path, {"due_date": "next tuesday", "reason": "x"})
    assert garbage.status_code == 422 and "Enter a valid date." in garbage.content.decode()
    assert not revisions(item).exists()

    moved = visit(client, path, {"due_date": "2026-04-01", "reason": "vendor is late"})
    assert moved.status_code == 200 and "2026-04-01" in moved.content.decode()
    item.refresh_from_db()
    assert item.due_date == date(2026, 4, 1)
    (revision,) = revisions(item)
    assert (revision.author, revision.note) == (author, "from email: vendor is late")
    action = EmailAction.objects.get()
    assert (action.from_due, action.to_due, action.reason) == (
        date(2026, 3, 11),
        date(2026, 4, 1),
        "vendor is late",
    )
    assert visit(client, path, {"due_date": "2026-05-01"}).status_code == 409
    item.refresh_from_db()
    assert item.due_date == date(2026, 4, 1)


@pytest.mark.django_db
def test_not_mine_asks_the_managers_to_reassign(
    smtp_server, item, author, manager, client, django_capture_on_commit_callbacks
):
    path = link_in(text_of(reminder_to(smtp_server)), "Not mine")
    assert "Not yours?" in visit(client, path).content.decode()
    smtp_server.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = visit(client, path, {"reason": "Mike owns the pool config"})
    assert response.status_code == 200
    item.refresh_from_db()
    assert item.owner is None
    (revision,) = revisions(item)
    assert revision.author == author and revision.note == "from email: Mike owns the pool config"
    assert "| unassigned |" in revision.new_text

    (ask,) = smtp_server.to("sarah@example.com")
    assert ask["Subject"] == "Action item: Add a pool alert (INC-2026-0001 Checkout failing)"
    body = text_of(ask)
    assert "Jane Park says this action item of Payments is not theirs" in body
    assert "Mike owns the pool config" in body
    assert "#section-action_items" in body
    assert smtp_server.to("jane@example.com") == []

    assert visit(client, path, {}).status_code == 409
    assert Notification.objects.filter(kind="reassign").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb"),  # signature
        lambda token: "x" + token,  # payload
        lambda token: token.split(":")[0],  # cut short
        lambda token: "not-a-link",
        lambda token: signing.TimestampSigner(salt="another.purpose").sign_object(
            {"u": 1, "i": 1, "a": "done", "v": 1, "s": "open", "d": None, "o": 1, "n": None}
        ),
        lambda token: signing.TimestampSigner(key="a-guessed-key", salt=ACTION_SALT).sign_object(
            {"u": 1, "i": 1, "a": "done", "v": 1, "s": "open", "d": None, "o": 1, "n": None}
        ),
    ],
)
def test_a_forged_link_changes_nothing_and_says_why(smtp_server, item, client, mangle):
    path = link_in(text_of(reminder_to(smtp_server)), "Mark done")
    token = path.split("/")[-2]
    forged = path.replace(token, mangle(token))
    for response in (visit(client, forged), visit(client, forged, {})):
        assert response.status_code == 400
        assert "This link does not work" in response.content.decode()
    item.refresh_from_db()
    assert item.status == "open" and item.version == 1 and not revisions(item).exists()


@pytest.mark.django_db
def test_a_signed_token_for_something_else_is_refused_too(client, item, author):
    # Signed with the right key and salt but not an action link's shape, or an unknown action.
    for payload in [{"u": author.pk}, {**dict.fromkeys("uivsdon", 1), "a": "delete"}]:
        token = signing.TimestampSigner(salt=ACTION_SALT).sign_object(payload)
        response = client.post(f"/action-items/email/act/{token}/")
        assert response.status_code == 400
    item.refresh_from_db()
    assert item.version == 1


@pytest.mark.django_db
def test_an_expired_link_changes_nothing(smtp_server, item, client, settings):
    settings.EMAIL_LINK_MAX_AGE = timedelta(days=14)
    path = link_in(text_of(reminder_to(smtp_server)), "Snooze 1 week")
    assert visit(client, path, at=NOW + timedelta(days=13)).status_code == 200
    for response in (
        visit(client, path, at=NOW + timedelta(days=15)),
        visit(client, path, {}, at=NOW + timedelta(days=15)),
    ):
        assert response.status_code == 410
        assert "This link has expired" in response.content.decode()
    item.refresh_from_db()
    assert item.due_date == date(2026, 3, 11) and not revisions(item).exists()


@pytest.mark.django_db
def test_a_link_used_after_another_action_explains_what_changed_and_offers_the_choices(
    smtp_server, item, client
):
    text = text_of(reminder_to(smtp_server))
    assert visit(client, link_in(text, "Snooze 1 week"), {}).status_code == 200
    stale = visit(client, link_in(text, "Mark done"))
    assert stale.status_code == 409
    body = stale.content.decode()
    assert "This action item changed since the email" in body
    assert "Its due date moved from 2026-03-11 to 2026-03-19." in body
    assert "Jane Park snoozed the due date from 2026-03-11 to 2026-03-19 from an email" in body
    assert visit(client, link_in(text, "Mark done"), {}).status_code == 409
    item.refresh_from_db()
    assert item.status == "open"

    # The current choices are fresh links for the item as it is now, and they work.
    choices = stale.context["choices"]
    assert [choice.label for choice in choices] == LABELS
    fresh_done = next(choice.url for choice in choices if choice.label == "Mark done")
    assert visit(client, fresh_done, {}).status_code == 200
    item.refresh_from_db()
    assert item.status == "done" and revisions(item).count() == 2


@pytest.mark.django_db
def test_a_change_made_in_the_app_makes_the_link_stale(smtp_server, item, teammate, client):
    path = link_in(text_of(reminder_to(smtp_server)), "Mark done")
    incident = item.postmortem.incident
    save_row(incident, "action_items", item.pk, {"owner": teammate}, teammate, base_version=1)
    for response in (visit(client, path), visit(client, path, {})):
        assert response.status_code == 409
        assert "Its owner changed from Jane Park to Mike Alvarez." in response.content.decode()
        assert response.context["choices"] == []  # not Jane's any more: nothing to offer
    item.refresh_from_db()
    assert item.status == "open" and item.owner == teammate


@pytest.mark.django_db
def test_someone_who_left_the_team_cannot_act(smtp_server, item, author, client):
    path = link_in(text_of(reminder_to(smtp_server)), "Mark done")
    Membership.objects.filter(user=author).delete()
    response = visit(client, path, {})
    assert response.status_code == 403
    assert "This is no longer yours to change" in response.content.decode()
    item.refresh_from_db()
    assert item.status == "open"


@pytest.mark.django_db
def test_a_link_to_a_deleted_item(smtp_server, item, client):
    path = link_in(text_of(reminder_to(smtp_server)), "Mark done")
    item.delete()
    for response in (visit(client, path), visit(client, path, {})):
        assert response.status_code == 410
        assert "This action item was deleted" in response.content.decode()


@pytest.mark.django_db
def test_garbage_in_the_link_is_never_a_500(client, item):
    for token in ["", "-", ":::", "a" * 5000, "%00", "é", "..", "1:2:3:4:5"]:
        for method in (client.get, client.post):
            response = method(f"/action-items/email/act/{token}/")
            assert response.status_code in (400, 404), token


@pytest.mark.django_db
def test_a_manager_reminded_for_an_owner_without_an_account_can_act(
    smtp_server, postmortem, manager, client
):
    item = ActionItem.objects.create(
        postmortem=postmortem, title="Rotate keys", owner_name="QA Team", due_date=date(2026, 3, 10)
    )
    message = reminder_to(smtp_server, "sarah@example.com")
    text = text_of(message)
    assert (
        "owned by QA Team, who has no account here: please pass this on or assign someone" in text
    )
    assert "Not mine" not in text  # the owner's word, not the manager's
    assert visit(client, link_in(text, "Mark done"), {}).status_code == 200
    item.refresh_from_db()
    assert item.status == "done"
    (revision,) = revisions(item)
    assert revision.author == manager and revision.note == "from email"


@pytest.mark.django_db
def test_the_action_is_in_the_items_history_and_the_next_digest(
    smtp_server, item, author, manager, client, django_assert_max_num_queries
):
    text = text_of(reminder_to(smtp_server))
    visit(
        client, link_in(text, "Move due date"), {"due_date": "2026-03-13", "reason": "almost there"}
    )
    manager_client = Client()
    manager_client.force_login(manager)
    # One more than the page's own: the ticket panel the integrations app adds to it.
    with django_assert_max_num_queries(7):
        detail = manager_client.get(f"/action-items/{item.pk}/").content.decode()
    assert "moved the due date from 2026-03-11 to 2026-03-13" in detail
    assert "from email" in detail and "almost there" in detail

    smtp_server.clear()
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        sweep_weekly_digests()
    (digest,) = smtp_server.to("sarah@example.com")
    body = text_of(digest)
    assert "Changed from emails since the last digest:" in body
    assert "Jane Park moved the due date from 2026-03-11 to 2026-03-13: Add a pool alert" in body
    assert '"almost there"' in body


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_the_same_moment_change_the_item_once(smtp_server, item):
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL for concurrent transactions")
    path = link_in(text_of(reminder_to(smtp_server)), "Snooze 1 week")
    start, statuses = threading.Barrier(4), []

    def click():
        try:
            start.wait()
            statuses.append(visit(Client(), path, {}).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200, 409, 409, 409]
    item.refresh_from_db()
    assert item.due_date == date(2026, 3, 19) and item.version == 2
    assert revisions(item).count() == 1 and EmailAction.objects.count() == 1


@pytest.mark.django_db
def test_the_pages_of_a_link_make_a_bounded_number_of_queries(
    smtp_server, item, client, django_assert_max_num_queries
):
    text = text_of(reminder_to(smtp_server))
    with django_assert_max_num_queries(6):
        assert visit(client, link_in(text, "Move due date")).status_code == 200
    with django_assert_max_num_queries(25):  # the document's locked save and its revision
        assert visit(client, link_in(text, "Snooze 1 week"), {}).status_code == 200
    with django_assert_max_num_queries(8):  # stale: what changed, and fresh choices
        assert visit(client, link_in(text, "Mark done")).status_code == 409
