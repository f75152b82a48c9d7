from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        """Listen to the apps below: their saves write our outbox in the same transaction."""
        from django.db.models.signals import post_init, post_save

        from actionitems.models import ActionItem, Notification
        from incidents.models import Incident
        from postmortems.models import ReviewEvent
        from postmortems.signals import section_saved

        from . import receivers

        for model in (Incident, ActionItem):
            post_init.connect(
                receivers.remember_status, sender=model, dispatch_uid=f"integrations.{model}"
            )
        post_save.connect(
            receivers.incident_saved, sender=Incident, dispatch_uid="integrations.incident"
        )
        section_saved.connect(
            receivers.incident_section_saved, dispatch_uid="integrations.incident_section"
        )
        post_save.connect(
            receivers.action_item_saved, sender=ActionItem, dispatch_uid="integrations.item"
        )
        post_save.connect(
            receivers.review_event_saved, sender=ReviewEvent, dispatch_uid="integrations.review"
        )
        post_save.connect(
            receivers.notification_saved,
            sender=Notification,
            dispatch_uid="integrations.notification",
        )
