"""Read-only links to a published postmortem for people outside the team, and the sections
the team keeps to itself.

A link's URL is `<id>.<nonce>` signed with SECRET_KEY (salted for this use only): an altered
or made-up URL fails the signature and is a 404 without a query beyond none; a URL signed with
a leaked key still needs the nonce stored in the row. Everything else is decided by the row at
every request, so revoking or expiring a link takes effect at once (410 Gone), and so does
reopening the postmortem (a link shows only a published postmortem). See
docs/design/after-publication.md for the threat model.
"""

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone

from .editing import EDITABLE_SECTIONS
from .models import Postmortem, ShareLink

SALT = "postmortems.share-link"
LIFETIMES = ShareLink.LIFETIMES


class ShareRefused(Exception):
    """A sharing step the rules do not allow (a draft, an unknown section)."""

    def __init__(self, message: str, status: int = 409) -> None:
        self.message = message
        self.status = status
        super().__init__(message)


class ShareGone(Exception):
    """The link existed and no longer works: revoked, expired, or its postmortem reopened."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT)


def share_token(link: ShareLink) -> str:
    return _signer().sign(f"{link.pk}.{link.nonce}")


def create_share_link(
    postmortem: Postmortem, *, by: Any, days: int | None = None, label: str = ""
) -> ShareLink:
    """A new link that works for `days` (the default lifetime otherwise); only a published
    postmortem is shared: a draft may still change, and nobody outside reviewed it."""
    if not postmortem.is_published:
        raise ShareRefused("Publish the postmortem before sharing it outside the team.")
    days = days or settings.SHARE_LINK_DAYS
    if days not in (*LIFETIMES, settings.SHARE_LINK_DAYS):
        raise ShareRefused(f"A link lasts {', '.join(map(str, LIFETIMES))} days.", 422)
    now = timezone.now()
    return ShareLink.objects.create(
        postmortem=postmortem,
        nonce=secrets.token_hex(16),
        label=label.strip()[:100],
        created_by=by,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )


def revoke_share_link(link: ShareLink, *, by: Any) -> ShareLink:
    """The link stops working at once; revoking twice keeps the first record."""
    ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=by
    )
    link.refresh_from_db()
    return link


def open_share_link(token: str, *, count_view: bool = True) -> ShareLink:
    """The link a URL names, counted as viewed (the page, not each image on it): Http404 for
    a URL that is not one of ours, ShareGone for a link that was and is no longer valid."""
    try:
        payload = _signer().unsign(token)
    except signing.BadSignature:
        raise Http404("No such link.") from None
    pk, _, nonce = payload.partition(".")
    if not pk.isdigit():
        raise Http404("No such link.")
    link: ShareLink | None = (
        ShareLink.objects.select_related("postmortem__incident")
        .filter(pk=int(pk), nonce=nonce)
        .first()
    )
    if link is None:
        raise Http404("No such link.")
    now = timezone.now()
    if link.revoked_at is not None:
        raise ShareGone("This link was revoked by the team that shared it.")
    if link.expires_at <= now:
        raise ShareGone("This link has expired. Ask the team that shared it for a new one.")
    if not link.postmortem.is_published:
        raise ShareGone("This postmortem is being revised and is not shared right now.")
    if count_view:
        ShareLink.objects.filter(pk=link.pk).update(last_viewed_at=now, views=F("views") + 1)
    return link


def shared_attachment_links(html: str, link: ShareLink, token: str) -> str:
    """The shared page's images and files through the link (whoever holds it has no login):
    the document's attachment URLs rewritten to the link's own, which stop with the link."""
    reference = link.postmortem.incident.reference
    return html.replace(f"/incidents/{reference}/attachments/", f"/shared/{token}/attachments/")


def set_section_internal(postmortem: Postmortem, key: str, internal: bool, *, by: Any) -> bool:
    """Keep a section inside the team (or share it again). One UPDATE under a row lock, so
    two people toggling different sections both count. Returns the section's new state."""
    if key not in EDITABLE_SECTIONS:
        raise ShareRefused("No such section.", 404)
    with transaction.atomic():
        locked = Postmortem.objects.select_for_update().only("internal_sections")
        keys = set(locked.get(pk=postmortem.pk).internal_sections or [])
        keys = keys | {key} if internal else keys - {key}
        postmortem.internal_sections = sorted(keys)
        Postmortem.objects.filter(pk=postmortem.pk).update(
            internal_sections=postmortem.internal_sections
        )
    return internal
