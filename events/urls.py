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
    path("groups/<int:pk>/conversation/", views.conversation, name="conversation"),
    path("groups/<int:pk>/conversation/items/", views.conversation_items, name="conversation_items"),
    path("groups/<int:pk>/conversation/reply/", views.conversation_reply, name="reply"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read/", views.inbox_mark_read, name="inbox_read"),
    path("subscriptions/<int:pk>/stop/", views.subscription_stop, name="stop"),
    path("subscriptions/<int:pk>/reenable/", views.subscription_reenable, name="reenable"),
]
