"""Reads of console users for the Users page."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef, Prefetch
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.roles import Role

_ROLE_NAMES = {role.group_name: role for role in Role}


def user_list():
    """Every user by username, with `role` (their highest role, or None) and `two_step` (enrolled) set."""
    enrolled = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    users = list(get_user_model().objects.order_by("username").annotate(two_step=Exists(enrolled)).prefetch_related(
        Prefetch("groups", queryset=Group.objects.filter(name__in=_ROLE_NAMES), to_attr="role_groups")))
    for user in users:
        held = [_ROLE_NAMES[g.name] for g in user.role_groups]
        user.role = Role.ADMIN if user.is_superuser else max(held, default=None)
    return users
