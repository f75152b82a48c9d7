"""Celery tasks of the project itself."""

from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.utils import timezone

from .models import Heartbeat


@shared_task(ignore_result=True)
def heartbeat() -> None:
    """Beat queues this every minute; a worker running it is what /readyz calls alive."""
    Heartbeat.objects.update_or_create(name="worker", defaults={"at": timezone.now()})


@worker_ready.connect
def first_heartbeat(sender: Any, **kwargs: Any) -> None:
    heartbeat.delay()
