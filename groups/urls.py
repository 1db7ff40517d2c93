# Kaizala's group ids are opaque and may hold '@': the console's own pk is the only id in its URLs.
from django.urls import path

from groups import views

app_name = "groups"

urlpatterns = [
    path("", views.group_list, name="list"),
    path("new/", views.group_create, name="create"),
    path("menu/", views.group_menu, name="menu"),
    path("sync/", views.sync_request, name="sync"),
    path("sync/status/", views.sync_status, name="sync_status"),
    path("<int:pk>/", views.group_detail, name="detail"),
    path("<int:pk>/status/", views.group_status, name="status"),
    path("<int:pk>/refresh/", views.group_refresh, name="refresh"),
    path("<int:pk>/retry/", views.group_retry, name="retry"),
    path("<int:pk>/send-through/", views.group_sender, name="sender"),
    path("<int:pk>/members/add/", views.members_add, name="members_add"),
    path("<int:pk>/members.csv", views.members_export, name="members_export"),
    path("<int:pk>/members/remove/", views.members_remove, name="members_remove"),
    path("<int:pk>/members/<int:member_pk>/remove/", views.member_remove, name="member_remove"),
    path("<int:pk>/members/<int:member_pk>/role/", views.member_set_role, name="member_role"),
    path("<int:pk>/sub-groups/new/", views.subgroup_create, name="subgroup_create"),
    path("<int:pk>/subscribers/add/", views.subscribers_add, name="subscribers_add"),
    path("<int:pk>/subscribers/<int:subscriber_pk>/remove/", views.subscriber_remove, name="subscriber_remove"),
]
