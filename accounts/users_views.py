"""The Users page (Admins): invite, change a role, deactivate or reactivate, force a password reset.
Thin: the rules are in accounts/services.py."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from accounts import selectors, services
from accounts.forms import InviteForm, RoleForm
from accounts.roles import Role, role_required
from audit.actor import actor_from_request
from kaizala_console.confirm import is_confirmed, render_confirm
from kaizala_console.submit_once import submit_once


def _base_url(request) -> str:
    return request.build_absolute_uri("/")


def _link_handed_over(request, user, link: str, *, what: str) -> None:
    """Say how the link reaches the person: by mail, or (no mail configured) shown here once to pass on."""
    hours = settings.PASSWORD_LINK_HOURS
    if settings.MAIL_CONFIGURED and user.email:
        messages.success(request, f"{what} The link to set a password was mailed to {user.email}.")
    else:
        messages.success(request, f"{what} No mail is configured: give them this link, which sets a password "
                                  f"once and works for {hours} hours: {link}")


@role_required(Role.ADMIN)
@require_safe
def user_list(request):
    return render(request, "accounts/user_list.html", {
        "users": selectors.user_list(), "role_form": RoleForm(), "mail_configured": settings.MAIL_CONFIGURED,
    })


@role_required(Role.ADMIN)
def user_invite(request):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        def invite():
            user, link = services.user_invite(**form.cleaned_data, base_url=_base_url(request),
                                              actor=actor_from_request(request))
            _link_handed_over(request, user, link, what=f"{user.get_username()} invited.")
            return redirect("accounts:users")
        try:
            return submit_once(request, invite)
        except ValidationError as e:
            form.add_error(None, e)
    return render(request, "accounts/user_invite.html", {"form": form, "link_hours": settings.PASSWORD_LINK_HOURS})


@role_required(Role.ADMIN)
@require_POST
def user_role(request, pk):
    user = get_object_or_404(get_user_model(), pk=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles Viewer, Operator or Admin.")
        return redirect("accounts:users")
    try:
        services.user_role_change(user_id=user.pk, role=form.cleaned_data["role"], actor=actor_from_request(request))
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(request, f"{user.get_username()} is now {form.cleaned_data['role'].group_name}.")
    return redirect("accounts:users")


def _act(request, action, done: str):
    """Run `action(actor)`; say what it did, or why it was refused."""
    try:
        action(actor_from_request(request))
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(request, done)
    return redirect("accounts:users")


@role_required(Role.ADMIN)
def user_deactivate(request, pk):
    user = get_object_or_404(get_user_model(), pk=pk)
    if not is_confirmed(request):
        return render_confirm(
            request, title=f"Deactivate {user.get_username()}", question=f"Deactivate {user.get_username()}?",
            effects=["They can no longer log in; a session they have open ends at their next request.",
                     "Everything they did stays, with their name. You can reactivate them later."],
            confirm_label="Deactivate", cancel_url=reverse("accounts:users"))
    return _act(request, lambda actor: services.user_active_set(user_id=user.pk, active=False, actor=actor),
                f"{user.get_username()} deactivated.")


@role_required(Role.ADMIN)
@require_POST
def user_activate(request, pk):
    user = get_object_or_404(get_user_model(), pk=pk)
    return _act(request, lambda actor: services.user_active_set(user_id=user.pk, active=True, actor=actor),
                f"{user.get_username()} can log in again.")


@role_required(Role.ADMIN)
def user_password_reset(request, pk):
    user = get_object_or_404(get_user_model(), pk=pk)
    if not is_confirmed(request):
        return render_confirm(
            request, title=f"Reset the password of {user.get_username()}",
            question=f"Make {user.get_username()} set a new password?",
            effects=["Their password stops working now and every session they have open ends.",
                     f"They get a link to set a new one, valid for {settings.PASSWORD_LINK_HOURS} hours."],
            confirm_label="Reset password", cancel_url=reverse("accounts:users"))
    try:
        user, link = services.user_password_reset_force(user_id=user.pk, base_url=_base_url(request),
                                                        actor=actor_from_request(request))
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        _link_handed_over(request, user, link, what=f"The password of {user.get_username()} was reset.")
    return redirect("accounts:users")


@role_required(Role.ADMIN)
def user_two_step_reset(request, pk):
    user = get_object_or_404(get_user_model(), pk=pk)
    if not is_confirmed(request):
        return render_confirm(
            request, title=f"Reset the two-step login of {user.get_username()}",
            question=f"Remove the authenticator app and recovery codes of {user.get_username()}?",
            effects=["Use this when they lost both. Their codes stop working now.",
                     "They set up the second step again at their next login (required for Admins)."],
            confirm_label="Reset two-step login", cancel_url=reverse("accounts:users"))
    return _act(request, lambda actor: services.user_two_step_reset(user_id=user.pk, actor=actor),
                f"The two-step login of {user.get_username()} was reset.")
