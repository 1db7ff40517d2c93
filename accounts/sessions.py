"""A signed-in session ends after SESSION_IDLE_TIMEOUT seconds without a request, and in any case
SESSION_COOKIE_AGE seconds after login, however active it is.

Django's own expiry is not enough for either: it is a fixed age that every save of the session pushes on,
so the login time and the last request are kept in the session and checked here on every request.
"""

import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils.timesince import timesince

LOGGED_IN_AT = "_console_logged_in_at"
LAST_SEEN_AT = "_console_last_seen_at"
# The last request is written to the session at most once a minute, not on every request (each write is
# a database update); the idle timeout is therefore honoured to within a minute.
TOUCH_EVERY = 60
# A page polling for progress in the background (htmx, `hx-headers` in the polling partials) is not the
# person being active: it must not keep an abandoned session alive.
POLL_HEADER = "X-Console-Poll"


@receiver(user_logged_in, dispatch_uid="accounts.sessions.stamp_login")
def stamp_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[LOGGED_IN_AT] = now
        request.session[LAST_SEEN_AT] = now


def _duration(seconds: int) -> str:
    """"30 minutes", "8 hours" (Django's own wording, as the templates' timesince)."""
    epoch = datetime.fromtimestamp(0, UTC)
    return timesince(epoch, epoch + timedelta(seconds=seconds), depth=2)


def _end(request, why: str) -> None:
    logout(request)
    messages.info(request, why)


class SessionTimeoutMiddleware:
    """An ended session is logged out here, before any view runs (LoginRequiredMiddleware checks in
    process_view, after this): the request then goes to the login page, which says why."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            session, now = request.session, time.time()
            # A session from before these stamps existed starts counting now.
            logged_in_at = session.setdefault(LOGGED_IN_AT, now)
            last_seen_at = session.setdefault(LAST_SEEN_AT, now)
            if now - logged_in_at > settings.SESSION_COOKIE_AGE:
                _end(request, f"Your session ended {_duration(settings.SESSION_COOKIE_AGE)} after you logged in. "
                              "Log in again.")
            elif now - last_seen_at > settings.SESSION_IDLE_TIMEOUT:
                _end(request, f"You were logged out after {_duration(settings.SESSION_IDLE_TIMEOUT)} without "
                              "activity. Log in again.")
            elif now - last_seen_at >= TOUCH_EVERY and not request.headers.get(POLL_HEADER):
                session[LAST_SEEN_AT] = now
        return self.get_response(request)
