from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Console users and roles"

    def ready(self):
        from accounts import sessions  # noqa: F401 - connects the login-time stamp
