from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"

    def ready(self):
        # messaging and events announce what happened without importing this app; the callbacks subscribe here.
        from api.callbacks import on_action_responses_received, on_message_status_changed, on_posts_created
        from events.signals import action_responses_received, posts_created
        from messaging.signals import message_status_changed

        message_status_changed.connect(on_message_status_changed, dispatch_uid="api.callbacks")
        posts_created.connect(on_posts_created, dispatch_uid="api.callbacks.posts")
        action_responses_received.connect(on_action_responses_received, dispatch_uid="api.callbacks.responses")
