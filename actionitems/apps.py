from django.apps import AppConfig


class ActionitemsConfig(AppConfig):
    name = "actionitems"
    verbose_name = "Action items"

    def ready(self):
        """Plug into the document below: the action items section, and mention emails."""
        from postmortems.editing import register_row_section
        from postmortems.signals import comment_posted

        from .sections import ACTION_ITEMS
        from .tasks import queue_mention_emails

        register_row_section(ACTION_ITEMS)
        comment_posted.connect(queue_mention_emails, dispatch_uid="actionitems.mentions")
