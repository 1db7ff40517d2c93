from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import PasswordChangeView
from django.shortcuts import redirect, render

from accounts.forms import PreferencesForm, ThrottledPasswordChangeForm
from accounts.models import Profile


def preferences(request):
    """Every signed-in user may set their own preferences, whatever their role."""
    profile, _ = Profile.objects.get_or_create(user=request.user)
    form = PreferencesForm(request.POST or None, instance=profile, default_zone=settings.TIME_ZONE)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Preferences saved.")
        return redirect("preferences")
    return render(request, "accounts/preferences.html", {"form": form})


class ThrottledPasswordChangeView(PasswordChangeView):
    """Django's password page, with the current-password check counted by the login lockout."""

    form_class = ThrottledPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}
