"""Secrets we must use again later (tracker tokens, webhook signing secrets, Slack URLs) are
stored encrypted with Fernet, keyed from SECRET_KEY (and SECRET_KEY_FALLBACKS, so rotating the
key keeps old secrets readable). A database dump alone does not give them away."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _fernet_for(secret_key: str) -> Fernet:
    digest = hashlib.sha256(f"postmortem-studio.integrations:{secret_key}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _keys() -> MultiFernet:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet_for(secret) for secret in secrets])


def encrypt(plain: str) -> str:
    if not plain:
        return ""
    return _keys().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    """The plain text, or "" when it was encrypted under a key we no longer have."""
    if not token:
        return ""
    try:
        return _keys().decrypt(token.encode()).decode()
    except InvalidToken:
        return ""


def masked(plain: str) -> str:
    """Enough of a secret to recognise it, never enough to use it."""
    if not plain:
        return ""
    return f"••••{plain[-4:]}" if len(plain) > 12 else "••••"
