"""The review and sign-off workflow: draft -> in review -> approved -> published.

Reviewers are requested with a role (engineering lead or manager). The postmortem is approved
when every requested reviewer approved and a manager of the incident's team signed off;
a reviewer asking for changes sends it back to draft. Every step is a ReviewEvent, which the
sign-off block shows. A refused step raises TransitionRefused with a sentence for the user.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from .checklist import checklist_passes, pre_review_checklist
from .models import Postmortem, PublicationCheck, ReviewEvent, ReviewRequest
from .templatetags.studio import display_name

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Status = Postmortem.Status
Decision = ReviewRequest.Decision
Role = ReviewRequest.Role


class TransitionRefused(Exception):
    """A step the workflow does not allow; `status` is the HTTP status a view answers with."""

    def __init__(self, message: str, status: int = 409) -> None:
        self.message = message
        self.status = status
        super().__init__(message)


def can_drive_review(postmortem: Postmortem, user: User) -> bool:
    """Authors drive their postmortem's review; so do the team's managers."""
    if user.is_superuser:
        return True
    authors = postmortem.authors.all()
    if "authors" in getattr(postmortem, "_prefetched_objects_cache", {}):
        is_author = user in authors  # the page prefetched them
    else:
        is_author = authors.filter(pk=user.pk).exists()
    return is_author or postmortem.incident.is_managed_by(user)


def _require_driver(postmortem: Postmortem, user: User) -> None:
    if not can_drive_review(postmortem, user):
        raise TransitionRefused(
            f"Only the authors or a manager of {postmortem.incident.team} can do that.", 403
        )


def _locked(postmortem: Postmortem) -> Postmortem:
    """The postmortem row, locked so that two steps of one review never interleave."""
    return (
        Postmortem.objects.select_related("incident__team")
        .select_for_update(of=("self",))
        .get(pk=postmortem.pk)
    )


def _move(postmortem: Postmortem, to_status: str, by: User, note: str = "") -> None:
    ReviewEvent.objects.create(
        postmortem=postmortem,
        kind=ReviewEvent.Kind.STATUS,
        actor=by,
        from_status=postmortem.status,
        to_status=to_status,
        note=note,
    )
    postmortem.status = to_status
    postmortem.save(update_fields=["status", "updated_at"])


def add_reviewer(postmortem: Postmortem, reviewer: User, role: str, by: User) -> ReviewRequest:
    with transaction.atomic():
        postmortem = _locked(postmortem)
        _require_driver(postmortem, by)
        if postmortem.status in (Status.APPROVED, Status.PUBLISHED):
            raise TransitionRefused("This postmortem is already approved; reopen it first.")
        team = postmortem.incident.team
        if role == Role.MANAGER and not team.is_manager(reviewer):
            raise TransitionRefused(
                f"{display_name(reviewer)} is not a manager of {team}: only a manager of the "
                "incident's team can give the manager sign-off.",
                422,
            )
        if postmortem.review_requests.filter(reviewer=reviewer).exists():
            raise TransitionRefused(f"{display_name(reviewer)} is already a reviewer.", 422)
        request = ReviewRequest.objects.create(
            postmortem=postmortem, reviewer=reviewer, role=role, requested_by=by
        )
        ReviewEvent.objects.create(
            postmortem=postmortem,
            kind=ReviewEvent.Kind.REVIEWER_ADDED,
            actor=by,
            reviewer=reviewer,
            role=role,
        )
        return request


def remove_reviewer(review_request: ReviewRequest, by: User) -> None:
    with transaction.atomic():
        postmortem = _locked(review_request.postmortem)
        _require_driver(postmortem, by)
        if postmortem.status in (Status.APPROVED, Status.PUBLISHED):
            raise TransitionRefused("This postmortem is already approved; reopen it first.")
        ReviewEvent.objects.create(
            postmortem=postmortem,
            kind=ReviewEvent.Kind.REVIEWER_REMOVED,
            actor=by,
            reviewer=review_request.reviewer,
            role=review_request.role,
        )
        review_request.delete()
        if postmortem.status == Status.IN_REVIEW:
            _approve_if_signed_off(postmortem, by)


def request_review(postmortem: Postmortem, by: User, note: str = "") -> Postmortem:
    with transaction.atomic():
        postmortem = _locked(postmortem)
        _require_driver(postmortem, by)
        if postmortem.status != Status.DRAFT:
            raise TransitionRefused(
                f"Only a draft can be sent for review; this one is "
                f"{postmortem.get_status_display().lower()}."
            )
        failing = [c.label for c in pre_review_checklist(postmortem) if not c.passed]
        if failing:
            raise TransitionRefused(
                "Finish the checklist before asking for review: " + "; ".join(failing) + ".", 422
            )
        requests = list(postmortem.review_requests.select_related("reviewer"))
        team = postmortem.incident.team
        if not any(r.role == Role.MANAGER for r in requests):
            raise TransitionRefused(
                f"Ask a manager of {team} to review: approval needs a manager's sign-off.", 422
            )
        authors = set(postmortem.authors.values_list("pk", flat=True))
        if all(r.reviewer_id in authors for r in requests):
            raise TransitionRefused(
                "Ask someone who did not write it: an author cannot be the only reviewer of "
                "their own postmortem.",
                422,
            )
        # A new round: what was approved before saw an older text.
        postmortem.review_requests.update(decision=Decision.PENDING, decided_at=None, note="")
        _move(postmortem, Status.IN_REVIEW, by, note)
        return postmortem


def decide(review_request: ReviewRequest, by: User, decision: str, note: str = "") -> Postmortem:
    with transaction.atomic():
        postmortem = _locked(review_request.postmortem)
        review_request = ReviewRequest.objects.select_for_update().get(pk=review_request.pk)
        if review_request.reviewer_id != by.pk:
            raise TransitionRefused(
                f"Only {display_name(review_request.reviewer)} can decide on this review.", 403
            )
        if postmortem.status != Status.IN_REVIEW:
            raise TransitionRefused(
                f"This postmortem is not in review; it is "
                f"{postmortem.get_status_display().lower()}."
            )
        if decision not in (Decision.APPROVED, Decision.CHANGES_REQUESTED):
            raise TransitionRefused("Approve, or request changes.", 422)
        if decision == Decision.CHANGES_REQUESTED and not note.strip():
            raise TransitionRefused("Say what should change, so the authors know.", 422)
        team = postmortem.incident.team
        if decision == Decision.APPROVED:
            if review_request.role == Role.MANAGER and not team.is_manager(by):
                raise TransitionRefused(
                    f"Only a manager of {team} can give the manager sign-off.", 403
                )
            sole = not postmortem.review_requests.exclude(pk=review_request.pk).exists()
            if sole and postmortem.authors.filter(pk=by.pk).exists():
                raise TransitionRefused(
                    "You wrote this postmortem: you cannot approve it as its only reviewer."
                )
        review_request.decision = decision
        review_request.note = note
        review_request.decided_at = timezone.now()
        review_request.save(update_fields=["decision", "note", "decided_at"])
        ReviewEvent.objects.create(
            postmortem=postmortem,
            kind=ReviewEvent.Kind.DECISION,
            actor=by,
            reviewer=by,
            role=review_request.role,
            decision=decision,
            note=note,
        )
        if decision == Decision.CHANGES_REQUESTED:
            _move(postmortem, Status.DRAFT, by, note)
        else:
            _approve_if_signed_off(postmortem, by)
        return postmortem


def _approve_if_signed_off(postmortem: Postmortem, by: User) -> None:
    requests = list(postmortem.review_requests.select_related("reviewer"))
    team = postmortem.incident.team
    everyone_approved = bool(requests) and all(r.decision == Decision.APPROVED for r in requests)
    manager_signed = any(
        r.role == Role.MANAGER and r.decision == Decision.APPROVED and team.is_manager(r.reviewer)
        for r in requests
    )
    if everyone_approved and manager_signed:
        _move(postmortem, Status.APPROVED, by, "Every reviewer approved.")


def withdraw(postmortem: Postmortem, by: User, note: str = "") -> Postmortem:
    with transaction.atomic():
        postmortem = _locked(postmortem)
        _require_driver(postmortem, by)
        if postmortem.status != Status.IN_REVIEW:
            raise TransitionRefused("Only a postmortem in review can be withdrawn.")
        _move(postmortem, Status.DRAFT, by, note or "Withdrawn from review.")
        return postmortem


def publish(postmortem: Postmortem, by: User, note: str = "") -> Postmortem:
    with transaction.atomic():
        postmortem = _locked(postmortem)
        _require_driver(postmortem, by)
        if postmortem.status != Status.APPROVED:
            raise TransitionRefused(
                f"Only an approved postmortem can be published; this one is "
                f"{postmortem.get_status_display().lower()}. Request a review first."
            )
        _move(postmortem, Status.PUBLISHED, by, note)
        return postmortem


def reopen(postmortem: Postmortem, by: User, note: str) -> Postmortem:
    with transaction.atomic():
        postmortem = _locked(postmortem)
        _require_driver(postmortem, by)
        if postmortem.status not in (Status.APPROVED, Status.PUBLISHED):
            raise TransitionRefused("Only an approved or published postmortem can be reopened.")
        if not note.strip():
            raise TransitionRefused("Say why it is reopened; the sign-off record keeps it.", 422)
        _move(postmortem, Status.DRAFT, by, note)
        return postmortem


def switch_template(postmortem: Postmortem, template: str, by: User) -> Postmortem:
    """Change the shape of the document; every section keeps its content. Authors and the
    team's managers may; the postmortem row is locked like for every other workflow step."""
    if template not in Postmortem.Template.values:
        raise TransitionRefused("Unknown template.", 422)
    with transaction.atomic():
        locked = _locked(postmortem)
        _require_driver(locked, by)
        if template == locked.template:
            return locked
        ReviewEvent.objects.create(
            postmortem=locked,
            kind=ReviewEvent.Kind.TEMPLATE,
            actor=by,
            note=f"{locked.get_template_display()} → {Postmortem.Template(template).label}",
        )
        locked.template = template
        locked.save(update_fields=["template", "updated_at"])
    postmortem.template = template
    return locked


def join_authors(postmortem: Postmortem, user: User) -> None:
    if not postmortem.incident.can_edit(user):
        raise TransitionRefused(
            f"Only members of {postmortem.incident.team} can write this postmortem.", 403
        )
    postmortem.authors.add(user)


def is_ready_for_review(postmortem: Postmortem) -> bool:
    return checklist_passes(pre_review_checklist(postmortem))


def set_publication_check(
    postmortem: Postmortem, item: str, done: bool, *, by: Any
) -> PublicationCheck | None:
    """Tick (or untick) a step of the after-publication checklist that only a person can
    know: who ticked it and when are kept. Ticking twice keeps the first tick."""
    if item not in PublicationCheck.Item.values:
        raise TransitionRefused("That step is read from the document, not ticked.", 422)
    if not postmortem.is_published:
        raise TransitionRefused("The after-publication checklist starts once it is published.")
    if not done:
        PublicationCheck.objects.filter(postmortem=postmortem, item=item).delete()
        return None
    check, _created = PublicationCheck.objects.get_or_create(
        postmortem=postmortem, item=item, defaults={"done_by": by, "done_at": timezone.now()}
    )
    return check
