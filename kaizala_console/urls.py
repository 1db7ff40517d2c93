from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.views import ThrottledPasswordChangeView, preferences
from kaizala_console import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", ThrottledPasswordChangeView.as_view(), name="password_change"),
    path("preferences/", preferences, name="preferences"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("", include("connectors.urls")),
    path("groups/", include("groups.urls")),
    path("messages/", include("messaging.urls")),
    path("api/", include("api.urls")),
    path("admin/", admin.site.urls),
]
