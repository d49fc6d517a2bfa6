from django.apps import AppConfig


class PlaygroundConfig(AppConfig):
    name = "playground"
    verbose_name = "Socket playground"

    def ready(self):
        from playground import checks  # noqa: F401 - registers the system check
