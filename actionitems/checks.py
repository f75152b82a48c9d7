"""Settings the follow-up engine reads, checked when Django starts (manage.py check, runserver,
a worker), rather than failing in the middle of a sweep."""

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from .cadence import weekday_number


@register()
def digest_defaults(app_configs: Any, **kwargs: Any) -> list[Error]:
    errors = []
    try:
        weekday_number(settings.DIGEST_DAY_OF_WEEK)
    except ValueError:
        errors.append(
            Error(
                f"DIGEST_DAY_OF_WEEK={settings.DIGEST_DAY_OF_WEEK!r} is not a day of the week.",
                hint="Use mon, tue, ... sun (or cron's 0-7).",
                id="actionitems.E001",
            )
        )
    if not 0 <= settings.DIGEST_HOUR <= 23:
        errors.append(
            Error(
                f"DIGEST_HOUR={settings.DIGEST_HOUR} is not an hour (0-23).", id="actionitems.E002"
            )
        )
    return errors
