"""The Celery app: `celery -A postmortems worker` / `celery -A postmortems beat`."""

import os
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postmortems.settings")

app = Celery("postmortems")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def make_local_state_folder(sender: Any, **kwargs: Any) -> None:
    """The embedded SQLite broker and beat's schedule live in VAR_DIR; create it on first run."""
    from django.conf import settings

    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
