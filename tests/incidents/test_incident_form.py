"""The new-incident form: grouped in fieldsets, people by full name and username, services
as a filterable list of checkboxes, and a warning before declaring the same incident twice."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident, Service
from incidents.services import possible_duplicates, titles_alike
from postmortems.models import Postmortem, ReviewRequest
from tests.conftest import HTMX


def fields_of(fieldset_html):
    return re.findall(r'name="([a-z_]+)"', fieldset_html)


@pytest.mark.django_db
def test_the_form_is_grouped_what_when_who_impact(author_client, service):
    body = author_client.get(reverse("incidents:create")).content.decode()
    fieldsets = re.findall(r'<fieldset class="form-group[^"]*">\s*<legend>(\w+)</legend>(.*?)</fieldset>\s*(?=<fieldset class="form-group|<button)', body, re.S)  # fmt: skip
    assert [legend for legend, _ in fieldsets] == ["What", "When", "Who", "Impact"]
    groups = {legend: fields_of(html) for legend, html in fieldsets}
    assert groups["What"] == ["title", "severity", "status", "external_id", "template"]
    assert groups["When"] == [
        "started_at",
        "detected_at",
        "acknowledged_at",
        "mitigated_at",
        "resolved_at",
        "all_clear_at",
    ]
    assert groups["Who"] == ["team", "commander"]
    assert "services" in groups["Impact"]
    assert 'name="create_anyway"' not in body  # only once a duplicate is suspected


@pytest.mark.django_db
def test_people_are_offered_by_full_name_and_username(author_client, author, teammate, team):
    teammate.first_name, teammate.last_name = "", ""
    teammate.save()
    body = author_client.get(reverse("incidents:create")).content.decode()
    assert f'<option value="{author.pk}">Jane Park (jane)</option>' in body
    assert f'<option value="{teammate.pk}">mike</option>' in body  # no name: the username


@pytest.mark.django_db
def test_the_document_pickers_name_people_the_same_way(author_client, postmortem, manager):
    incident = postmortem.incident
    details = reverse("postmortems:section", args=[incident.reference, "incident_details"])
    body = author_client.get(details + "?edit=1", **HTMX).content.decode()
    assert ">Jane Park (jane)</option>" in body
    assert ">Sarah Okafor (sarah)</option>" in body
    owner = reverse("postmortems:row_new", args=[incident.reference, "action_items"])
    body = author_client.get(owner, **HTMX).content.decode()
    assert ">Sarah Okafor (sarah)</option>" in body
    review = author_client.get(reverse("postmortems:review", args=[incident.reference]), **HTMX)
    assert ">Sarah Okafor (sarah)</option>" in review.content.decode()


@pytest.mark.django_db
def test_a_reviewer_form_with_errors_names_people_too(author_client, postmortem, manager):
    response = author_client.post(
        reverse("postmortems:reviewer_add", args=[postmortem.incident.reference]),
        {"reviewer": manager.pk, "role": "nonsense"},
        **HTMX,
    )
    assert ">Sarah Okafor (sarah)</option>" in response.content.decode()
    assert not ReviewRequest.objects.exists()


@pytest.mark.django_db
def test_services_are_checkboxes_with_a_filter_box_that_needs_no_script(author_client, team):
    for name in ("Payment API", "Ledger", "Checkout web"):
        Service.objects.create(team=team, name=name)
    body = author_client.get(reverse("incidents:create")).content.decode()
    assert '<select name="services"' not in body and "multiple" not in body
    assert body.count('type="checkbox" name="services"') == 3
    # Labelled, grouped and filterable; the filter box stays hidden until the script runs.
    assert "<legend>Services:</legend>" in body
    assert re.search(r'<p class="picker-filter" hidden>\s*<label for="id_services-filter">', body)
    assert 'aria-controls="id_services-options"' in body
    assert "js/picker.js" in body
    assert "onclick" not in body and "<script>" not in body
    ledger = Service.objects.get(name="Ledger")
    response = author_client.post(
        reverse("incidents:create"),
        {"title": "Ledger slow", "severity": "SEV2", "status": "investigating",
         "team": team.pk, "started_at": "2026-03-02 14:00", "template": "full",
         "services": [ledger.pk]},
    )  # fmt: skip
    assert response.status_code == 302
    assert list(Incident.objects.get().services.all()) == [ledger]


# Declaring the same incident twice


@pytest.mark.parametrize(
    "a, b, alike",
    [
        ("DB pool exhausted", "db  POOL exhausted ", True),
        ("DB pool exhausted", "DB pool exhaustion", True),
        ("Checkout failing", "Checkout failing!", True),
        ("DB pool exhausted", "Checkout errors", False),
        ("Search slow", "Ledger slow", False),
        ("", "", False),
    ],
)
def test_titles_alike(a, b, alike):
    assert titles_alike(a, b) is alike


NOW = timezone.now().replace(microsecond=0)


def declare(client, team, title="Checkout failing", started=None, **extra):
    started = started or NOW - timedelta(minutes=30)
    return client.post(
        reverse("incidents:create"),
        {"title": title, "severity": "SEV1", "status": "investigating", "team": team.pk,
         "started_at": started.astimezone(UTC).strftime("%Y-%m-%d %H:%M"), "template": "full",
         **extra},
    )  # fmt: skip


@pytest.fixture
def recent(team, author):
    return Incident.objects.create(
        title="Checkout failing", team=team, started_at=NOW - timedelta(hours=1), created_by=author
    )


@pytest.mark.django_db
def test_a_look_alike_of_a_recent_incident_comes_back_with_a_warning(author_client, team, recent):
    response = declare(author_client, team, title="  checkout FAILING")
    body = response.content.decode()
    assert response.status_code == 409
    assert f'<a href="{recent.get_absolute_url()}">{recent.reference}</a>' in body
    assert "This looks like an incident already declared" in body
    assert 'name="create_anyway"' in body
    assert 'value="  checkout FAILING"' in body  # what was typed stays
    assert Incident.objects.count() == 1

    confirmed = declare(author_client, team, title="  checkout FAILING", create_anyway="on")
    assert confirmed.status_code == 302
    assert Incident.objects.count() == 2
    assert Postmortem.objects.count() == 1  # the new one's


@pytest.mark.django_db
@pytest.mark.parametrize(
    "title, started_offset, why",
    [
        ("Ledger writes lost", timedelta(0), "another title"),
        ("Checkout failing", timedelta(hours=3, minutes=1), "started too far apart"),
    ],
)
def test_different_incidents_are_declared_without_a_warning(
    author_client, team, recent, title, started_offset, why
):
    response = declare(author_client, team, title=title, started=recent.started_at + started_offset)
    assert response.status_code == 302, why


@pytest.mark.django_db
def test_only_the_same_team_and_the_last_seven_days_count(team, other_team, author):
    started = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    old = Incident.objects.create(title="Checkout failing", team=team, started_at=started)
    Incident.objects.filter(pk=old.pk).update(created_at=started)
    other = Incident.objects.create(title="Checkout failing", team=other_team, started_at=started)
    assert possible_duplicates(team, "Checkout failing", started, now=started + timedelta(days=6)) == [old]  # fmt: skip
    assert possible_duplicates(team, "Checkout failing", started, now=started + timedelta(days=8)) == []  # fmt: skip
    assert possible_duplicates(other_team, "checkout failing", started, now=started) == [other]
