from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from accounts.views import ThrottledPasswordChangeView, preferences, two_step_enrol, two_step_status, two_step_verify
from kaizala_console import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics_view, name="metrics"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", ThrottledPasswordChangeView.as_view(), name="password_change"),
    path("preferences/", preferences, name="preferences"),
    path("login/code/", two_step_verify, name="two_step_verify"),
    path("two-step/", two_step_status, name="two_step_status"),
    path("two-step/enrol/", two_step_enrol, name="two_step_enrol"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    # The one-time link of an invitation or a forced reset (accounts/services.py password_link).
    path("set-password/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(
        template_name="registration/password_set.html", success_url=reverse_lazy("password_set_done")),
        name="password_set"),
    path("set-password/done/", auth_views.PasswordResetCompleteView.as_view(
        template_name="registration/password_set_done.html"), name="password_set_done"),
    path("users/", include("accounts.urls")),
    path("audit/", include("audit.urls")),
    path("", include("connectors.urls")),
    path("groups/", include("groups.urls")),
    path("messages/", include("messaging.urls")),
    path("events/", include("events.urls")),
    path("actions/", include("actions.urls")),
    path("api/", include("api.urls")),
    path("admin/", admin.site.urls),
]
