"""One HTTP client per process for every outbound call (webhooks, Slack, trackers).

`httpx.post()` builds a client, and with it a TLS context, on every call: about 50 ms each,
which capped a worker at 16 deliveries a second. A shared client keeps connections alive
too. Made again after a fork (Celery's prefork pool), never shared between processes."""

from __future__ import annotations

import os

import httpx

_client: httpx.Client | None = None
_pid: int | None = None


def client() -> httpx.Client:
    global _client, _pid
    if _client is None or _pid != os.getpid():
        _client = httpx.Client(follow_redirects=False)
        _pid = os.getpid()
    return _client
