"""Changes to console users."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from accounts.roles import Role


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
