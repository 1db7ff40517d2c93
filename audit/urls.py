from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.record_list, name="list"),
    path("export.csv", views.record_export, name="export"),
]
