"""Outbound webhooks: events from the outbox, signed, retried, resent, shown to the team."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from actionitems.models import ActionItem
from incidents.models import Incident, TimelineEvent
from integrations.models import Delivery, Event, WebhookEndpoint
from integrations.services import record_overdue_events
from integrations.tasks import deliver_webhook, sweep
from postmortems.models import ContributingFactor
from postmortems.review import add_reviewer, decide, request_review
from postmortems.services import save_row, save_section
from tests.conftest import browser_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def sends(django_capture_on_commit_callbacks):
    """Run what is queued on commit, as a worker right after the transaction would."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


def new_incident(team, author, **fields):
    return Incident.objects.create(
        title=fields.pop("title", "Checkout failing"),
        team=team,
        started_at=datetime(2026, 3, 2, 14, 0, tzinfo=UTC),
        created_by=author,
        **fields,
    )


def test_a_new_incident_reaches_the_receiver_signed_and_once(endpoint, receiver, team, author,
                                                             sends):  # fmt: skip
    with sends():
        incident = new_incident(team, author)
    assert receiver.refused == []
    ((event_id, payload),) = receiver.requests
    assert payload["type"] == "incident.created"
    assert payload["id"] == event_id
    assert payload["team"] == "payments"
    assert payload["data"]["incident"]["reference"] == incident.reference
    assert payload["data"]["incident"]["url"].endswith(f"/incidents/{incident.reference}/")
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 1, 200)
    assert str(delivery.event_id) == event_id


def test_a_wrong_secret_fails_the_receiver_s_check(endpoint, receiver, team, author, sends):
    receiver.secret = "whsec_" + "QUJD" * 8  # the receiver holds another secret
    with sends():
        new_incident(team, author)
    assert receiver.requests == [] and receiver.refused == ["No matching signature found"]
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.response_status) == ("pending", 401)


def test_resolving_an_incident_is_one_event_however_often_it_is_saved(
    endpoint, receiver, team, author, sends
):
    with sends():
        incident = new_incident(team, author)
    values = {"title": incident.title, "severity": "SEV2", "status": "resolved",
              "commander": None, "external_id": ""}  # fmt: skip
    with sends():
        save_section(incident, "incident_times", {
            "started_at": incident.started_at, "detected_at": None, "acknowledged_at": None,
            "mitigated_at": None, "resolved_at": incident.started_at + timedelta(hours=1),
            "all_clear_at": None,
        }, author, 0)  # fmt: skip
        save_section(incident, "incident_details", values, author, 0)
        save_section(incident, "incident_details", {**values, "severity": "SEV1"}, author, 1)
    assert receiver.types() == ["incident.created", "incident.resolved"]
    resolved = receiver.processed[1]["data"]["incident"]
    assert resolved["status"] == "resolved" and resolved["resolved_at"] == "2026-03-02T15:00:00Z"


def test_the_review_steps_become_events(endpoint, receiver, postmortem, manager, teammate,
                                        author, sends):  # fmt: skip
    TimelineEvent.objects.create(incident=postmortem.incident, kind="alert",
                                 occurred_at=postmortem.incident.started_at, description="Alert")  # fmt: skip
    ContributingFactor.objects.create(postmortem=postmortem, category="technical",
                                      description="Small pool")  # fmt: skip
    ActionItem.objects.create(postmortem=postmortem, title="Alert", owner=author,
                              due_date=postmortem.incident.started_at.date())  # fmt: skip
    postmortem.users_affected, postmortem.lessons_learned = 10, "Alert earlier."
    postmortem.save()
    receiver.requests.clear()
    with sends():
        add_reviewer(postmortem, manager, "manager", author)
        request_review(postmortem, author)
        add_reviewer(postmortem, teammate, "engineering_lead", author)
        decide(postmortem.review_requests.get(reviewer=teammate), teammate, "approved")
        decide(postmortem.review_requests.get(reviewer=manager), manager, "approved")
    assert receiver.types() == [
        "postmortem.status_changed",  # draft -> in review
        "review.requested",  # Sarah, asked before the review started
        "review.requested",  # Mike, added during the review
        "review.approved",
        "review.approved",
        "postmortem.status_changed",  # in review -> approved
    ]
    first, asked = receiver.processed[0]["data"], receiver.processed[1]["data"]
    assert (first["from_status"], first["to_status"]) == ("draft", "in_review")
    assert first["postmortem"]["status"] == "in_review" and first["actor"]["username"] == "jane"
    assert [r["username"] for r in asked["reviewers"]] == ["sarah"]
    assert receiver.processed[4]["data"]["reviewer"]["username"] == "sarah"
    assert receiver.processed[5]["data"]["to_status"] == "approved"


def test_action_items_created_done_and_overdue(endpoint, receiver, postmortem, author, sends):
    with sends():
        item = ActionItem.objects.create(postmortem=postmortem, title="Pool alert", owner=author,
                                         due_date=timezone.localdate() - timedelta(days=2))  # fmt: skip
    with sends():
        assert record_overdue_events() == 1
        assert record_overdue_events() == 0  # once per item and due date
    with sends():
        save_row(postmortem.incident, "action_items", item.pk, {"status": "done"}, author, None)
        save_row(postmortem.incident, "action_items", item.pk, {"priority": "P1"}, author, None)
    assert receiver.types() == ["action_item.created", "action_item.overdue",
                                "action_item.done"]  # fmt: skip
    done = receiver.processed[2]["data"]["action_item"]
    assert done["status"] == "done" and done["completed_at"] and done["owner"] == "jane"


def test_only_the_chosen_events_of_active_endpoints_of_the_team_are_sent(
    endpoint, receiver, team, other_team, author, outsider, sends
):
    endpoint.events = ["incident.resolved"]
    endpoint.save()
    with sends():
        new_incident(team, author)  # not chosen
        new_incident(other_team, outsider, status="resolved",
                     resolved_at=datetime(2026, 3, 2, 15, tzinfo=UTC))  # another team  # fmt: skip
    assert receiver.requests == [] and not Event.objects.exists()
    WebhookEndpoint.objects.update(is_active=False)
    with sends():
        new_incident(team, author, status="resolved",
                     resolved_at=datetime(2026, 3, 2, 15, tzinfo=UTC))  # fmt: skip
    assert receiver.requests == [] and not Delivery.objects.exists()


def test_the_event_is_written_in_the_change_s_transaction(endpoint, receiver, team, author,
                                                          sends):  # fmt: skip
    with sends(), pytest.raises(RuntimeError), transaction.atomic():
        new_incident(team, author)
        assert Event.objects.count() == 1  # written with the incident...
        raise RuntimeError("the save fails after all")
    assert not Event.objects.exists() and receiver.requests == []  # ...and gone with it


def test_a_failing_receiver_is_retried_with_backoff_then_given_up(
    endpoint, receiver, team, author, sends, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.status = 503
    start = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False), sends():
        new_incident(team, author)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 503)
    assert "HTTP 503" in delivery.last_error
    first_wait = delivery.next_attempt_at - start
    assert timedelta(seconds=23) <= first_wait <= timedelta(seconds=37)

    with time_machine.travel(start + timedelta(seconds=5), tick=False):
        assert deliver_webhook(delivery.pk) == "not due"  # an early duplicate does nothing
        sweep()
    delivery.refresh_from_db()
    assert delivery.attempts == 1

    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        sweep()  # due: tried again, and the wait doubles
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert timedelta(seconds=47) <= delivery.next_attempt_at - (start + timedelta(minutes=1))

    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        sweep()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert len(receiver.requests) == 3
    assert len({event_id for event_id, _ in receiver.requests}) == 1  # the same event each time


def test_an_unreachable_receiver_is_an_error_not_a_crash(team, manager, author, sends):
    add_endpoint_for(team, manager, "http://127.0.0.1:9/hook")  # nothing listens on port 9
    with sends():
        new_incident(team, author)
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and "ConnectError" in delivery.last_error


def add_endpoint_for(team, manager, url):
    from integrations.services import add_endpoint

    return add_endpoint(team, url, ["incident.created"], "", manager)


def test_a_manager_resends_a_delivery_with_the_same_event_id(endpoint, receiver, team, author,
                                                             manager, teammate, outsider,
                                                             sends):  # fmt: skip
    with sends():
        new_incident(team, author)
    delivery = Delivery.objects.get()
    path = f"/integrations/teams/payments/deliveries/{delivery.pk}/resend/"
    assert browser_of(teammate).post(path).status_code == 403
    assert browser_of(outsider).post(path).status_code == 404
    with sends():
        response = browser_of(manager).post(path)
    assert response.status_code == 302
    assert [event_id for event_id, _ in receiver.requests] == [str(delivery.event_id)] * 2
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


def test_the_team_page_lists_recent_deliveries(endpoint, receiver, team, author, manager,
                                               sends, django_assert_max_num_queries):  # fmt: skip
    receiver.status = 500
    with sends():
        for n in range(5):
            new_incident(team, author, title=f"Incident {n}")
    client = browser_of(manager)
    with django_assert_max_num_queries(15):
        page = client.get("/integrations/teams/payments/")
    text = page.content.decode()
    assert page.status_code == 200
    assert text.count('class="badge delivery-pending"') == 5
    assert "HTTP 500" in text and text.count(">Resend</button>") == 5
    assert endpoint.secret not in text and endpoint.secret_hint in text


def test_a_manager_adds_an_endpoint_and_sees_its_secret_once(team, manager, httpserver):
    client = browser_of(manager)
    response = client.post("/integrations/teams/payments/webhooks/", {
        "url": httpserver.url_for("/hook"), "events": ["incident.created", "action_item.done"],
        "description": "Status page",
    })  # fmt: skip
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()
    assert endpoint.secret not in client.get("/integrations/teams/payments/").content.decode()
    assert endpoint.secret not in endpoint.secret_encrypted  # stored encrypted


def test_a_member_sees_the_page_but_changes_nothing(team, teammate, httpserver):
    client = browser_of(teammate)
    assert client.get("/integrations/teams/payments/").status_code == 200
    response = client.post("/integrations/teams/payments/webhooks/", {
        "url": httpserver.url_for("/hook"), "events": ["incident.created"],
    })  # fmt: skip
    assert response.status_code == 403
    assert not WebhookEndpoint.objects.exists()


def test_in_production_a_webhook_may_not_point_into_our_network(team, manager, settings):
    settings.INTEGRATIONS_ALLOW_PRIVATE_URLS = False
    client = browser_of(manager)
    for url in ("http://127.0.0.1:6379/", "https://127.0.0.1/", "https://169.254.169.254/x",
                "https://localhost/hook"):  # fmt: skip
        response = client.post("/integrations/teams/payments/webhooks/",
                               {"url": url, "events": ["incident.created"]})  # fmt: skip
        assert response.status_code == 422, url
        assert url in response.content.decode()  # what was typed stays
    assert not WebhookEndpoint.objects.exists()


def test_settled_deliveries_are_forgotten_after_the_retention(endpoint, receiver, team, author,
                                                              postmortem, sends, settings):  # fmt: skip
    settings.INTEGRATIONS_RETENTION = timedelta(days=30)
    start = timezone.now()  # after the fixtures' own events
    with time_machine.travel(start, tick=False), sends():
        new_incident(team, author, title="Delivered")
        ActionItem.objects.create(postmortem=postmortem, title="Late",
                                  due_date=start.date() - timedelta(days=1))  # fmt: skip
        record_overdue_events(start.date())
    receiver.status = 500
    with time_machine.travel(start, tick=False), sends():
        new_incident(team, author, title="Still failing")
    assert Event.objects.count() == 6  # also the fixture's incident, created and resolved
    with time_machine.travel(start + timedelta(days=29), tick=False):
        assert sweep()["pruned"] == 0
    with time_machine.travel(start + timedelta(days=31), tick=False):
        sweep()
    kept = set(Event.objects.values_list("kind", "data__incident__title"))
    # Delivered and old: gone. The overdue event keeps its key; pending ones wait for retries
    # (the fixture's incident was never sent, its on_commit never ran).
    assert ("incident.created", "Delivered") not in kept
    assert ("action_item.created", "Checkout failing") not in kept
    assert {
        ("action_item.overdue", "Checkout failing"),
        ("incident.created", "Still failing"),
    } <= kept
    assert set(Delivery.objects.exclude(event__kind="action_item.overdue")
               .values_list("status", flat=True)) == {"pending"}  # fmt: skip
