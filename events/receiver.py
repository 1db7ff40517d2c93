"""The one URL Kaizala calls: the webhook validation handshake and event delivery.

It needs no login and no CSRF token (Kaizala has neither); the subscription's key in the URL and its
callBackToken in `kz-callback-token` are what let a request in. An event is stored before the 200, and
a database that cannot store it answers 503 so that Kaizala delivers it again.
"""

import json
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from events import selectors, services

log = logging.getLogger(__name__)
MAX_VALIDATION_TOKEN = 500


def _answer(status: int, text: str, *, logged: bool = False) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    # A refusal already logged here, with its reason, is not logged a second time by django.request.
    response._has_been_logged = logged
    return response


def _parse(request) -> dict | str:
    """The event as a dict, or why it is refused (answered 400)."""
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return "Content-Length is not a number."
    if declared > settings.EVENT_MAX_BYTES:
        return f"An event is at most {settings.EVENT_MAX_BYTES} bytes."
    try:
        body = request.body
    except RequestDataTooBig:
        return f"An event is at most {settings.EVENT_MAX_BYTES} bytes."
    if len(body) > settings.EVENT_MAX_BYTES:
        return f"An event is at most {settings.EVENT_MAX_BYTES} bytes."
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return "The body is not JSON."
    if not isinstance(raw, dict):
        return "The body is not a JSON object."
    event_id = raw.get("eventId")
    if not isinstance(event_id, str) or not event_id.strip() or len(event_id) > 200:
        return "The event has no eventId (a string of at most 200 characters)."
    return raw


@login_not_required
@csrf_exempt
@require_http_methods(["GET", "POST"])
def receiver(request, key):
    try:
        subscription = selectors.receiving_subscription(key)
        if subscription is None:
            return _answer(404, "No such subscription.")
        if request.method == "GET":
            token = request.GET.get("validationToken", "")
            if not token or len(token) > MAX_VALIDATION_TOKEN:
                return _answer(400, "Expected ?validationToken=… (Kaizala's handshake).")
            return _answer(200, token)
        if not services.subscription_token_matches(subscription, request.headers.get("kz-callback-token")):
            # Once, with the subscription; never the token that was sent.
            log.warning("Webhook refused (403): wrong or missing kz-callback-token for subscription %s from %s",
                        subscription.pk, request.META.get("REMOTE_ADDR", "?"))
            services.subscription_note_refusal(subscription)
            return _answer(403, "Wrong or missing kz-callback-token.", logged=True)
        raw = _parse(request)
        if isinstance(raw, str):
            services.subscription_note_refusal(subscription)
            return _answer(400, raw)
        try:
            services.event_receive(subscription=subscription, raw=raw)
        except DataError:
            # A value the database cannot hold (PostgreSQL refuses \u0000 in JSON): another try would fail too.
            return _answer(400, "The event holds characters the console cannot store.")
    except DatabaseError:
        # Nothing was stored (the insert is one transaction): Kaizala retries on a non-2xx answer.
        log.warning("Webhook answered 503: the database is unreachable", exc_info=True)
        return _answer(503, "The console cannot store events right now; deliver again later.", logged=True)
    return _answer(200, "OK")
