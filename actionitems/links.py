"""Signed links in emails: one-click actions on an action item, and unsubscribe.

An action link stands in for a login, for one person, one item, one action, and the item as
it was when the email was written (its version, status, due date and owner): a link made
for another person or item cannot be forged without SECRET_KEY, a link older than
EMAIL_LINK_MAX_AGE is expired, and a link whose item changed since is stale. The link is
recorded when used (EmailAction.token_digest), so it works once.

Unsubscribe links do not expire (RFC 8058 asks that they keep working); each names one kind
of email, so that stopping the digest stops nothing else.
"""

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.core import signing

ACTION_SALT = "actionitems.email-action"
# The salt of the digest's unsubscribe links since the first release: links in emails
# already sent keep working.
UNSUBSCRIBE_SALT = "actionitems.digest-unsubscribe"

# What can be turned off, by kind of email (Notification.Kind values).
DIGEST = "digest"
NUDGES = "nudges"
MENTIONS = "mentions"
OVERDUE = "overdue"
CATEGORIES = (DIGEST, NUDGES, MENTIONS, OVERDUE)


class LinkForged(Exception):
    """Not a link this site made: damaged, cut short, or made up."""


class LinkExpired(Exception):
    """A real link, older than EMAIL_LINK_MAX_AGE."""


@dataclass(frozen=True)
class ActionLink:
    token: str
    user_id: int
    item_id: int
    action: str
    version: int
    status: str
    due: date | None
    owner_id: int | None
    notification_id: int | None

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.token.encode()).hexdigest()


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=ACTION_SALT)


def action_token(
    *,
    user_id: int,
    item_id: int,
    action: str,
    version: int,
    status: str,
    due: date | None,
    owner_id: int | None,
    notification_id: int | None,
) -> str:
    payload = {
        "u": user_id,
        "i": item_id,
        "a": action,
        "v": version,
        "s": status,
        "d": due.isoformat() if due else None,
        "o": owner_id,
        "n": notification_id,
    }
    return _signer().sign_object(payload, compress=True)


def read_action_token(token: str) -> ActionLink:
    max_age = settings.EMAIL_LINK_MAX_AGE
    try:
        payload: dict[str, Any] = _signer().unsign_object(token, max_age=max_age)
    except signing.SignatureExpired as expired:
        raise LinkExpired(str(expired)) from None
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise LinkForged(str(error)) from None
    try:
        return ActionLink(
            token=token,
            user_id=int(payload["u"]),
            item_id=int(payload["i"]),
            action=str(payload["a"]),
            version=int(payload["v"]),
            status=str(payload["s"]),
            due=date.fromisoformat(payload["d"]) if payload.get("d") else None,
            owner_id=int(payload["o"]) if payload.get("o") is not None else None,
            notification_id=int(payload["n"]) if payload.get("n") is not None else None,
        )
    except (KeyError, TypeError, ValueError) as error:  # signed by us, but not an action link
        raise LinkForged(str(error)) from None


def unsubscribe_token(user_id: int, category: str) -> str:
    return signing.dumps({"u": user_id, "k": category}, salt=UNSUBSCRIBE_SALT)


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    """(user id, category) of an unsubscribe link, or None for a forged one. Links from the
    first release carry the user id alone and stop the digest."""
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if isinstance(payload, int):
        return payload, DIGEST
    if isinstance(payload, dict) and payload.get("k") in CATEGORIES:
        try:
            return int(payload["u"]), str(payload["k"])
        except (KeyError, TypeError, ValueError):
            return None
    return None
