"""Edit in place: view fragment -> form -> save swaps the view back; stale saves get a 409."""

import pytest
from django.test import Client
from django.urls import reverse

from postmortems.models import Postmortem, Revision
from tests.conftest import HTMX, browser_of


def section_url(postmortem, key):
    return reverse("postmortems:section", args=[postmortem.incident.reference, key])


def save(client, postmortem, key, version, **fields):
    return client.post(section_url(postmortem, key), {"version": version, **fields}, **HTMX)


@pytest.fixture
def mike_client(teammate):
    return browser_of(teammate)


@pytest.mark.django_db
def test_view_fragment_shows_the_section_with_its_version(author_client, postmortem):
    response = author_client.get(section_url(postmortem, "root_cause"), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="body-root_cause"' in body
    assert "A leak." in body
    assert 'value="root_cause:0"' in body
    assert "<html" not in body  # a fragment, not a page


@pytest.mark.django_db
def test_edit_fragment_is_a_form_with_the_current_text_and_version(author_client, postmortem):
    response = author_client.get(section_url(postmortem, "root_cause") + "?edit=1", **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<form" in body and "data-edit-form" in body
    assert "A leak.</textarea>" in body
    assert 'name="version" value="0"' in body
    assert 'name="editing" value="root_cause"' in body  # tells the presence poll


@pytest.mark.django_db
def test_save_swaps_the_rendered_section_back_and_records_a_revision(
    author_client, postmortem, author
):
    response = save(
        author_client,
        postmortem,
        "root_cause",
        0,
        root_cause="A **leak** in the pool.",
        trigger="Sale",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<strong>leak</strong>" in body
    assert 'value="root_cause:1"' in body
    postmortem.refresh_from_db()
    assert postmortem.root_cause == "A **leak** in the pool."
    revision = Revision.objects.get(incident=postmortem.incident, section="root_cause")
    assert (revision.version, revision.author) == (1, author)
    assert "Root cause:\nA leak." in revision.old_text
    assert "Root cause:\nA **leak** in the pool." in revision.new_text
    assert "What triggered it:\nSale" in revision.new_text


@pytest.mark.django_db
def test_every_postmortem_section_and_incident_field_uses_the_same_editor(
    author_client, postmortem
):
    from postmortems.editing import FIELD_SECTIONS

    for key in FIELD_SECTIONS:
        response = author_client.get(section_url(postmortem, key) + "?edit=1", **HTMX)
        assert response.status_code == 200, key
        assert f'id="body-{key}"' in response.content.decode(), key


@pytest.mark.django_db
def test_invalid_input_re_renders_the_form_with_what_was_typed(author_client, postmortem):
    response = save(
        author_client,
        postmortem,
        "impact",
        0,
        users_affected="lots",
        slo_target="150",
        user_scope="Everyone in EU",
        impact_summary="Typed **summary** stays",
    )
    body = response.content.decode()
    assert response.status_code == 422
    assert "Enter a whole number." in body
    assert "Ensure this value is less than or equal to 99.999." in body
    assert 'value="Everyone in EU"' in body
    assert "Typed **summary** stays</textarea>" in body
    postmortem.refresh_from_db()
    assert postmortem.user_scope == ""
    assert not Revision.objects.exists()


@pytest.mark.django_db
def test_incident_fields_are_edited_in_place_and_validated(author_client, postmortem):
    incident = postmortem.incident
    url = section_url(postmortem, "incident_times")
    bad = author_client.post(
        url,
        {"version": 0, "started_at": "2026-03-02T14:00", "detected_at": "2026-03-02T13:00",
         "resolved_at": "2026-03-02T14:30"},
        **HTMX,
    )  # fmt: skip
    assert bad.status_code == 422
    assert "cannot be before the incident started" in bad.content.decode()
    good = author_client.post(
        url,
        {"version": 0, "started_at": "2026-03-02T14:00", "detected_at": "2026-03-02T14:04",
         "resolved_at": "2026-03-02T15:00"},
        **HTMX,
    )  # fmt: skip
    assert good.status_code == 200
    assert "1 h" in good.content.decode()  # the derived duration refreshed with the times
    incident.refresh_from_db()
    assert incident.time_to_detect.total_seconds() == 240

    details = author_client.post(
        section_url(postmortem, "incident_details"),
        {
            "version": 0,
            "title": "Checkout failing for EU",
            "severity": "SEV2",
            "status": "resolved",
        },
        **HTMX,
    )
    assert details.status_code == 200
    assert "Checkout failing for EU" in details.content.decode()


@pytest.mark.django_db
def test_two_people_saving_the_same_version_the_second_gets_a_conflict(
    author_client, mike_client, postmortem, teammate
):
    # Both open the editor at version 0.
    for client in (author_client, mike_client):
        assert (
            'name="version" value="0"'
            in client.get(
                section_url(postmortem, "root_cause") + "?edit=1", **HTMX
            ).content.decode()
        )
    first = save(mike_client, postmortem, "root_cause", 0, root_cause="Mike's cause", trigger="")
    assert first.status_code == 200

    second = save(author_client, postmortem, "root_cause", 0, root_cause="Jane's cause", trigger="")
    body = second.content.decode()
    assert second.status_code == 409
    assert "Mike Alvarez saved this section" in body
    assert "Mike&#x27;s cause" in body  # the current text, beside...
    assert "Jane&#x27;s cause</textarea>" in body  # ...the user's own, still in the form
    assert 'name="version" value="1"' in body  # rebased: saving again applies the merge
    postmortem.refresh_from_db()
    assert postmortem.root_cause == "Mike's cause"  # nothing overwritten

    merged = save(author_client, postmortem, "root_cause", 1, root_cause="Both causes", trigger="")
    assert merged.status_code == 200
    postmortem.refresh_from_db()
    assert postmortem.root_cause == "Both causes"
    assert list(
        Revision.objects.filter(section="root_cause").values_list("version", "new_text")
    ) == [(2, "Root cause:\nBoth causes\nWhat triggered it:\n—"),
          (1, "Root cause:\nMike's cause\nWhat triggered it:\n—")]  # fmt: skip


@pytest.mark.django_db
def test_a_stale_save_of_identical_text_is_not_a_conflict(author_client, mike_client, postmortem):
    save(mike_client, postmortem, "summary", 0, executive_summary="Same")
    response = save(author_client, postmortem, "summary", 0, executive_summary="Same")
    assert response.status_code == 200
    assert Revision.objects.filter(section="summary").count() == 1


@pytest.mark.django_db
def test_conflicts_are_per_section(author_client, mike_client, postmortem):
    assert save(mike_client, postmortem, "went_well", 0, went_well="Fast paging").status_code == 200
    response = save(author_client, postmortem, "went_wrong", 0, went_wrong="No runbook")
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_plain_form_post_without_javascript_redirects_to_the_page(author_client, postmortem):
    response = author_client.post(
        section_url(postmortem, "summary"), {"version": 0, "executive_summary": "No JS"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#section-summary")
    page = author_client.get(section_url(postmortem, "summary") + "?edit=1")
    assert "<html" in page.content.decode()  # the form inside the page layout


@pytest.mark.django_db
def test_other_teams_and_unknown_sections_get_404(outsider, author_client, postmortem):
    outsider_client = browser_of(outsider)
    assert outsider_client.get(section_url(postmortem, "summary"), **HTMX).status_code == 404
    assert save(outsider_client, postmortem, "summary", 0, executive_summary="x").status_code == 404
    assert author_client.get(section_url(postmortem, "nonsense"), **HTMX).status_code == 404
    assert Postmortem.objects.get().executive_summary == ""


@pytest.mark.django_db
def test_the_page_carries_the_csrf_header_for_htmx(author_client, postmortem):
    body = author_client.get(postmortem.incident.get_absolute_url()).content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in body


@pytest.mark.django_db
def test_htmx_requests_without_the_csrf_token_are_refused(postmortem, author):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(author)
    response = save(strict, postmortem, "summary", 0, executive_summary="Forged")
    assert response.status_code == 403
