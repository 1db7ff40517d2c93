"""Two-step login (django-otp): a TOTP app, with one-time recovery codes for when the phone is lost.

A session is verified once a code from one of the user's confirmed devices was accepted after the password
(django-otp keeps the device in the session). `TwoStepMiddleware` keeps an unverified session to the code
page when the user has a device, and to enrolment when two-step is required for them (the Admin role, or
everybody with TWO_STEP_REQUIRED_FOR_ALL): nothing else answers until then.

A wrong code counts as a failed login with django-axes (same username and address as the password), so
guessing codes ends in the same lockout; each device also throttles itself (django-otp's growing delay),
which a fresh password login does not reset.
"""

import base64

import qrcode
import qrcode.image.svg
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django_otp import devices_for_user, user_has_device
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.roles import Role, has_role
from audit.actor import Actor
from audit.models import Kind
from audit.services import audit_record

RECOVERY_CODES = 10
# Pages an unverified session may reach: the code page, enrolment, and logging out.
OPEN_BEFORE_VERIFIED = {"two_step_verify", "two_step_enrol", "logout"}


def two_step_required(user) -> bool:
    return settings.TWO_STEP_REQUIRED_FOR_ALL or has_role(user, Role.ADMIN)


def is_enrolled(user) -> bool:
    return user_has_device(user, confirmed=True)


def qr_code_data_uri(text: str) -> str:
    """The QR code of `text` as an SVG data: URI, for an <img> (the CSP allows data: images)."""
    svg = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=12).to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def two_step_enrol_start(*, user) -> TOTPDevice:
    """The user's pending (unconfirmed) authenticator, made once and kept until a code confirms it, so the
    QR code stays the same across reloads of the page."""
    device, _ = TOTPDevice.objects.get_or_create(user=user, confirmed=False, defaults={"name": "Authenticator app"})
    return device


def two_step_enrol_confirm(*, user, code: str, actor: Actor) -> tuple[TOTPDevice, list[str]]:
    """Confirm the pending authenticator with a code from it; replace any earlier devices and make fresh
    recovery codes. Returns (the device, the recovery codes: shown once, stored only as used-once tokens)."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
        if device is None or not device.verify_token(code):
            raise ValidationError("That code does not match. Type the six digits the app shows now.")
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        StaticDevice.objects.filter(user=user).delete()
        TOTPDevice.objects.filter(pk=device.pk, confirmed=False).update(confirmed=True)
        device.confirmed = True
        recovery = StaticDevice.objects.create(user=user, name="Recovery codes")
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=recovery, token=code) for code in codes)
        audit_record(actor=actor, kind=Kind.USER_CHANGED, obj=user,
                     summary=f"{user.get_username()} turned on two-step login (new recovery codes)")
    return device, codes


def two_step_reset(*, user) -> int:
    """Remove every device of the user (an Admin does this for someone who lost phone and codes): they enrol
    again at their next login when two-step is required for them. Returns the devices removed."""
    with transaction.atomic():
        removed = TOTPDevice.objects.filter(user=user).delete()[0]
        removed += StaticDevice.objects.filter(user=user).delete()[0]
    return removed


def _credentials(user) -> dict:
    return {"username": user.get_username()}


def is_locked_out(request) -> bool:
    return AxesProxyHandler.is_locked(request, _credentials(request.user))


def two_step_verify(request, code: str) -> bool:
    """Accept a code from any confirmed device of the signed-in user (a recovery code is used up by it) and
    mark the session verified. A wrong code is a failed login for django-axes; at the limit axes sets
    `request.axes_locked_out` and its middleware answers with the lockout page."""
    user = request.user
    code = "".join(code.split())
    for device in devices_for_user(user, confirmed=True):
        allowed, _ = device.verify_is_allowed()
        if allowed and code and device.verify_token(code):
            otp_login(request, device)
            return True
    user_login_failed.send(sender=__name__, credentials=_credentials(user), request=request)
    return False


class TwoStepMiddleware:
    """After the login requirement: an unverified session reaches only the code page (a user with a device)
    or enrolment (a user who must have one), and logging out. A locked-out user is logged out."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        enrolled = is_enrolled(user)
        if not enrolled and not two_step_required(user):
            return None
        if request.resolver_match.url_name in OPEN_BEFORE_VERIFIED:
            return None
        if is_locked_out(request):
            logout(request)
            return redirect("login")
        target = reverse("two_step_verify" if enrolled else "two_step_enrol")
        return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
