"""Archiving incidents and postmortems, deleting a draft postmortem: who may, what leaves the
lists, what stays reachable, and the log of it."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from actionitems.models import ActionItem
from incidents.filters import IncidentFilter
from incidents.models import ActionRefused, Activity, Incident
from postmortems.models import Postmortem, ReviewRequest, Revision
from postmortems.review import add_reviewer
from tests.conftest import HTMX, browser_of


def incident_url(name, incident):
    return reverse(f"incidents:{name}", args=[incident.reference])


def postmortem_url(name, incident):
    return reverse(f"postmortems:{name}", args=[incident.reference])


@pytest.fixture
def outside_reviewer(make_user, other_team, postmortem, author):
    """Someone of another team asked to review: reads the document, changes nothing."""
    person = make_user("olivia", other_team, last_name="Reyes")
    add_reviewer(postmortem, person, ReviewRequest.Role.ENGINEERING_LEAD, author)
    return person


# The rules, on the models


@pytest.mark.django_db
def test_archiving_is_recorded_and_refused_twice(incident, author):
    activity = incident.archive(by=author)
    incident.refresh_from_db()
    assert incident.is_archived and incident.archived_by == author
    assert (activity.kind, activity.actor) == (Activity.Kind.ARCHIVED, author)
    with pytest.raises(ActionRefused, match="already archived"):
        incident.archive(by=author)
    incident.unarchive(by=author)
    incident.refresh_from_db()
    assert not incident.is_archived
    assert list(incident.activities.values_list("kind", flat=True)) == ["unarchived", "archived"]
    assert list(Incident.objects.active()) == [incident]


@pytest.mark.django_db
def test_a_deleted_draft_takes_its_writing_and_history_and_leaves_a_log(postmortem, manager):
    incident = postmortem.incident
    browser = browser_of(manager)
    section = reverse("postmortems:section", args=[incident.reference, "root_cause"])
    saved = browser.post(section, {"version": 0, "root_cause": "A leak in v2.5.3."}, **HTMX)
    assert saved.status_code == 200
    assert Revision.objects.filter(section="root_cause").count() == 1
    postmortem.refresh_from_db()
    postmortem.delete_draft(by=manager)
    assert not Postmortem.objects.exists()
    assert not Revision.objects.filter(section="root_cause").exists()
    entry = incident.activities.get()
    assert (entry.kind, entry.actor) == (Activity.Kind.POSTMORTEM_DELETED, manager)
    # Started again, it numbers its versions from the start.
    Postmortem.objects.create(incident=Incident.objects.get(pk=incident.pk))
    again = browser.post(section, {"version": 0, "root_cause": "Second try."}, **HTMX)
    assert again.status_code == 200
    assert Revision.objects.get(section="root_cause").version == 1


@pytest.mark.django_db
def test_only_a_draft_can_be_deleted(postmortem, manager):
    postmortem.status = Postmortem.Status.IN_REVIEW
    postmortem.save()
    with pytest.raises(ActionRefused, match="Only a draft"):
        postmortem.delete_draft(by=manager)
    assert Postmortem.objects.exists()


# Who may, through the pages


@pytest.mark.django_db
@pytest.mark.parametrize(
    "who, status",
    [("author", 302), ("teammate", 302), ("manager", 302), ("outsider", 404), ("reviewer", 403)],
)
def test_who_may_archive(request, postmortem, outside_reviewer, who, status):
    person = outside_reviewer if who == "reviewer" else request.getfixturevalue(who)
    browser = browser_of(person)
    incident = postmortem.incident
    for name, url in [
        ("postmortem archived", postmortem_url("archive", incident)),
        ("incident archived", incident_url("archive", incident)),
    ]:
        response = browser.post(url)
        assert response.status_code == status, name
    incident.refresh_from_db()
    postmortem.refresh_from_db()
    assert incident.is_archived is (status == 302)
    assert postmortem.is_archived is (status == 302)
    assert incident.activities.count() == (2 if status == 302 else 0)


@pytest.mark.django_db
def test_archive_urls_take_only_posts(author_client, incident):
    assert author_client.get(incident_url("archive", incident)).status_code == 405
    assert author_client.get(postmortem_url("archive", incident)).status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize("who, status", [("manager", 200), ("author", 403), ("outsider", 404)])
def test_only_a_manager_of_the_team_deletes_a_draft_after_confirming(
    request, postmortem, who, status
):
    browser = browser_of(request.getfixturevalue(who))
    incident = postmortem.incident
    page = browser.get(postmortem_url("delete", incident))
    assert page.status_code == status
    if status == 200:
        body = page.content.decode()
        assert "Delete the draft postmortem of INC-2026-0001?" in body
        assert "cannot be undone" in body
        assert Postmortem.objects.exists()  # asking deletes nothing
    response = browser.post(postmortem_url("delete", incident))
    assert response.status_code == (302 if status == 200 else status)
    assert Postmortem.objects.exists() is (status != 200)
    if status == 200:
        assert response["Location"] == incident.get_absolute_url()
        page = browser.get(incident.get_absolute_url()).content.decode()
        assert "No postmortem yet" in page
        assert "The draft postmortem of INC-2026-0001 is deleted." in page
        assert "Draft postmortem deleted by Sarah Okafor" in page


@pytest.mark.django_db
def test_a_postmortem_in_review_is_not_deleted(manager, postmortem):
    postmortem.status = Postmortem.Status.IN_REVIEW
    postmortem.save()
    browser = browser_of(manager)
    page = browser.get(postmortem_url("delete", postmortem.incident))
    assert page.status_code == 409
    assert "Only a draft can be deleted" in page.content.decode()
    response = browser.post(postmortem_url("delete", postmortem.incident), follow=True)
    assert "Only a draft can be deleted; this postmortem is In review." in response.content.decode()
    assert Postmortem.objects.exists()
    assert not Activity.objects.exists()


@pytest.mark.django_db
def test_the_document_offers_the_actions_to_whom_they_are_for(postmortem, author, manager):
    url = postmortem.incident.get_absolute_url()
    as_author = browser_of(author).get(url).content.decode()
    assert "Archive the incident" in as_author and "Archive the postmortem" in as_author
    assert "Delete the draft postmortem" not in as_author
    as_manager = browser_of(manager).get(url).content.decode()
    assert "Delete the draft postmortem" in as_manager


# Out of the lists, still reachable


@pytest.mark.django_db
def test_an_archived_incident_leaves_the_list_and_stays_reachable_with_a_banner(
    author_client, postmortem, author, team
):
    incident = postmortem.incident
    kept = Incident.objects.create(title="Still here", team=team, started_at=incident.started_at)
    incident.archive(by=author)
    listing = author_client.get(reverse("incidents:list")).content.decode()
    assert kept.reference in listing and incident.reference not in listing
    assert "Show archived" in listing
    everything = author_client.get(reverse("incidents:list") + "?archived=on").content.decode()
    assert incident.reference in everything and kept.reference in everything
    assert '<span class="badge archived">Archived</span>' in everything
    page = author_client.get(incident.get_absolute_url())
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="archived-banner"' in body and "was archived by Jane Park" in body
    assert "Unarchive the incident" in body


@pytest.mark.django_db
def test_the_incident_filter_leaves_archived_out_for_search_and_insights(incident, author, team):
    incident.archive(by=author)
    request = RequestFactory().get("/")
    request.user = author
    assert list(IncidentFilter({}, queryset=Incident.objects.all(), request=request).qs) == []
    shown = IncidentFilter({"archived": "on"}, queryset=Incident.objects.all(), request=request)
    assert list(shown.qs) == [incident]


@pytest.mark.django_db
def test_insights_and_search_pages_still_work_with_archived_incidents(
    author_client, postmortem, author, django_capture_on_commit_callbacks
):
    from insights import indexing

    incident = postmortem.incident
    section = reverse("postmortems:section", args=[incident.reference, "root_cause"])
    with django_capture_on_commit_callbacks(execute=True):
        author_client.post(section, {"version": 0, "root_cause": "Checkout pool leak"}, **HTMX)
    indexing.run_pending()
    found = author_client.get(reverse("insights:search"), {"q": "Checkout"}).content.decode()
    assert incident.reference in found
    incident.archive(by=author)
    assert author_client.get(reverse("insights:dashboard")).status_code == 200
    search = author_client.get(reverse("insights:search"), {"q": "Checkout"})
    assert search.status_code == 200
    assert incident.reference not in search.content.decode()
    with_archived = author_client.get(
        reverse("insights:search"), {"q": "Checkout", "archived": "on"}
    )
    assert with_archived.status_code == 200
    assert incident.reference in with_archived.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("archive", ["incident", "postmortem"])
def test_my_work_leaves_out_what_was_archived(author_client, postmortem, author, archive):
    ActionItem.objects.create(postmortem=postmortem, title="Add a pool alert", owner=author)
    before = author_client.get(reverse("my_work")).content.decode()
    assert "Checkout failing" in before and "Add a pool alert" in before
    (postmortem.incident if archive == "incident" else postmortem).archive(by=author)
    after = author_client.get(reverse("my_work"))
    assert after.status_code == 200
    body = after.content.decode()
    assert "Checkout failing" not in body and "Add a pool alert" not in body


@pytest.mark.django_db
def test_an_archived_postmortem_shows_a_banner_and_can_come_back(author_client, postmortem):
    incident = postmortem.incident
    author_client.post(postmortem_url("archive", incident))
    body = author_client.get(incident.get_absolute_url()).content.decode()
    assert "Postmortem archived." in body and "Unarchive the postmortem" in body
    assert "<li>Postmortem archived by Jane Park, <time" in body  # the log, while set aside
    author_client.post(postmortem_url("unarchive", incident))
    postmortem.refresh_from_db()
    assert not postmortem.is_archived
    kinds = list(incident.activities.values_list("kind", flat=True))
    assert kinds == ["postmortem_unarchived", "postmortem_archived"]
    assert (
        'class="activity-log"'
        not in author_client.get(incident.get_absolute_url()).content.decode()
    )


@pytest.mark.django_db
def test_unarchiving_what_is_not_archived_says_so(author_client, incident):
    response = author_client.post(incident_url("unarchive", incident), follow=True)
    assert f"{incident.reference} is not archived." in response.content.decode()
    assert not Activity.objects.exists()


@pytest.mark.django_db
def test_the_document_page_of_an_archived_incident_needs_one_query_more_for_its_log(
    author_client, postmortem, author, django_assert_max_num_queries
):
    url = postmortem.incident.get_absolute_url()
    author_client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        author_client.get(url)
    postmortem.incident.archive(by=author)
    postmortem.archive(by=author)
    with django_assert_max_num_queries(len(before.captured_queries) + 1):
        assert author_client.get(url).status_code == 200


@pytest.mark.django_db
def test_the_action_item_list_leaves_out_items_of_archived_incidents(author_client, action_item):
    url = reverse("actionitems:list")
    assert action_item.title in author_client.get(url).content.decode()
    action_item.postmortem.incident.archive(by=action_item.owner)
    assert action_item.title not in author_client.get(url).content.decode()
    assert action_item.title in author_client.get(url, {"archived": "on"}).content.decode()
