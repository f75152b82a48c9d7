"""Reminders, review requests and the digest posted to the team's Slack channel as well as
emailed. pytest-httpserver plays Slack's incoming webhook: JSON {"text"} in, "ok" out."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from werkzeug.wrappers import Response

from actionitems.models import ActionItem
from actionitems.tasks import run_sweeps, sweep_weekly_digests
from incidents.models import Membership
from integrations.models import SlackChannel, SlackPost
from integrations.services import set_slack_url
from integrations.tasks import sweep
from postmortems.models import ContributingFactor
from postmortems.review import add_reviewer, request_review
from postmortems.services import add_comment
from tests.conftest import browser_of

pytestmark = pytest.mark.django_db
HOOK = "/services/T0001/B0001/abcdefghijklmnop"


class FakeSlack:
    def __init__(self, server):
        self.posts = []
        self.answers = []  # (status, body) to give before "ok", in order
        server.expect_request(HOOK, method="POST").respond_with_handler(self.handle)

    def handle(self, request):
        assert request.headers["Content-Type"] == "application/json"
        self.posts.append(request.get_json())
        if self.answers:
            status, body = self.answers.pop(0)
            return Response(body, status=status, headers={"Retry-After": "30"})
        return Response("ok", status=200)

    def texts(self):
        return [post["text"] for post in self.posts]


@pytest.fixture
def slack(httpserver, team):
    fake = FakeSlack(httpserver)
    set_slack_url(team, httpserver.url_for(HOOK))
    return fake


@pytest.fixture
def sends(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def overdue(postmortem, author):
    postmortem.status = "published"
    postmortem.save()
    return ActionItem.objects.create(
        postmortem=postmortem, title="Alert on <pool> & queue", owner=author,
        due_date=timezone.localdate() - timedelta(days=3),
    )  # fmt: skip


def test_an_overdue_reminder_is_emailed_and_posted_once(slack, overdue, sends):
    with sends():
        run_sweeps()
    assert [m.to for m in mail.outbox] == [["jane@example.com"]]
    (text,) = slack.texts()
    assert text.startswith(":warning: Overdue 3 days: <http://localhost:8000/action-items/")
    assert "Alert on &lt;pool&gt; &amp; queue" in text  # Slack's escaping
    assert "(Jane Park, due " in text and "INC-2026-0001 Checkout failing" in text
    assert slack.posts[0]["unfurl_links"] is False
    with sends():
        run_sweeps()
        sweep()
    assert len(slack.posts) == 1
    assert SlackPost.objects.get().status == "sent"


def test_the_digest_to_two_managers_is_one_post(slack, overdue, manager, make_user, team, sends):
    make_user("lee", team, role=Membership.Role.MANAGER)
    with sends():
        sweep_weekly_digests()
    assert sorted(m.to[0] for m in mail.outbox if m.subject.startswith("Weekly follow-up")) == [
        "lee@example.com", "sarah@example.com",
    ]  # fmt: skip
    digests = [t for t in slack.texts() if "digest" in t]
    assert len(digests) == 1
    assert "Weekly follow-up digest for Payments: 1 overdue, 0 due soon." in digests[0]


def test_a_review_request_is_posted(slack, postmortem, author, manager, sends):
    from incidents.models import TimelineEvent

    TimelineEvent.objects.create(incident=postmortem.incident, kind="alert",
                                 occurred_at=postmortem.incident.started_at, description="x")  # fmt: skip
    ContributingFactor.objects.create(postmortem=postmortem, category="process", description="y")
    ActionItem.objects.create(postmortem=postmortem, title="Alert", owner=author,
                              due_date=postmortem.incident.started_at.date())  # fmt: skip
    postmortem.users_affected, postmortem.lessons_learned = 5, "z"
    postmortem.save()
    with sends():
        add_reviewer(postmortem, manager, "manager", author)
        assert slack.posts == []  # a draft: nobody is asked yet
        request_review(postmortem, author)
    (text,) = slack.texts()
    assert text.startswith(":eyes: Review requested: the postmortem of <http://localhost:8000/")
    assert "Reviewers: Sarah Okafor (manager)." in text


def test_mentions_stay_personal(slack, postmortem, author, teammate, sends):
    with sends():
        add_comment(postmortem, "summary", author, "@mike have a look")
    assert len(mail.outbox) == 1 and slack.posts == []


def test_no_channel_no_posts(httpserver, overdue, sends):
    with sends():
        run_sweeps()
    assert len(mail.outbox) == 1 and not SlackPost.objects.exists()


def test_slack_down_is_retried_and_a_dead_webhook_is_given_up(slack, overdue, sends, settings):
    slack.answers = [(503, "service unavailable")]
    with sends():
        run_sweeps()
    post = SlackPost.objects.get()
    assert (post.status, post.attempts) == ("pending", 1)
    assert timedelta(seconds=25) < post.next_attempt_at - timezone.now() <= timedelta(seconds=31)
    SlackPost.objects.update(next_attempt_at=timezone.now())
    sweep()
    post.refresh_from_db()
    assert (post.status, post.attempts) == ("sent", 2)

    slack.answers = [(404, "no_service")]
    post.status, post.dedupe_key = "pending", "another"
    post.pk = None
    post.save()
    sweep()
    post.refresh_from_db()
    assert (post.status, post.last_error) == ("failed", "HTTP 404: no_service")
    assert len(slack.posts) == 3  # 503, ok, 404: nothing retried after the 404


def test_a_manager_sets_the_slack_url_which_is_then_shown_masked(manager, teammate, httpserver):
    url = httpserver.url_for(HOOK)
    assert browser_of(teammate).post("/integrations/teams/payments/slack/",
                                     {"url": url}).status_code == 403  # fmt: skip
    client = browser_of(manager)
    assert client.post("/integrations/teams/payments/slack/", {"url": url}).status_code == 302
    channel = SlackChannel.objects.get()
    assert channel.url == url and HOOK not in channel.url_encrypted
    page = client.get("/integrations/teams/payments/").content.decode()
    assert "abcdefghijklmnop" not in page and "/services/••••mnop" in page
    client.post("/integrations/teams/payments/slack/", {"url": ""})
    assert not SlackChannel.objects.exists()


def test_a_slack_post_records_nothing_twice_even_under_concurrent_sends(slack, overdue):
    from integrations.slack_notify import record_post

    first = record_post(overdue.postmortem.incident.team_id, "k", "one")
    second = record_post(overdue.postmortem.incident.team_id, "k", "two")
    assert first.pk == second.pk and SlackPost.objects.get().text == "one"
    assert json.loads(json.dumps(slack.posts)) == []
