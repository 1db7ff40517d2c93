"""Changes to console users: invitations, roles, deactivation, forced password resets.

A person's role is exactly one of the three role groups (accounts/roles.py). Superusers are managed in the
Django admin only, and nobody changes their own role or access here (an Admin cannot lock themselves out).
"""

import logging
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import two_step
from accounts.roles import Role, user_role
from audit.actor import Actor
from audit.models import Kind
from audit.services import audit_record

logger = logging.getLogger(__name__)


def demo_admin_ensure(*, username: str, reset_password: bool = False) -> tuple[bool, str | None]:
    """Create the console's admin `username` (a superuser with the Admin role) if missing, with a generated
    password; with `reset_password`, give an existing one a new generated password.

    Returns (created, the new password or None when none was set). The password is only returned, for the
    caller to show once: it is stored hashed and can never be read back.
    """
    User = get_user_model()
    password = secrets.token_urlsafe(12)
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username).first()
        if user is None:
            user = User.objects.create_user(username=username, password=password, is_staff=True, is_superuser=True)
            user.groups.add(Group.objects.get(name=Role.ADMIN.group_name))
            return True, password
        if not reset_password:
            return False, None
        user.set_password(password)
        user.save(update_fields=["password"])
    return False, password


def password_link(user, *, base_url: str) -> str:
    """A link that sets `user`'s password once: the token is Django's password-reset token, which hashes
    the current password and last login (so it dies when the password is set) and expires after
    PASSWORD_RESET_TIMEOUT."""
    path = reverse("password_set", kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                                           "token": default_token_generator.make_token(user)})
    return base_url.rstrip("/") + path


def _hand_over(user, link: str, *, why: str) -> None:
    """Mail the link once the change commits, or, with no mail configured, write it to the log (the page
    shows it to the Admin too)."""
    hours = settings.PASSWORD_LINK_HOURS
    if settings.MAIL_CONFIGURED and user.email:
        body = f"{why}\n\nSet your password here (the link works once, for {hours} hours):\n{link}\n"
        transaction.on_commit(lambda: send_mail("Kaizala Console: set your password", body, None, [user.email]))
    else:
        transaction.on_commit(lambda: logger.info("No mail configured: the link that sets a password for %s "
                                                  "(valid %d hours) is %s", user.get_username(), hours, link))


def _set_role(user, role: Role) -> None:
    role_groups = Group.objects.filter(name__in=[r.group_name for r in Role])
    user.groups.remove(*role_groups)
    # The roles' groups come from a migration; get_or_create keeps a role assignable on a database whose
    # rows were flushed since (a transactional test) instead of failing with a 500.
    user.groups.add(Group.objects.get_or_create(name=role.group_name)[0])


def _changeable(user, *, actor: Actor) -> None:
    if actor.user is not None and user.pk == actor.user.pk:
        raise ValidationError("You cannot change your own role or access; another Admin can.")
    if user.is_superuser:
        raise ValidationError(f"{user.get_username()} is a superuser: superusers are managed in the Django admin.")


def user_invite(*, username: str, email: str, role: Role, base_url: str, actor: Actor) -> tuple[object, str]:
    """Create a user without a usable password, with `role`, and hand over a link to set one.
    Returns (the user, the link); the caller shows the link only when no mail was sent."""
    User = get_user_model()
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError(f"A user named {username} already exists.")
        user = User(username=username, email=email)
        user.set_unusable_password()
        user.save()
        _set_role(user, role)
        link = password_link(user, base_url=base_url)
        _hand_over(user, link, why=f"You are invited to Kaizala Console as {role.group_name}.")
        audit_record(actor=actor, kind=Kind.USER_INVITED, obj=user,
                     summary=f"{username} invited as {role.group_name}")
    return user, link


def user_role_change(*, user_id: int, role: Role, actor: Actor) -> object:
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user_id)
        _changeable(user, actor=actor)
        before = user_role(user)
        _set_role(user, role)
        audit_record(actor=actor, kind=Kind.USER_CHANGED, obj=user,
                     summary=f"Role of {user.get_username()} set to {role.group_name}",
                     changes={"role": (before.group_name if before else "no role", role.group_name)})
    return user


def user_active_set(*, user_id: int, active: bool, actor: Actor) -> bool:
    """Deactivate (the person's sessions end at their next request) or reactivate. False: it already was."""
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        _changeable(user, actor=actor)
        if not User.objects.filter(pk=user_id, is_active=not active).update(is_active=active):
            return False
        audit_record(actor=actor, kind=Kind.USER_CHANGED, obj=user,
                     summary=f"{user.get_username()} {'reactivated' if active else 'deactivated'}",
                     changes={"active": (not active, active)})
        return True


def user_password_reset_force(*, user_id: int, base_url: str, actor: Actor) -> tuple[object, str]:
    """Make the password unusable (which also ends every session of the user: Django checks a hash of the
    password on each request) and hand over a link to set a new one."""
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user_id)
        _changeable(user, actor=actor)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        link = password_link(user, base_url=base_url)
        _hand_over(user, link, why="An Admin asked you to set a new password for Kaizala Console.")
        audit_record(actor=actor, kind=Kind.USER_CHANGED, obj=user,
                     summary=f"Password of {user.get_username()} reset; a link to set a new one was handed over")
    return user, link


def user_two_step_reset(*, user_id: int, actor: Actor) -> int:
    """For someone who lost both the app and the recovery codes: remove their devices, so they set up the
    second step again at their next login. Returns the devices removed."""
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user_id)
        _changeable(user, actor=actor)
        removed = two_step.two_step_reset(user=user)
        audit_record(actor=actor, kind=Kind.USER_CHANGED, obj=user,
                     summary=f"Two-step login of {user.get_username()} reset ({removed} devices removed)")
        return removed
