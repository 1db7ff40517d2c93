from django.urls import path

from connectors import views

app_name = "connectors"

urlpatterns = [
    path("connectors/", views.connector_list, name="list"),
    path("connectors/new/", views.connector_create, name="create"),
    path("connectors/new/sandbox/", views.connector_create_in_sandbox, name="create_in_sandbox"),
    path("connectors/<int:pk>/", views.connector_detail, name="detail"),
    path("connectors/<int:pk>/edit/", views.connector_edit, name="edit"),
    path("connectors/<int:pk>/deactivate/", views.connector_set_active, {"active": False}, name="deactivate"),
    path("connectors/<int:pk>/activate/", views.connector_set_active, {"active": True}, name="activate"),
    path("phone-users/", views.phone_user_list, name="phone_users"),
    path("phone-users/menu/", views.phone_user_menu, name="phone_user_menu"),
    path("phone-users/onboard/", views.phone_user_onboard, name="onboard"),
    path("phone-users/add-token/", views.phone_user_add_token, name="add_token"),
    path("phone-users/<int:pk>/", views.phone_user_detail, name="phone_user"),
    path("phone-users/<int:pk>/status/", views.phone_user_status, name="phone_user_status"),
    path("phone-users/<int:pk>/pin/", views.phone_user_submit_pin, name="submit_pin"),
    path("phone-users/<int:pk>/resend-pin/", views.phone_user_resend_pin, name="resend_pin"),
    path("phone-users/<int:pk>/retry/", views.phone_user_retry, name="retry"),
    path("phone-users/<int:pk>/reonboard/", views.phone_user_reonboard, name="reonboard"),
    path("phone-users/<int:pk>/remove/", views.phone_user_remove, name="remove"),
    path("api-calls/", views.api_call_list, name="calls"),
    path("api-calls/export.csv", views.api_call_export, name="calls_export"),
    path("api-calls/<int:pk>/", views.api_call_detail, name="call"),
]
