"""Every save is a revision; the history shows diffs and can restore an older version."""

import pytest
from django.urls import reverse

from postmortems.models import Postmortem, Revision
from tests.conftest import HTMX


def edit(client, postmortem, version, text):
    url = reverse("postmortems:section", args=[postmortem.incident.reference, "lessons_learned"])
    response = client.post(url, {"version": version, "lessons_learned": text}, **HTMX)
    assert response.status_code == 200, response.content
    return response


def history(client, postmortem, key="lessons_learned"):
    url = reverse("postmortems:history", args=[postmortem.incident.reference, key])
    return client.get(url, **HTMX)


def restore(client, postmortem, version, base):
    url = reverse(
        "postmortems:restore", args=[postmortem.incident.reference, "lessons_learned", version]
    )
    return client.post(url, {"version": base}, **HTMX)


@pytest.fixture
def three_versions(author_client, postmortem):
    edit(author_client, postmortem, 0, "Pools need alerts.")
    edit(author_client, postmortem, 1, "Pools need alerts.\nError paths need tests.")
    edit(author_client, postmortem, 2, "Pools need alerts at 80%.\nError paths need tests.")
    return postmortem


@pytest.mark.django_db
def test_history_lists_revisions_newest_first_with_author_time_and_diff(
    author_client, three_versions
):
    response = history(author_client, three_versions)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.index("Version 3") < body.index("Version 2") < body.index("Version 1")
    assert "by Jane Park" in body
    assert "UTC</time>" in body
    assert '<span class="removed">-Pools need alerts.</span>' in body
    # Inside a changed line, the words that changed are marked.
    assert '<span class="added">+Pools need alerts<ins> at 80%</ins>.</span>' in body
    assert '<span class="added">+Error paths need tests.</span>' in body
    # The current version cannot be "restored"; the older ones can.
    assert "Restore version 3" not in body
    assert "Restore version 1" in body and "Restore version 2" in body


@pytest.mark.django_db
def test_restore_brings_back_an_old_version_as_a_new_revision(author_client, three_versions):
    response = restore(author_client, three_versions, version=1, base=3)
    assert response.status_code == 200
    assert "Pools need alerts." in response.content.decode()
    three_versions.refresh_from_db()
    assert three_versions.lessons_learned == "Pools need alerts."
    latest = Revision.objects.filter(section="lessons_learned").first()
    assert (latest.version, latest.restored_from) == (4, 1)
    assert latest.old_text == "Pools need alerts at 80%.\nError paths need tests."
    assert "(restored version 1)" in history(author_client, three_versions).content.decode()


@pytest.mark.django_db
def test_restore_against_a_changed_section_is_refused(author_client, three_versions):
    edit(author_client, three_versions, 3, "Someone kept writing.")
    response = restore(author_client, three_versions, version=1, base=3)
    assert response.status_code == 409
    three_versions.refresh_from_db()
    assert three_versions.lessons_learned == "Someone kept writing."


@pytest.mark.django_db
def test_restore_of_a_multi_field_section_restores_every_field(author_client, postmortem):
    url = reverse("postmortems:section", args=[postmortem.incident.reference, "detection"])
    first = {
        "detection_method": "user_report",
        "alert_name": "PoolSaturation",
        "detection_notes": "Late",
    }
    author_client.post(url, {"version": 0, **first}, **HTMX)
    author_client.post(url, {"version": 1, "detection_notes": "Dashboards"}, **HTMX)
    assert Postmortem.objects.get().alert_name == ""
    response = author_client.post(
        reverse("postmortems:restore", args=[postmortem.incident.reference, "detection", 1]),
        {"version": 2},
        **HTMX,
    )
    assert response.status_code == 200
    restored = Postmortem.objects.get()
    assert (restored.detection_method, restored.alert_name, restored.detection_notes) == (
        "user_report",
        "PoolSaturation",
        "Late",
    )


@pytest.mark.django_db
def test_unknown_revision_is_404(author_client, postmortem):
    assert restore(author_client, postmortem, version=9, base=0).status_code == 404


@pytest.mark.django_db
def test_history_of_an_untouched_section_says_so(author_client, postmortem):
    assert "No changes recorded yet" in history(author_client, postmortem).content.decode()


@pytest.mark.django_db
def test_another_team_cannot_read_the_history(client, outsider, three_versions):
    client.force_login(outsider)
    assert history(client, three_versions).status_code == 404


@pytest.mark.django_db
def test_a_row_section_can_be_restored_too(author_client, postmortem):
    reference = postmortem.incident.reference
    new_why = reverse("postmortems:row_new", args=[reference, "five_whys"])
    for question in ["Why did checkout fail?", "Why was the pool empty?"]:
        author_client.post(
            new_why, {"version": 0, "question": question, "answer": "Because"}, **HTMX
        )
    first = postmortem.five_whys.first()
    author_client.post(
        reverse("postmortems:row_delete", args=[reference, "five_whys", first.pk]),
        {"version": 1},
        **HTMX,
    )
    assert list(postmortem.five_whys.values_list("question", flat=True)) == [
        "Why was the pool empty?"
    ]
    body = history(author_client, postmortem, "five_whys").content.decode()
    assert '<span class="removed">-Why: Why did checkout fail?</span>' in body
    response = author_client.post(
        reverse("postmortems:restore", args=[reference, "five_whys", 2]), {"version": 3}, **HTMX
    )
    assert response.status_code == 200
    assert list(postmortem.five_whys.values_list("question", "position")) == [
        ("Why did checkout fail?", 0),
        ("Why was the pool empty?", 1),
    ]
    assert Revision.objects.filter(section="five_whys").first().restored_from == 2


@pytest.mark.django_db
def test_action_items_history_is_read_only(author_client, postmortem, action_item):
    reference = postmortem.incident.reference
    status_url = reverse("postmortems:action_item_status", args=[reference, action_item.pk])
    author_client.post(status_url, {"status": "done"}, **HTMX)
    author_client.post(status_url, {"status": "in_progress"}, **HTMX)
    body = history(author_client, postmortem, "action_items").content.decode()
    assert "Version 2" in body and "Version 1" in body
    assert "Add a pool alert" in body and "Restore version" not in body
    refused = author_client.post(
        reverse("postmortems:restore", args=[reference, "action_items", 1]), {"version": 2}, **HTMX
    )
    assert refused.status_code == 400
