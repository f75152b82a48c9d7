"""Login is required everywhere; team membership decides who sees which incident."""

import pytest
from django.urls import reverse

from incidents.models import Incident


@pytest.fixture
def protected_urls(postmortem, action_item):
    reference = postmortem.incident.reference
    return [
        reverse("incidents:list"),
        reverse("incidents:create"),
        reverse("incidents:detail", args=[reference]),
        reverse("postmortems:export", args=[reference]),
        reverse("postmortems:share_links", args=[reference]),
        reverse("postmortems:after_publication", args=[reference]),
        reverse("postmortems:toc", args=[reference]),
        reverse("actionitems:list"),
        reverse("actionitems:detail", args=[action_item.pk]),
    ]


@pytest.mark.django_db
def test_every_page_needs_a_login(client, protected_urls):
    for url in protected_urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


@pytest.mark.django_db
def test_health_check_needs_no_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


@pytest.mark.django_db
def test_a_member_of_another_team_gets_404_on_every_object(
    outsider_client, postmortem, action_item
):
    reference = postmortem.incident.reference
    for url in [
        reverse("incidents:detail", args=[reference]),
        reverse("postmortems:export", args=[reference]),
        reverse("postmortems:share_links", args=[reference]),
        reverse("postmortems:after_publication", args=[reference]),
        reverse("postmortems:toc", args=[reference]),
        reverse("actionitems:detail", args=[action_item.pk]),
    ]:
        assert outsider_client.get(url).status_code == 404, url
    response = outsider_client.post(
        reverse("postmortems:start", args=[reference]), {"template": "full"}
    )
    assert response.status_code == 404


@pytest.mark.django_db
def test_lists_show_only_the_users_teams(outsider_client, client, author, postmortem, action_item):
    incidents = outsider_client.get(reverse("incidents:list")).content.decode()
    items = outsider_client.get(reverse("actionitems:list")).content.decode()
    assert postmortem.incident.title not in incidents
    assert action_item.title not in items

    client.force_login(author)
    assert postmortem.incident.title in client.get(reverse("incidents:list")).content.decode()
    assert action_item.title in client.get(reverse("actionitems:list")).content.decode()


@pytest.mark.django_db
def test_a_teammate_can_read_everything_of_the_team(client, teammate, postmortem, action_item):
    client.force_login(teammate)
    reference = postmortem.incident.reference
    assert client.get(reverse("incidents:detail", args=[reference])).status_code == 200
    assert client.get(reverse("postmortems:export", args=[reference])).status_code == 200
    assert client.get(reverse("actionitems:detail", args=[action_item.pk])).status_code == 200


@pytest.mark.django_db
def test_an_incident_cannot_be_declared_for_another_team(outsider_client, team):
    response = outsider_client.post(
        reverse("incidents:create"),
        {
            "title": "Sneaky",
            "severity": "SEV1",
            "status": "investigating",
            "team": team.pk,
            "started_at": "2026-03-02T14:00",
            "template": "full",
        },
    )
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert not Incident.objects.filter(title="Sneaky").exists()


@pytest.mark.django_db
def test_a_superuser_sees_every_team(client, make_user, postmortem):
    admin = make_user("root", is_superuser=True, is_staff=True)
    client.force_login(admin)
    response = client.get(reverse("incidents:detail", args=[postmortem.incident.reference]))
    assert response.status_code == 200
