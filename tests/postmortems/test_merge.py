"""Two people edit one section from the same version: edits of different lines merge (three-way,
against the version both started from); edits of the same lines are still a conflict."""

import threading

import pytest
from django.db import connection, connections
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from postmortems.merge import MergeConflict, merge_text
from postmortems.models import Postmortem, Revision
from postmortems.services import StaleEdit, save_section
from tests.conftest import HTMX, browser_of, skip_or_fail

BASE = "Pools need alerts.\n\nError paths need tests.\n\nRunbooks need owners."


# The merge itself, on plain text.


def test_edits_of_different_paragraphs_merge():
    theirs = BASE.replace("Pools need alerts.", "Pools need alerts at 80%.")
    yours = BASE.replace("Runbooks need owners.", "Runbooks need owners and a review date.")
    assert merge_text(BASE, theirs, yours) == (
        "Pools need alerts at 80%.\n\nError paths need tests.\n\n"
        "Runbooks need owners and a review date."
    )


def test_edits_of_neighbouring_lines_merge():
    base = "- one\n- two\n- three"
    assert merge_text(base, "- ONE\n- two\n- three", "- one\n- TWO\n- three") == (
        "- ONE\n- TWO\n- three"
    )


@pytest.mark.parametrize(
    ("theirs", "yours"),
    [
        ("Pools need alerts now.\n\nError paths need tests.", "Pools alert.\n\nError paths..."),
        (BASE + "\n\nTheirs at the end.", BASE + "\n\nMine at the end."),  # same place
        ("", BASE + "\nMore."),  # they emptied it, I added to it
    ],
)
def test_edits_of_the_same_place_conflict(theirs, yours):
    with pytest.raises(MergeConflict):
        merge_text(BASE, theirs, yours)


def test_line_endings_and_the_final_newline_survive():
    base = "a\r\nb\r\nc\r\n"
    assert merge_text(base, "A\r\nb\r\nc\r\n", "a\r\nb\r\nC\r\n") == "A\r\nb\r\nC\r\n"
    assert merge_text("a\nb", "A\nb", "a\nb\n") == "A\nb\n"


lines = st.lists(st.sampled_from(["alpha", "beta", "gamma", "", "delta"]), max_size=8)


@given(base=lines, edited=lines)
def test_one_sided_edits_are_taken_as_they_are(base, edited):
    base_text, edited_text = "\n".join(base), "\n".join(edited)
    assert merge_text(base_text, edited_text, base_text) == edited_text
    assert merge_text(base_text, base_text, edited_text) == edited_text
    assert merge_text(base_text, edited_text, edited_text) == edited_text


@given(
    first=st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4),
    second=st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, max_size=4),
)
def test_edits_of_separate_paragraphs_always_keep_both(first, second):
    base = "P1\n\nmiddle\n\nP2"
    theirs = base.replace("P1", " ".join(first))
    yours = base.replace("P2", " ".join(second))
    merged = merge_text(base, theirs, yours)
    assert merged == f"{' '.join(first)}\n\nmiddle\n\n{' '.join(second)}"


# Through the page.


def section_url(postmortem, key="lessons_learned"):
    return reverse("postmortems:section", args=[postmortem.incident.reference, key])


@pytest.mark.django_db
def test_two_people_editing_different_paragraphs_both_keep_their_edit(author, teammate, postmortem):
    Postmortem.objects.filter(pk=postmortem.pk).update(lessons_learned=BASE)
    jane, mike = browser_of(author), browser_of(teammate)
    for client in (jane, mike):  # both open the editor at version 0
        form = client.get(section_url(postmortem) + "?edit=1", **HTMX).content.decode()
        assert 'name="version" value="0"' in form
    mike_text = BASE.replace("Pools need alerts.", "Pools need alerts at 80%.")
    assert (
        mike.post(
            section_url(postmortem), {"version": 0, "lessons_learned": mike_text}, **HTMX
        ).status_code
        == 200
    )
    jane_text = BASE.replace("Runbooks need owners.", "Runbooks need owners and reviews.")
    response = jane.post(
        section_url(postmortem), {"version": 0, "lessons_learned": jane_text}, **HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Saved and merged with Mike Alvarez: both changes are kept." in body
    assert "Pools need alerts at 80%." in body and "Runbooks need owners and reviews." in body
    assert 'value="lessons_learned:2"' in body
    postmortem.refresh_from_db()
    assert postmortem.lessons_learned == (
        "Pools need alerts at 80%.\n\nError paths need tests.\n\nRunbooks need owners and reviews."
    )
    merged = Revision.objects.get(section="lessons_learned", version=2)
    assert (merged.author, merged.note) == (author, "merged with Mike Alvarez")
    history = jane.get(
        reverse("postmortems:history", args=[postmortem.incident.reference, "lessons_learned"]),
        **HTMX,
    ).content.decode()
    assert "Merged with Mike Alvarez" in history
    assert "Runbooks need owners<ins> and reviews</ins>." in history


@pytest.mark.django_db
def test_fields_of_one_section_merge_field_by_field(author, teammate, postmortem):
    jane, mike = browser_of(author), browser_of(teammate)
    url = section_url(postmortem, "root_cause")
    mike.post(url, {"version": 0, "root_cause": "A leak in checkout.", "trigger": ""}, **HTMX)
    response = jane.post(
        url, {"version": 0, "root_cause": "A leak.", "trigger": "The spring sale."}, **HTMX
    )
    assert response.status_code == 200
    postmortem.refresh_from_db()
    assert (postmortem.root_cause, postmortem.trigger) == (
        "A leak in checkout.",
        "The spring sale.",
    )


@pytest.mark.django_db
def test_a_merge_against_a_later_version_uses_the_revision_the_editor_started_from(
    author, teammate, postmortem
):
    incident = postmortem.incident
    save_section(incident, "lessons_learned", {"lessons_learned": BASE}, teammate, 0)
    v2 = BASE.replace("Error paths need tests.", "Error paths need tests and alerts.")
    save_section(incident, "lessons_learned", {"lessons_learned": v2}, teammate, 1)
    # Jane opened the editor at version 1 and changed the last paragraph.
    mine = BASE.replace("Runbooks need owners.", "Runbooks need owners now.")
    fresh = type(incident).objects.get(pk=incident.pk)
    revision = save_section(fresh, "lessons_learned", {"lessons_learned": mine}, author, 1)
    assert revision.version == 3 and revision.note == "merged with Mike Alvarez"
    assert Postmortem.objects.get().lessons_learned == v2.replace("owners.", "owners now.")
    # The same edit against version 1 now overlaps Mike's: a conflict with both texts.
    clash = BASE.replace("Error paths need tests.", "Error paths need fuzzing.")
    with pytest.raises(StaleEdit) as raised:
        save_section(fresh, "lessons_learned", {"lessons_learned": clash}, author, 1)
    assert raised.value.current_version == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_of_different_paragraphs_both_land(postmortem, author, teammate):
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL for concurrent transactions")
    Postmortem.objects.filter(pk=postmortem.pk).update(lessons_learned=BASE)
    incident = type(postmortem.incident).objects.get(pk=postmortem.incident.pk)
    start = threading.Barrier(2)
    outcomes = {}
    edits = {
        author: BASE.replace("Pools need alerts.", "Pools need alerts at 80%."),
        teammate: BASE.replace("Runbooks need owners.", "Runbooks need owners and reviews."),
    }

    def write(user):
        try:
            mine = type(incident).objects.select_related("postmortem").get(pk=incident.pk)
            start.wait()
            revision = save_section(
                mine, "lessons_learned", {"lessons_learned": edits[user]}, user, 0
            )
            outcomes[user.username] = revision.note or "saved"
        except StaleEdit:
            outcomes[user.username] = "conflict"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(user,)) for user in edits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(outcomes.values()) in (
        ["merged with Jane Park", "saved"],
        ["merged with Mike Alvarez", "saved"],
    )
    assert Postmortem.objects.get().lessons_learned == (
        "Pools need alerts at 80%.\n\nError paths need tests.\n\nRunbooks need owners and reviews."
    )
    assert list(Revision.objects.order_by("version").values_list("version", flat=True)) == [1, 2]
