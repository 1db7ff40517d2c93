from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Groups and messages"

    def ready(self):
        # The connector's deactivation page says which sends it holds (connectors cannot import messaging).
        from connectors.services import ACTIVATION_EFFECTS
        from messaging.selectors import connector_activation_effects

        if connector_activation_effects not in ACTIVATION_EFFECTS:
            ACTIVATION_EFFECTS.append(connector_activation_effects)
