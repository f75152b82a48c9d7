"""Two saves racing on the same version in real concurrent transactions: one wins, one is told."""

import threading

import pytest
from django.db import connection, connections

from postmortems.models import Postmortem, Revision
from postmortems.services import StaleEdit, save_section
from tests.conftest import skip_or_fail


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_saves_on_one_version_never_lose_an_update(postmortem, author, teammate):
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL for concurrent transactions")
    incident = postmortem.incident
    start = threading.Barrier(2)
    outcomes = {}

    def write(user, text):
        try:
            start.wait()
            save_section(incident, "lessons_learned", {"lessons_learned": text}, user, 0)
            outcomes[user.username] = "saved"
        except StaleEdit:
            outcomes[user.username] = "conflict"
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=write, args=(author, "Jane's lesson")),
        threading.Thread(target=write, args=(teammate, "Mike's lesson")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(outcomes.values()) == ["conflict", "saved"]
    winner = next(name for name, outcome in outcomes.items() if outcome == "saved")
    saved_text = {"jane": "Jane's lesson", "mike": "Mike's lesson"}[winner]
    assert Postmortem.objects.get().lessons_learned == saved_text
    assert list(Revision.objects.values_list("version", "new_text")) == [(1, saved_text)]
