from django.apps import AppConfig


class ActionitemsConfig(AppConfig):
    name = "actionitems"
    verbose_name = "Action items"

    def ready(self) -> None:
        """Plug into the document below: the action items section, mention emails, and
        calendar updates when a review meeting moves."""
        from django.db.models.signals import post_save

        from postmortems.editing import register_row_section
        from postmortems.models import Revision
        from postmortems.signals import comment_posted

        from . import checks  # noqa: F401  (registers the settings checks)
        from .sections import ACTION_ITEMS
        from .tasks import queue_mention_emails, review_schedule_saved

        register_row_section(ACTION_ITEMS)
        comment_posted.connect(queue_mention_emails, dispatch_uid="actionitems.mentions")
        post_save.connect(
            review_schedule_saved, sender=Revision, dispatch_uid="actionitems.review_schedule"
        )
