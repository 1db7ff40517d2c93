from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"

    def ready(self):
        # messaging announces send outcomes without importing this app; the callbacks subscribe here.
        from api.callbacks import on_message_status_changed
        from messaging.signals import message_status_changed

        message_status_changed.connect(on_message_status_changed, dispatch_uid="api.callbacks")
