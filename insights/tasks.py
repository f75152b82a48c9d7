"""The search index's safety net: re-read documents written to lately.

Every save is indexed when its transaction commits (receivers.py); this catches what was
written around the models (bulk inserts without a revision, SQL, a process that died between
commit and indexing) and documents never indexed (data older than the index)."""

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.utils import timezone

from .indexing import changed_since, reindex_incidents

logger = logging.getLogger(__name__)


@shared_task
def reindex_recent_changes() -> int:
    # Two intervals back: a late or skipped run still leaves nothing out.
    since = timezone.now() - 2 * settings.SEARCH_REINDEX_INTERVAL
    incident_ids = changed_since(since)
    written = reindex_incidents(incident_ids)
    logger.info("search reindex: %d documents, %d entries", len(incident_ids), written)
    return len(incident_ids)


@worker_ready.connect
def catch_up(sender: Any, **kwargs: Any) -> None:
    """A starting worker indexes what changed while none ran (or was never indexed)."""
    if settings.SWEEP_ON_WORKER_START:
        reindex_recent_changes.delay()
