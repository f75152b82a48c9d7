"""Admin edits do not go around the record: workflow fields are read-only, and every edit of
a section or a row is a revision noted "admin" that moves the section's version on."""

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from incidents.models import Incident, TimelineEvent
from postmortems.models import FiveWhy, Postmortem, ReviewEvent, Revision
from tests.conftest import HTMX


class FormData(HTMLParser):
    """What a browser would post for the admin's change form, as rendered."""

    def __init__(self):
        super().__init__()
        self.data, self._select, self._textarea = {}, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            checkable = attrs.get("type") in ("checkbox", "radio")
            if checkable and "checked" not in attrs:
                return
            self.data.setdefault(name, []).append(attrs.get("value", "on" if checkable else ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select].append(attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][0] += data


def change_form(client, url):
    parser = FormData()
    parser.feed(client.get(url).content.decode())
    data = {name: values if len(values) != 1 else values[0] for name, values in parser.data.items()}
    data.pop("csrfmiddlewaretoken", None)
    return data


@pytest.fixture
def root_client(client, make_user, team):
    client.force_login(make_user("root", team, is_superuser=True, is_staff=True))
    return client


def admin_url(obj):
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


@pytest.mark.django_db
def test_a_postmortem_edited_in_the_admin_is_a_revision_and_cannot_be_published(
    root_client, postmortem, author
):
    data = change_form(root_client, admin_url(postmortem))
    assert "status" not in data and "template" not in data  # read-only: shown, not posted
    data.update(executive_summary="Written in the admin.", status="published")
    response = root_client.post(admin_url(postmortem), data)
    assert response.status_code == 302, response.content.decode().split("errorlist")[1:3]
    postmortem.refresh_from_db()
    assert postmortem.executive_summary == "Written in the admin."
    assert postmortem.status == "draft"  # no publishing without the sign-off
    assert not ReviewEvent.objects.exists()
    revision = Revision.objects.get(section="summary")
    assert (revision.version, revision.note, revision.new_text) == (
        1,
        "admin",
        "Written in the admin.",
    )
    assert postmortem.section_versions["summary"] == 1

    # An editor who opened the section before the admin edit gets the usual conflict.
    client_url = reverse("postmortems:section", args=[postmortem.incident.reference, "summary"])
    root_client.force_login(author)
    stale = root_client.post(client_url, {"version": 0, "executive_summary": "Mine"}, **HTMX)
    assert stale.status_code == 409
    history = root_client.get(
        reverse("postmortems:history", args=[postmortem.incident.reference, "summary"]), **HTMX
    )
    assert "Admin" in history.content.decode()


@pytest.mark.django_db
def test_rows_edited_in_the_admin_are_recorded_and_their_version_moves_on(root_client, postmortem):
    why = FiveWhy.objects.create(postmortem=postmortem, question="Why?", answer="Because")
    data = change_form(root_client, admin_url(postmortem))
    assert "five_whys-0-version" not in data
    data["five_whys-0-answer"] = "The pool was too small."
    response = root_client.post(admin_url(postmortem), data)
    assert response.status_code == 302
    why.refresh_from_db()
    assert (why.answer, why.version) == ("The pool was too small.", 2)
    revision = Revision.objects.get(section="five_whys")
    assert revision.note == "admin"
    assert "Because" in revision.old_text and "The pool was too small." in revision.new_text
    assert revision.data["changes"][0]["row"] == why.pk


@pytest.mark.django_db
def test_incident_and_timeline_edits_in_the_admin_are_recorded(root_client, postmortem):
    incident = postmortem.incident
    event = TimelineEvent.objects.create(
        incident=incident, occurred_at=datetime(2026, 3, 2, 14, 5, tzinfo=UTC), description="Alert"
    )
    data = change_form(root_client, admin_url(incident))
    data["title"] = "Checkout failing in the EU"
    assert root_client.post(admin_url(incident), data).status_code == 302
    assert Incident.objects.get().title == "Checkout failing in the EU"
    assert Revision.objects.get(section="incident_details").note == "admin"

    data = change_form(root_client, admin_url(event))
    data["description"] = "Pool alert fired"
    assert root_client.post(admin_url(event), data).status_code == 302
    event.refresh_from_db()
    assert event.version == 2
    timeline = Revision.objects.get(section="timeline")
    assert timeline.note == "admin" and "Pool alert fired" in timeline.new_text

    delete = reverse("admin:incidents_timelineevent_delete", args=[event.pk])
    assert root_client.post(delete, {"post": "yes"}).status_code == 302
    assert Revision.objects.filter(section="timeline").first().new_text == ""


@pytest.mark.django_db
def test_the_record_cannot_be_written_in_the_admin(root_client, postmortem):
    for name in ("postmortems_revision", "postmortems_reviewevent"):
        assert root_client.get(reverse(f"admin:{name}_add")).status_code == 403
    assert Postmortem.objects.count() == 1
