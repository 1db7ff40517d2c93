from django.urls import path

from messaging import views

app_name = "messaging"

urlpatterns = [
    path("", views.message_list, name="list"),
    path("compose/", views.compose, name="compose"),
    path("compose/preview/", views.compose_preview, name="preview"),
    path("media/<int:pk>/", views.media_file, name="media"),
    path("export.csv", views.message_export, name="export"),
    path("bulk/", views.messages_bulk, name="bulk"),
    path("held/cancel/", views.messages_cancel_held, name="cancel_held"),
    path("<int:pk>/", views.message_detail, name="detail"),
    path("<int:pk>/edit/", views.message_edit, name="edit"),
    path("<int:pk>/<slug:action>/", views.message_action, name="action"),
    path("schedules/", views.schedule_list, name="schedules"),
    path("schedules/<int:pk>/", views.schedule_detail, name="schedule"),
    path("schedules/<int:pk>/edit/", views.schedule_edit, name="schedule_edit"),
    path("schedules/<int:pk>/<slug:action>/", views.schedule_action, name="schedule_action"),
]
