from django.urls import path

from accounts import users_views

app_name = "accounts"

urlpatterns = [
    path("", users_views.user_list, name="users"),
    path("invite/", users_views.user_invite, name="invite"),
    path("<int:pk>/role/", users_views.user_role, name="role"),
    path("<int:pk>/deactivate/", users_views.user_deactivate, name="deactivate"),
    path("<int:pk>/activate/", users_views.user_activate, name="activate"),
    path("<int:pk>/reset-password/", users_views.user_password_reset, name="reset_password"),
    path("<int:pk>/reset-two-step/", users_views.user_two_step_reset, name="reset_two_step"),
]
