"""The pre-review checklist and the blameless-language check."""

from datetime import UTC, date, datetime

import pytest

from actionitems.models import ActionItem
from incidents.models import TimelineEvent
from postmortems.checklist import blameless_findings, find_blame, pre_review_checklist
from postmortems.models import ContributingFactor


def results(postmortem):
    return {check.section: check.passed for check in pre_review_checklist(postmortem)}


@pytest.mark.django_db
def test_each_checklist_rule(postmortem, author):
    postmortem.root_cause = ""
    postmortem.save()
    assert results(postmortem) == {
        "timeline": False,
        "root_cause": False,
        "contributing_factors": False,
        "action_items": False,  # no items at all is a finding, not a pass
        "impact": False,
        "lessons_learned": False,
    }
    TimelineEvent.objects.create(
        incident=postmortem.incident,
        occurred_at=datetime(2026, 3, 2, 14, 1, tzinfo=UTC),
        description="Alert",
    )
    ContributingFactor.objects.create(
        postmortem=postmortem, category="process", description="No load test"
    )
    postmortem.root_cause = "A leak."
    postmortem.lessons_learned = "Alert earlier."
    postmortem.user_scope = "EU users"
    postmortem.save()
    checks = {c.section: c for c in pre_review_checklist(postmortem)}
    assert [s for s, c in checks.items() if not c.passed] == ["action_items"]
    assert checks["action_items"].hint.startswith("No action items")
    ActionItem.objects.create(
        postmortem=postmortem, title="Alert on pool use", owner=author, due_date=date(2026, 3, 9)
    )
    assert all(results(postmortem).values())

    ActionItem.objects.create(postmortem=postmortem, title="No owner", due_date=date(2026, 3, 9))
    ActionItem.objects.create(postmortem=postmortem, title="No date", owner=author)
    ActionItem.objects.create(
        postmortem=postmortem, title="Complete", owner=author, due_date=date(2026, 3, 9)
    )
    checks = {c.section: c for c in pre_review_checklist(postmortem)}
    assert not checks["action_items"].passed
    assert checks["action_items"].hint == "Missing on: No owner; No date"


@pytest.mark.django_db
def test_whitespace_is_not_content(postmortem):
    postmortem.root_cause = "   \n"
    postmortem.lessons_learned = "\t"
    postmortem.save()
    assert not results(postmortem)["root_cause"]
    assert not results(postmortem)["lessons_learned"]


@pytest.mark.parametrize(
    ("sentence", "phrase"),
    [
        ("The outage was caused by human error.", "human error"),
        ("Jane forgot to close the connection in the error path.", "Jane forgot"),
        ("Then he neglected the runbook step.", "he neglected"),
        ("The developer ignored the failing check.", "The developer ignored"),
        ("The on-call should have known the pool was small.", "should have known"),
        ("A careless change to the config took the site down.", "careless"),
        ("It was the fault of the release manager.", "was the fault of"),
        ("Honestly, it was Mike's fault.", "Mike's fault"),
        ("Nobody is to blame, but the DBA was blamed.", "to blame"),
        ("Poor communication slowed the response.", "Poor communication"),
        ("The rollout was negligent.", "negligent"),
    ],
)
def test_blaming_sentences_are_flagged(sentence, phrase):
    (finding,) = find_blame(sentence)
    assert finding.sentence == sentence
    assert finding.phrase == phrase
    assert finding.suggestion


@pytest.mark.parametrize(
    "sentence",
    [
        "We forgot to add the alert to the runbook.",  # collective voice is the goal
        "Monitoring ignored the spike because the threshold was 100%.",  # a system
        "A fault of the disk controller corrupted the index.",  # hardware fault
        "This is a blameless postmortem focused on systems.",
        "Don't forget to rotate the keys.",
        "Human factors: time pressure during the release.",
        "The forgotten-password flow stayed up.",
        "Error handling path in payment service missing conn.close() in finally block.",
        "Fault tolerance of the cluster held.",
        "Developer unfamiliar with connection pool best practices.",
    ],
)
def test_blameless_sentences_are_not_flagged(sentence):
    assert find_blame(sentence) == []


@pytest.mark.django_db
def test_the_check_reads_every_section_and_row(postmortem):
    postmortem.went_wrong = "Deploys were slow. Tom forgot the canary."
    postmortem.save()
    TimelineEvent.objects.create(
        incident=postmortem.incident,
        occurred_at=datetime(2026, 3, 2, 14, 1, tzinfo=UTC),
        description="Rollback delayed by human error",
    )
    postmortem.five_whys.create(question="Why so slow?", answer="They should have known.")
    findings = [(f.section, f.phrase) for f in blameless_findings(postmortem)]
    assert findings == [
        ("went_wrong", "Tom forgot"),
        ("timeline", "human error"),
        ("five_whys", "should have known"),
    ]
