"""Suite 4, concurrent writers on PostgreSQL: 20 browsers (threads, each with its own client,
session and database connection) post at the same moment through the views.

- A section saved by 20 people from the same version: exactly one wins, 19 get a 409 that
  still holds their own text, one revision more, the stored text is the winner's.
- A row edited by 20 people from the same version: the same.
- One row edited, moved and deleted at once while its neighbours move: no 5xx, no two rows
  in one place, and the rows are exactly what the recorded revisions say (replaying every
  change from the starting rows gives the rows in the database: nothing lost, nothing twice).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from postmortems.editing import ROW_SECTIONS
from postmortems.models import FiveWhy, Postmortem, Revision
from postmortems.services import save_section
from tests.conftest import HTMX, skip_or_fail
from tests.security.conftest import figures

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WRITERS = 20
FIGURES = figures("Concurrent writers")


@pytest.fixture(autouse=True)
def needs_postgres():
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL for concurrent transactions")


@pytest.fixture
def writers(make_user: Any, team: Any, postmortem: Postmortem) -> list[Client]:
    """Twenty logged-in browsers of twenty team members (all authors of the document)."""
    clients = []
    for n in range(WRITERS):
        user = make_user(f"writer{n:02d}", team)
        postmortem.authors.add(user)
        browser = Client()
        browser.force_login(user)
        clients.append(browser)
    return clients


def at_once(requests: list[Any]) -> list[Any]:
    """Run the callables in threads released together; their responses in order."""
    start = threading.Barrier(len(requests))
    responses: list[Any] = [None] * len(requests)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            start.wait()
            responses[n] = requests[n]()
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == [], errors
    return responses


def test_twenty_saves_of_one_section_from_one_version(postmortem, author, writers):
    incident = postmortem.incident
    save_section(incident, "lessons_learned", {"lessons_learned": "Pools leak."}, author, 0)
    url = reverse("postmortems:section", args=[incident.reference, "lessons_learned"])
    before = Revision.objects.filter(incident=incident, section="lessons_learned").count()
    texts = [f"Writer {n}'s lesson: <b>pools</b> & queues" for n in range(WRITERS)]

    def saver(n: int) -> Any:
        data = {"lessons_learned": texts[n], "version": "1"}
        return lambda: writers[n].post(url, data, **HTMX)

    responses = at_once([saver(n) for n in range(WRITERS)])

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: WRITERS - 1}, statuses
    [winner] = [n for n, r in enumerate(responses) if r.status_code == 200]
    for n, response in enumerate(responses):
        if response.status_code == 409:  # their own text, to merge by hand, and the winner's
            assert escape(texts[n]) in response.content.decode(), n
    assert Postmortem.objects.get().lessons_learned == texts[winner]
    after = Revision.objects.filter(incident=incident, section="lessons_learned")
    assert after.count() == before + 1
    assert after.latest("version").new_text == texts[winner]
    FIGURES["section wins"] += 1
    FIGURES["section conflicts"] += statuses[409]


@pytest.fixture
def whys(postmortem: Postmortem, author: Any) -> list[FiveWhy]:
    """Five whys in places 0-4, added as a person would (each a revision)."""
    from postmortems.services import add_row

    return [
        add_row(
            postmortem.incident, "five_whys", {"question": f"Why {n}?", "answer": f"{n}."}, author
        )
        for n in range(5)
    ]


def row_url(reference: str, name: str, pk: int) -> str:
    return reverse(f"postmortems:{name}", args=[reference, "five_whys", pk])


def test_twenty_edits_of_one_row_from_one_version(postmortem, whys, writers):
    reference = postmortem.incident.reference
    row = whys[2]
    before = Revision.objects.filter(section="five_whys").count()
    answers = [f"Because writer {n} says so" for n in range(WRITERS)]

    def editor(n: int) -> Any:
        data = {"question": "Why 2?", "answer": answers[n], "version": str(row.version)}
        return lambda: writers[n].post(row_url(reference, "row", row.pk), data, **HTMX)

    responses = at_once([editor(n) for n in range(WRITERS)])

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: WRITERS - 1}, statuses
    [winner] = [n for n, r in enumerate(responses) if r.status_code == 200]
    for n, response in enumerate(responses):
        if response.status_code == 409:
            assert escape(answers[n]) in response.content.decode(), n
    assert FiveWhy.objects.get(pk=row.pk).answer == answers[winner]
    assert Revision.objects.filter(section="five_whys").count() == before + 1
    FIGURES["row wins"] += 1
    FIGURES["row conflicts"] += statuses[409]


def replayed(section: Any, start: dict[int, dict], revisions: list[Revision]) -> dict[int, dict]:
    """The rows a list should hold: the starting rows with every recorded change applied."""
    rows = dict(start)
    for revision in revisions:
        for change in revision.data["changes"]:
            if change["after"] is None:
                rows.pop(change["row"], None)
            else:
                rows[change["row"]] = change["after"]
    return rows


def test_one_row_edited_moved_and_deleted_at_once(postmortem, whys, writers):
    incident = postmortem.incident
    reference = incident.reference
    section = ROW_SECTIONS["five_whys"]
    target = whys[2]
    start = {row.pk: section.snapshot_row(row) for row in FiveWhy.objects.all()}
    since = Revision.objects.filter(section="five_whys").latest("version").version
    version = str(target.version)
    jobs: list[tuple[str, Any]] = []
    for n in range(WRITERS):
        browser = writers[n]
        if n % 3 == 0:
            data = {"question": "Why 2?", "answer": f"Edited by {n}", "version": version}
            jobs.append(("edit", (browser, row_url(reference, "row", target.pk), data)))
        elif n % 3 == 1:
            direction = "up" if n % 2 else "down"
            moved = target if n < 10 else whys[n % 5]  # the row itself, and its neighbours
            url = row_url(reference, "row_move", moved.pk)
            jobs.append(("move", (browser, url, {"direction": direction})))
        else:
            url = row_url(reference, "row_delete", target.pk)
            jobs.append(("delete", (browser, url, {"version": version})))

    def send(browser: Client, url: str, data: dict) -> Any:
        return lambda: browser.post(url, data, **HTMX)

    responses = at_once([send(*args) for _kind, args in jobs])

    statuses = Counter((kind, r.status_code) for (kind, _a), r in zip(jobs, responses, strict=True))
    assert all(status < 500 for _kind, status in statuses), statuses
    assert statuses[("edit", 200)] <= 1, statuses
    rows = list(FiveWhy.objects.filter(postmortem=postmortem).order_by("position"))
    positions = [row.position for row in rows]
    assert len(positions) == len(set(positions)), f"two rows in one place: {positions}"
    assert {row.pk for row in rows} >= {row.pk for row in whys if row.pk != target.pk}
    revisions = list(
        Revision.objects.filter(section="five_whys", version__gt=since).order_by("version")
    )
    versions = [r.version for r in revisions]
    assert versions == list(range(since + 1, since + 1 + len(revisions))), versions
    expected = replayed(section, start, revisions)
    assert {row.pk: section.snapshot_row(row) for row in rows} == expected
    deleted = target.pk not in {row.pk for row in rows}
    edits = [r for r in revisions if r.data["changes"][0]["after"] and
             r.data["changes"][0]["after"]["answer"] != r.data["changes"][0]["before"]["answer"]]  # fmt: skip
    assert len(edits) == statuses[("edit", 200)]
    FIGURES["mixed requests"] += len(jobs)
    FIGURES["mixed revisions"] += len(revisions)
    FIGURES["mixed deleted"] += deleted
    FIGURES["mixed edit wins"] += statuses[("edit", 200)]
    FIGURES["mixed 409"] += sum(count for (_k, s), count in statuses.items() if s == 409)
