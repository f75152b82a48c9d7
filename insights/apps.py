from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Insights"

    def ready(self) -> None:
        """Follow every save of the document below into the search index."""
        from . import receivers

        receivers.connect()
