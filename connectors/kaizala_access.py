"""How the console reaches Kaizala: clients built for a connector or phone user, every call recorded
in the API call log, throttled by the shared limiter, with the token refreshed after a 401 and the
endpoint followed after a 308.

Only worker code calls this module: the web process never talks to Kaizala.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from functools import cache
from typing import TypeVar

from django.conf import settings

import kaizala
from connectors import allowed_urls
from connectors.models import ApiCall, Connector, PhoneUser
from kaizala.transport import Recorder
from kaizala_console import metrics
from kaizala_console.redis_client import redis_client

log = logging.getLogger(__name__)
T = TypeVar("T")

# The record's bodies are already redacted by the client; this only bounds their size.
_MAX_BODY = 20_000


class UrlNotAllowed(kaizala.PermanentError):
    """A connector's auth URL, or a phone user's endpoint, is not where Kaizala is known to be: refused
    before anything (a secret, a token) is sent there. Permanent: an Admin must correct the URL."""


def check_auth_url(connector: Connector) -> None:
    if not allowed_urls.auth_url_allowed(connector.auth_base_url):
        raise UrlNotAllowed(
            f"The connector's auth URL ({allowed_urls.url_host(connector.auth_base_url)}) is not an allowed "
            "Kaizala auth URL (KAIZALA_AUTH_URLS); an Admin must correct it, and type the secret again.",
            error_code="UrlNotAllowed",
        )


def check_endpoint_url(endpoint_url: str) -> str:
    if not allowed_urls.endpoint_url_allowed(endpoint_url):
        raise UrlNotAllowed(
            f"Kaizala named an endpoint on {allowed_urls.url_host(endpoint_url) or 'no host'}, which is not a "
            "host Kaizala is known to use (KAIZALA_ENDPOINT_HOSTS); the console will not call it.",
            error_code="UrlNotAllowed",
        )
    return endpoint_url


def _error_code(call: kaizala.CallRecord) -> str:
    """Kaizala's own errorCode: from the client's error, else from the response body."""
    if call.error_code:
        return call.error_code
    if call.error is None:  # a success: its body carries no errorCode (the client treats one as an error)
        return ""
    try:
        body = json.loads(call.response_body or "")
    except ValueError:
        return ""
    code = body.get("errorCode") if isinstance(body, dict) else None
    return code if isinstance(code, str) else ""


def recorder(connector: Connector | None, phone_user: PhoneUser | None, call_log: list | None = None) -> Recorder:
    """Writes each call's row at once, or appends it unsaved to `call_log` for the caller to write together
    with what the call produced (a send writes it in the transaction that records the send's outcome)."""

    def record(call: kaizala.CallRecord) -> None:
        metrics.kaizala_call(method=call.method, url=call.url, status=call.status)
        row = ApiCall(
            connector=connector,
            phone_user=phone_user,
            method=call.method,
            url=call.url[:1000],
            status=call.status,
            duration_ms=round(call.duration_ms),
            request_body=(call.request_body or "")[:_MAX_BODY],
            response_body=(call.response_body or "")[:_MAX_BODY],
            error_class=call.error or "",
            error_code=_error_code(call)[:100],
        )
        if call_log is None:
            row.save(force_insert=True)
        else:
            call_log.append(row)

    return record


@cache
def _limiter_for(pid: int) -> kaizala.RateLimiter:
    # One per process: it registers its Lua scripts once and shares the process's Redis pool.
    # A small burst: the bucket refills at (calls - burst) / period, so the burst is what a backlog loses
    # (a tenth, the client's default, left a backlog at 90 % of the allowed rate; bench/bench_ratelimit.py).
    limits = {
        kind: kaizala.Limit(calls, period, burst=min(settings.KAIZALA_RATE_LIMIT_BURST, max(1, calls - 1)),
                            margin=settings.KAIZALA_RATE_LIMIT_MARGIN)
        for kind, (calls, period) in settings.KAIZALA_RATE_LIMITS.items()
    }
    return _MeteredLimiter(redis_client(), limits=limits, max_wait=settings.KAIZALA_RATE_LIMIT_MAX_WAIT)


class _MeteredLimiter(kaizala.RateLimiter):
    """The shared limiter, with the time calls wait for it counted (the client itself stays metric-free)."""

    def acquire(self, keys, **kwargs) -> None:
        started = time.monotonic()
        try:
            super().acquire(keys, **kwargs)
        finally:
            waited = time.monotonic() - started
            if waited > 0.001:  # a token at hand is one Redis round trip, not a wait
                metrics.limiter_waited(waited)


def limiter() -> kaizala.RateLimiter | None:
    return _limiter_for(os.getpid()) if settings.KAIZALA_RATE_LIMIT_ENABLED else None


def limiter_keys(connector: Connector) -> dict[str, str]:
    # Kaizala counts per connector and per tenant; one console serves one tenant.
    return {"connector": connector.application_id, "tenant": settings.KAIZALA_TENANT_KEY}


def timeouts() -> kaizala.Timeouts:
    return kaizala.Timeouts(connect=settings.KAIZALA_CONNECT_TIMEOUT, read=settings.KAIZALA_READ_TIMEOUT)


def auth_client(connector: Connector, phone_user: PhoneUser | None = None) -> kaizala.AuthClient:
    check_auth_url(connector)
    return kaizala.AuthClient(
        connector.auth_base_url,
        application_id=connector.application_id,
        application_secret=connector.application_secret,
        timeouts=timeouts(),
        recorder=recorder(connector, phone_user),
        limiter=limiter(),
        limiter_keys=limiter_keys(connector),
    )


def api_client(phone_user: PhoneUser, call_log: list | None = None) -> kaizala.KaizalaClient:
    return kaizala.KaizalaClient(
        check_endpoint_url(phone_user.endpoint_url),
        phone_user.access_token,
        timeouts=timeouts(),
        recorder=recorder(phone_user.connector, phone_user, call_log),
        limiter=limiter(),
        limiter_keys=limiter_keys(phone_user.connector),
    )


def call_as(phone_user: PhoneUser, operation: Callable[[kaizala.KaizalaClient], T], *,
            call_log: list | None = None) -> T:
    """Run `operation` with a client for `phone_user`: after a 401 refresh the token and retry once;
    after a 308 store the new endpoint and retry (at most twice, so a redirect loop ends). The new token
    or endpoint is also set on `phone_user`, so that a caller sending several calls with one instance
    does not go on with the old one. `call_log`: see `recorder` (auth calls are written at once)."""
    from connectors.services import phone_user_move_endpoint, phone_user_refresh_access_token

    refreshed = False
    moves = 0
    current = phone_user
    while True:
        try:
            return operation(api_client(current, call_log))
        except kaizala.InvalidToken:
            if refreshed:
                raise
            refreshed = True
            current = phone_user_refresh_access_token(phone_user_id=current.pk, failed_token=current.access_token)
        except kaizala.EndpointMoved as moved:
            moves += 1
            if moves > 2:
                raise
            current = phone_user_move_endpoint(phone_user=current, endpoint_url=moved.endpoint_url)
        if current is not phone_user:
            phone_user.access_token, phone_user.endpoint_url = current.access_token, current.endpoint_url
            phone_user.access_token_expires_at = current.access_token_expires_at


def refresh_lock(phone_user_id: int):
    """One refresh at a time per phone user across every worker; held at most as long as one auth call."""
    lock_seconds = settings.KAIZALA_CONNECT_TIMEOUT + settings.KAIZALA_READ_TIMEOUT + 5
    return redis_client().lock(f"kc:token-refresh:{phone_user_id}", timeout=lock_seconds, blocking_timeout=lock_seconds)
