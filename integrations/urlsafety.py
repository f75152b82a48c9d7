"""Refuse outbound URLs that point into our own network.

Webhook, Slack and tracker URLs are typed by team managers; without this check one of them
could make the worker call the database, Redis or a cloud metadata service for them (SSRF).
Checked when the URL is saved and again before each request (DNS may have changed)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeURL(ValueError):
    pass


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("Use an http:// or https:// address.")
    if settings.INTEGRATIONS_ALLOW_PRIVATE_URLS:
        return
    if parts.scheme != "https":
        raise UnsafeURL("Use an https:// address.")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443)
    except (socket.gaierror, UnicodeError):
        raise UnsafeURL(f"{parts.hostname} does not resolve.") from None
    for info in infos:
        address = str(info[4][0])
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            raise UnsafeURL(f"{parts.hostname} points into a private network.")
