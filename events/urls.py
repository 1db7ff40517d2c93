from django.urls import path

from events import receiver, views

app_name = "events"

urlpatterns = [
    # Kaizala's callbacks: one URL per subscription, named by its random key (no login, no CSRF).
    path("hook/<uuid:key>/", receiver.receiver, name="receiver"),
    path("", views.event_list, name="list"),
    path("<int:pk>/", views.event_detail, name="detail"),
    path("<int:pk>/process-again/", views.event_process_again, name="process_again"),
    path("groups/<int:pk>/listen/", views.group_listen, name="listen"),
    path("subscriptions/<int:pk>/stop/", views.subscription_stop, name="stop"),
    path("subscriptions/<int:pk>/reenable/", views.subscription_reenable, name="reenable"),
]
