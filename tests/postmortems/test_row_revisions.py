"""A row change records that row only (before and after), whatever the list's length; the
history still reads as a diff, and restoring walks the changes back."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from incidents.models import TimelineEvent
from postmortems.models import FiveWhy, Revision
from postmortems.services import add_row, delete_row, move_row, restore_revision, save_row
from tests.conftest import HTMX

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def whys(postmortem):
    return list(postmortem.five_whys.values_list("question", "answer"))


@pytest.mark.django_db
def test_a_row_revision_holds_the_changed_row_not_the_list(postmortem, author):
    incident = postmortem.incident
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            incident=incident, occurred_at=START + timedelta(minutes=n), description=f"E{n}"
        )
        for n in range(300)
    )
    event = incident.timeline_events.order_by("pk")[150]
    save_row(incident, "timeline", event.pk, {"description": "Pool alert fired"}, author, 1)
    revision = Revision.objects.get(section="timeline")
    assert revision.old_text == "2026-03-02 16:30 UTC | Other | — | E150"
    assert revision.new_text == "2026-03-02 16:30 UTC | Other | — | Pool alert fired"
    [change] = revision.data["changes"]
    assert (change["row"], change["before"]["description"], change["after"]["description"]) == (
        event.pk,
        "E150",
        "Pool alert fired",
    )
    assert len(str(revision.data)) < 1000


@pytest.mark.django_db
def test_restore_walks_back_adds_edits_moves_and_deletes(postmortem, author):
    incident = postmortem.incident
    for question in ["Why one?", "Why two?", "Why three?"]:
        add_row(incident, "five_whys", {"question": question, "answer": "Because"}, author)  # v1-3
    one, two, three = postmortem.five_whys.order_by("position")
    save_row(incident, "five_whys", two.pk, {"question": "Why two?", "answer": "A leak"}, author, 1)
    move_row(incident, "five_whys", three.pk, author, -1)  # v5: one, three, two
    delete_row(incident, "five_whys", one.pk, author, 1)  # v6: three, two
    add_row(incident, "five_whys", {"question": "Why four?", "answer": ""}, author)  # v7
    assert whys(postmortem) == [
        ("Why three?", "Because"),
        ("Why two?", "A leak"),
        ("Why four?", ""),
    ]

    restore_revision(incident, "five_whys", 3, author, base_version=7)  # as after the third add
    assert whys(postmortem) == [
        ("Why one?", "Because"),
        ("Why two?", "Because"),
        ("Why three?", "Because"),
    ]
    # The rows came back with their ids (later revisions still name them) and newer versions.
    assert FiveWhy.objects.get(pk=one.pk).version > 1
    latest = Revision.objects.filter(section="five_whys").first()
    assert (latest.version, latest.restored_from) == (8, 3)

    restore_revision(incident, "five_whys", 5, author, base_version=8)  # edited and moved
    assert whys(postmortem) == [
        ("Why one?", "Because"),
        ("Why three?", "Because"),
        ("Why two?", "A leak"),
    ]


@pytest.mark.django_db
def test_revisions_kept_as_whole_lists_still_restore(author_client, postmortem, author):
    FiveWhy.objects.create(postmortem=postmortem, question="Now", answer="")
    incident = postmortem.incident
    Revision.objects.create(
        incident=incident, section="five_whys", version=1, author=author,
        data={"rows": [{"question": "Then A", "answer": "x"}, {"question": "Then B", "answer": ""}]},
    )  # fmt: skip
    postmortem.section_versions = {"five_whys": 1}
    postmortem.save(update_fields=["section_versions"])
    FiveWhy.objects.create(postmortem=postmortem, question="Later", answer="")
    Revision.objects.create(
        incident=incident, section="five_whys", version=2, author=author,
        data={"rows": [{"question": "Now", "answer": ""}, {"question": "Later", "answer": ""}]},
    )  # fmt: skip
    postmortem.section_versions = {"five_whys": 2}
    postmortem.save(update_fields=["section_versions"])
    response = author_client.post(
        reverse("postmortems:restore", args=[incident.reference, "five_whys", 1]),
        {"version": 2},
        **HTMX,
    )
    assert response.status_code == 200
    assert whys(postmortem) == [("Then A", "x"), ("Then B", "")]


@pytest.mark.django_db
def test_the_history_of_a_row_edit_marks_the_words_that_changed(author_client, postmortem, author):
    why = FiveWhy.objects.create(postmortem=postmortem, question="Why?", answer="The pool was full")
    save_row(
        postmortem.incident, "five_whys", why.pk,
        {"question": "Why?", "answer": "The connection pool was full"}, author, 1,
    )  # fmt: skip
    body = author_client.get(
        reverse("postmortems:history", args=[postmortem.incident.reference, "five_whys"]), **HTMX
    ).content.decode()
    assert '<span class="removed">-→ The pool was full</span>' in body
    assert '<span class="added">+→ The <ins>connection </ins>pool was full</span>' in body


@pytest.mark.django_db
def test_revisions_written_elsewhere_are_synced_or_cost_one_conflict(
    author_client, postmortem, author
):
    """An import that writes each section's first revision itself: sync_section_versions puts
    the versions right; without it the next save gets one 409 (never a 500), then goes through."""
    from postmortems.services import sync_section_versions

    incident = postmortem.incident
    url = reverse("postmortems:section", args=[incident.reference, "summary"])
    Revision.objects.create(incident=incident, section="summary", version=1, author=author)
    stale = author_client.post(url, {"version": 0, "executive_summary": "First"}, **HTMX)
    assert stale.status_code == 409
    assert (
        author_client.post(url, {"version": 1, "executive_summary": "First"}, **HTMX).status_code
        == 200
    )

    Revision.objects.create(incident=incident, section="lessons_learned", version=1, author=author)
    assert sync_section_versions(incident)["lessons_learned"] == 1
    postmortem.refresh_from_db()
    assert postmortem.section_versions == {"summary": 2, "lessons_learned": 1}
    lessons = reverse("postmortems:section", args=[incident.reference, "lessons_learned"])
    ok = author_client.post(lessons, {"version": 1, "lessons_learned": "Alert earlier"}, **HTMX)
    assert ok.status_code == 200


@pytest.mark.django_db
def test_restoring_a_list_returns_the_revision_it_recorded(postmortem, author):
    """restore_revision promises the new revision for every kind of section; for lists it used
    to fall off the end and return None."""
    incident = postmortem.incident
    add_row(incident, "five_whys", {"question": "Why one?", "answer": "Because"}, author)  # v1
    add_row(incident, "five_whys", {"question": "Why two?", "answer": "Because"}, author)  # v2

    revision = restore_revision(incident, "five_whys", 1, author, base_version=2)

    assert revision is not None
    assert (revision.version, revision.restored_from) == (3, 1)
    assert revision == Revision.objects.filter(section="five_whys").first()
    # Restoring what the list already holds records nothing.
    assert restore_revision(incident, "five_whys", 3, author, base_version=3) is None
