from django.urls import path

from actions import views

app_name = "actions"

urlpatterns = [
    path("<int:pk>/", views.results, name="results"),
    path("<int:pk>/live/", views.live, name="live"),
    path("<int:pk>/responses.csv", views.export, name="export"),
    path("<int:pk>/refresh/", views.refresh, name="refresh"),
    path("<int:pk>/remind/", views.remind, name="remind"),
    path("<int:pk>/reminders/", views.reminder_schedule, name="reminder_schedule"),
    path("<int:pk>/reminders/stop/", views.reminder_stop, name="reminder_stop"),
]
