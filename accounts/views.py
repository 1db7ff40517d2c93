from base64 import b32encode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import PasswordChangeView
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_safe
from django_otp import login as otp_login

from accounts import two_step
from accounts.forms import CodeForm, PreferencesForm, ThrottledPasswordChangeForm
from accounts.models import Profile
from audit.actor import actor_from_request


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


def _next_url(request) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return wanted
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def two_step_verify(request):
    """The second step after the password: a code from the authenticator app or a recovery code."""
    if request.user.is_verified():
        return redirect(_next_url(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if two_step.two_step_verify(request, form.cleaned_data["code"]):
            return redirect(_next_url(request))
        form.add_error("code", "That code is not right, or was used already. Wrong codes count as failed logins.")
    return render(request, "accounts/two_step_verify.html", {"form": form, "next": _next_url(request)})


def two_step_enrol(request):
    """Set up (or replace) the authenticator app: scan the QR code, type a code; the recovery codes are
    shown once, on the answer to that POST, and never again."""
    if not request.user.is_verified() and two_step.is_enrolled(request.user):
        # Replacing a device needs the second step first: a password alone must not swap in a new one.
        return redirect("two_step_verify")
    if request.user.is_verified() and request.method == "GET" and not request.GET.get("replace"):
        return redirect("two_step_status")
    device = two_step.two_step_enrol_start(user=request.user)
    form = CodeForm(request.POST or None)
    form.fields["code"].help_text = "The six digits the app shows now for Kaizala Console."
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = two_step.two_step_enrol_confirm(user=request.user, code=form.cleaned_data["code"],
                                                             actor=actor_from_request(request))
        except ValidationError as e:
            form.add_error("code", e)
        else:
            otp_login(request, device)
            return render(request, "accounts/two_step_codes.html", {"codes": codes, "next": _next_url(request)})
    return render(request, "accounts/two_step_enrol.html", {
        "form": form, "qr_code": two_step.qr_code_data_uri(device.config_url),
        "key": b32encode(device.bin_key).decode(), "next": _next_url(request),
    })


@require_safe
def two_step_status(request):
    """Every signed-in user: whether two-step is on for them, and a way to set it up or replace it."""
    return render(request, "accounts/two_step_status.html", {
        "enrolled": two_step.is_enrolled(request.user), "required": two_step.two_step_required(request.user),
    })
