from django.urls import path  # noqa: F401  (the group pages are added here)

app_name = "groups"

urlpatterns: list = []
