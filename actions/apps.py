from django.apps import AppConfig


class ActionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "actions"

    def ready(self):
        # The events app sits below this one: it learns of the response handler through its registry.
        from actions import handlers  # noqa: F401
