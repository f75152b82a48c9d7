"""The Celery app: `celery -A postmortems worker` / `celery -A postmortems beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postmortems.settings")

app = Celery("postmortems")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
