"""The three console roles, as Django groups: Admin ⊇ Operator ⊇ Viewer.

Admin: everything, including connectors and their secrets. Operator: groups and messages.
Viewer: read only. A superuser counts as Admin.
"""

import enum
from functools import wraps

from django.contrib.auth.mixins import AccessMixin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Exists, IntegerField, OuterRef, Value, When
from django.views.decorators.http import require_safe


class Role(enum.IntEnum):
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def group_name(self) -> str:
        return self.name.capitalize()


def user_role(user) -> Role | None:
    """The highest role the user holds, or None for a user with no role (who may see nothing)."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    # Cached on the user object: templates and views ask several times per request.
    if not hasattr(user, "_console_role"):
        names = set(user.groups.values_list("name", flat=True))
        held = [role for role in Role if role.group_name in names]
        user._console_role = max(held) if held else None
    return user._console_role


def role_of(user_id: OuterRef) -> Case:
    """The highest role (its number) of the user `user_id` refers to, for the query that loads that user
    anyway (the API key check): `role_known` then spares user_role its own query."""
    return Case(*(When(Exists(Group.objects.filter(user=user_id, name=role.group_name)), then=Value(role.value))
                  for role in sorted(Role, reverse=True)), default=None, output_field=IntegerField())


def role_known(user, value: int | None) -> None:
    """Remember on `user` the role read by `role_of` in the same query."""
    user._console_role = None if value is None else Role(value)


def has_role(user, role: Role) -> bool:
    held = user_role(user)
    return held is not None and held >= role


def role_required(role: Role):
    """View decorator: 403 for a logged-in user below `role` (login itself is enforced by middleware)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not has_role(request.user, role):
                raise PermissionDenied(f"This page needs the {role.group_name} role.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def read_only_page(view):
    """A page every role may read (GET/HEAD); any other method is 405, so nothing can be done through it."""
    return require_safe(role_required(Role.VIEWER)(view))


class RoleRequiredMixin(AccessMixin):
    """Class-based views: set `required_role`; read-only pages default to Viewer."""

    required_role = Role.VIEWER

    def dispatch(self, request, *args, **kwargs):
        if not has_role(request.user, self.required_role):
            raise PermissionDenied(f"This page needs the {self.required_role.group_name} role.")
        return super().dispatch(request, *args, **kwargs)
