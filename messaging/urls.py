from django.urls import path  # noqa: F401  (the message pages are added here)

app_name = "messaging"

urlpatterns: list = []
