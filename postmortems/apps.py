from typing import Any

from django.apps import AppConfig
from django.db.models.signals import pre_save


def refuse_too_long_text(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """The last wall for text that arrives without a form (an import, a paste, a chat channel,
    a script): nothing longer than postmortems/limits.py allows is saved. Forms refuse it
    first, with the person's text kept; this only raises."""
    if raw:  # loading fixtures
        return
    from .limits import TEXT_LIMITS, TextTooLong, too_long

    label = sender._meta.label
    if label in TEXT_LIMITS and (problems := too_long(label, instance.__dict__)):
        raise TextTooLong(problems)


class PostmortemsConfig(AppConfig):
    name = "postmortems"
    verbose_name = "Postmortems"

    def ready(self) -> None:
        pre_save.connect(refuse_too_long_text, dispatch_uid="postmortems.limits")
        from . import attachments  # noqa: F401  (its receiver removes deleted files)
