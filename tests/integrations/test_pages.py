"""The integration pages open for the people they are for, in a bounded number of queries."""

import pytest

from api.models import ApiToken
from integrations.models import TrackerConnection, TrackerLink
from tests.conftest import browser_of

pytestmark = pytest.mark.django_db


def test_the_tokens_page_lists_many_tokens_in_few_queries(author, django_assert_max_num_queries):
    for n in range(20):
        ApiToken.issue(author, f"bot {n}")
    client = browser_of(author)
    with django_assert_max_num_queries(6):
        response = client.get("/api/tokens/")
    assert response.content.decode().count(">Revoke</button>") == 20


def test_the_integrations_index_lists_my_teams(author, team, other_team,
                                               django_assert_max_num_queries):  # fmt: skip
    client = browser_of(author)
    with django_assert_max_num_queries(6):
        page = client.get("/integrations/").content.decode()
    assert "/integrations/teams/payments/" in page and "/integrations/teams/search/" not in page
    assert client.get("/integrations/teams/search/").status_code == 404


def test_the_action_item_page_offers_create_ticket_to_the_team_only(
    action_item, author, outsider, postmortem, manager, django_assert_max_num_queries
):
    connection = TrackerConnection(team=postmortem.incident.team, provider="github",
                                   name="GitHub web", project="acme/web")  # fmt: skip
    connection.token = "ghp_x"
    connection.save()
    reviewer = browser_of(outsider)
    from postmortems.models import ReviewRequest

    ReviewRequest.objects.create(postmortem=postmortem, reviewer=outsider, role="manager")
    assert "Create ticket" not in reviewer.get(action_item.get_absolute_url()).content.decode()
    client = browser_of(author)
    with django_assert_max_num_queries(12):
        page = client.get(action_item.get_absolute_url()).content.decode()
    assert "Create ticket" in page and "GitHub web" in page
    TrackerLink.objects.create(action_item=action_item, connection=connection, key="acme/web#7",
                               remote_id="7", url="https://github.com/acme/web/issues/7")  # fmt: skip
    page = client.get(action_item.get_absolute_url()).content.decode()
    assert 'href="https://github.com/acme/web/issues/7"' in page and "Create ticket" not in page


def test_an_item_of_a_team_without_a_tracker_shows_no_ticket_panel(action_item, author):
    page = browser_of(author).get(action_item.get_absolute_url()).content.decode()
    assert "Create ticket" not in page and 'id="ticket-heading"' not in page


def test_a_done_item_is_not_offered_a_ticket(action_item, author, team):
    connection = TrackerConnection(team=team, provider="github", name="GitHub web",
                                   project="acme/web")  # fmt: skip
    connection.token = "ghp_x"
    connection.save()
    action_item.status = "done"
    action_item.save()
    page = browser_of(author).get(action_item.get_absolute_url()).content.decode()
    assert "Create ticket" not in page
