"""Who an API request is, what it may do, and how often: the key, the key owner's role, the key's rate.

Only the key authenticates: a session cookie opens nothing here, so no API write can be forged from a
browser (the API needs no CSRF token because it accepts no cookie).
"""

import time

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from accounts.roles import Role, has_role
from api import selectors, services
from audit.actor import Actor
from kaizala_console.redis_client import redis_client


def api_actor(request) -> Actor:
    """Who an API write is recorded as: the key's owner, through the key (its label, never the key)."""
    from axes.helpers import get_client_ip_address

    return Actor(user=request.user, api_key=f"{request.auth.name} ({request.auth.prefix}…)",
                 address=get_client_ip_address(request) or None)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the header as “Authorization: Bearer <key>”.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("That API key is not valid.") from None
        api_key = selectors.api_key_usable(raw)
        if api_key is None:
            raise exceptions.AuthenticationFailed("That API key is not valid, revoked or expired.")
        services.api_key_touch(api_key=api_key)
        return api_key.owner, api_key

    def authenticate_header(self, request):
        return self.keyword  # makes DRF answer 401 (with WWW-Authenticate), not 403


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API key from the console's API keys page."}


class HasConsoleRole(permissions.BasePermission):
    """Reads need the Viewer role, writes the Operator role, unless the view sets `required_role`."""

    def has_permission(self, request, view):
        if request.auth is None:
            return False  # DRF answers 401: no key was sent
        needed = getattr(view, "required_role", None) or (
            Role.VIEWER if request.method in permissions.SAFE_METHODS else Role.OPERATOR)
        if not has_role(request.user, needed):
            self.message = f"This API key's user lacks the {needed.group_name} role this needs."
            return False
        return True


class PerKeyThrottle(throttling.BaseThrottle):
    """API_KEY_REQUESTS_PER_MINUTE per key, counted in Redis so every web process shares the count."""

    def allow_request(self, request, view):
        if request.auth is None:
            return True
        now = time.time()
        window = int(now // 60)
        name = f"api:rate:{request.auth.pk}:{window}"
        pipe = redis_client().pipeline()
        pipe.incr(name)
        pipe.expire(name, 120)
        count, _ = pipe.execute()
        self._wait = 60 - (now % 60)
        return count <= settings.API_KEY_REQUESTS_PER_MINUTE

    def wait(self):
        return self._wait
