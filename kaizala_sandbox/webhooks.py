"""Webhook subscriptions (CRUD + validation handshake) and event delivery.

Delivery runs in one background thread. Due times are on the sandbox clock, so
`POST /_sandbox/clock` makes pending retries due at once; the back-off base is a
setting (`POST /_sandbox/webhooks/settings`) so tests can shorten it to milliseconds.
"""

import http.client
import ipaddress
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid

from . import context
from .errors import ApiError, bad_request, not_found
from .groups import access

OBJECT_TYPES = {"group": "Group", "action": "Action", "actionpackage": "ActionPackage"}
EVENT_TYPES = (
    "ActionCreated", "ActionResponse", "SurveyCreated", "JobCreated", "SurveyResponse", "JobResponse",
    "TextMessageCreated", "AttachmentCreated", "Announcement", "MemberAdded", "MemberRemoved", "GroupAdded",
    "GroupRemoved", "PollCreated", "LetsMeetCreated", "PollResponse", "LetsMeetResponse",
)
DEFAULT_VALIDITY_SECONDS = 2 * 365 * 24 * 3600
LOOPBACK_NAMES = {"localhost"}


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_callback_url(url) -> str:
    """HTTPS only, as documented; plain http is allowed to loopback hosts for local use."""
    if not isinstance(url, str):
        raise bad_request("'callBackUrl' is required")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return url
    raise bad_request("'callBackUrl' must be an https:// URL (http:// only to a loopback host)")


def handshake(url: str, timeout: float):
    """GET the callback with ?validationToken=...; it must echo the token within `timeout` seconds."""
    token = uuid.uuid4().hex
    separator = "&" if urllib.parse.urlsplit(url).query else "?"
    try:
        # check_callback_url() admitted only http(s) URLs.
        with urllib.request.urlopen(f"{url}{separator}validationToken={token}", timeout=timeout) as reply:  # noqa: S310
            echoed = reply.read(4096).decode("utf-8", "replace").strip()
    except (OSError, urllib.error.URLError) as exc:
        raise _validation_failed(f"the validation request failed: {exc}") from exc
    if echoed != token:
        raise _validation_failed("the callback did not echo the validationToken")


def _validation_failed(reason: str) -> ApiError:
    return ApiError(400, "WebhookValidationFailed", f"Webhook validation failed: {reason}", "ValidationException")


def _event_types(value) -> list[str]:
    if not isinstance(value, list) or not value:
        raise bad_request("'eventTypes' must be a non-empty list")
    known = {e.lower(): e for e in EVENT_TYPES}
    result = []
    for name in value:
        canonical = known.get(str(name).lower())
        if canonical is None:
            raise bad_request(f"Unknown event type {name!r}")
        result.append(canonical)
    return result


def _check_object(call, object_type: str, object_id: str):
    if object_type == "Group":
        access(call, object_id)
    elif object_type == "Action":
        action = call.store.actions.get(object_id)
        if action is None:
            raise not_found(f"Action {object_id} not found")
        access(call, action["groupId"])


def create_webhook(call):
    """Runs without the store lock: the handshake waits on the receiver."""
    store = call.store
    body = call.body()
    object_id = context.req_str(body, "objectId")
    object_type = OBJECT_TYPES.get(str(body.get("objectType", "")).lower())
    if object_type is None:
        raise bad_request("'objectType' must be Group, Action or ActionPackage")
    events = _event_types(body.get("eventTypes"))
    url = check_callback_url(body.get("callBackUrl"))
    with store.lock:
        _check_object(call, object_type, object_id)
        timeout = store.settings["webhookValidationTimeoutSeconds"]
    handshake(url, timeout)
    with store.lock:
        now_ms = store.now_ms()
        webhook = {
            "id": str(uuid.uuid4()),
            "applicationId": call.principal["applicationId"],
            "objectId": object_id,
            "objectType": object_type,
            "events": events,
            "filters": [],
            "callbackUrl": url,
            "callbackToken": context.opt_str(body, "callBackToken"),
            "callBackContext": context.opt_str(body, "callBackContext"),
            "ts": now_ms,
            "validity": context.opt_int(body.get("validity"), "validity", now_ms + DEFAULT_VALIDITY_SECONDS * 1000),
            "active": True,
            "consecutiveFailures": 0,
        }
        store.webhooks[webhook["id"]] = webhook
        store.dirty.set()
    return {"webhookId": webhook["id"]}


def public_view(webhook) -> dict:
    return {k: webhook[k] for k in ("id", "objectId", "objectType", "events", "filters", "callbackUrl",
                                    "callbackToken", "callBackContext", "ts", "validity", "active")}


def list_webhooks(call):
    args = call.request.args
    object_type = args.get("objectType")
    hooks = [
        w for w in call.store.webhooks.values()
        if w["applicationId"] == call.principal["applicationId"]
        and args.get("objectId") in (None, w["objectId"])
        and (object_type is None or object_type.lower() == w["objectType"].lower())
    ]
    return {"webhooks": [public_view(w) for w in hooks]}


def _own_webhook(call, webhook_id) -> dict:
    webhook = call.store.webhooks.get(webhook_id)
    if webhook is None or webhook["applicationId"] != call.principal["applicationId"]:
        raise not_found(f"Webhook {webhook_id} not found")
    return webhook


def update_webhook(call, webhook_id):
    """Runs without the store lock: a changed callBackUrl is validated again."""
    store = call.store
    body = call.body()
    with store.lock:
        webhook = _own_webhook(call, webhook_id)
        timeout = store.settings["webhookValidationTimeoutSeconds"]
    changes = {}
    if "eventTypes" in body:
        changes["events"] = _event_types(body.get("eventTypes"))
    if "objectType" in body:
        object_type = OBJECT_TYPES.get(str(body.get("objectType")).lower())
        if object_type is None:
            raise bad_request("'objectType' must be Group, Action or ActionPackage")
        changes["objectType"] = object_type
    if "objectId" in body:
        changes["objectId"] = context.req_str(body, "objectId")
    for source, target in (("callBackToken", "callbackToken"), ("callBackContext", "callBackContext")):
        if source in body:
            changes[target] = context.opt_str(body, source)
    if "validity" in body:
        changes["validity"] = context.opt_int(body.get("validity"), "validity", webhook["validity"])
    if "active" in body:
        changes["active"] = context.opt_bool(body.get("active"), "Active")
    if "callBackUrl" in body:
        url = check_callback_url(body.get("callBackUrl"))
        if url != webhook["callbackUrl"]:
            handshake(url, timeout)
        changes["callbackUrl"] = url
    with store.lock:
        webhook.update(changes)
        if changes.get("active"):
            webhook["consecutiveFailures"] = 0
        store.dirty.set()
    return {"result": True}


def delete_webhook(call, webhook_id):
    webhook = _own_webhook(call, webhook_id)
    del call.store.webhooks[webhook["id"]]
    return {"result": True}


class Deliverer(threading.Thread):
    """Posts events to callbacks; retries with exponential back-off, disables after the last retry."""

    def __init__(self, store):
        super().__init__(name="sandbox-webhooks", daemon=True)
        self.store = store
        self.wakeup = threading.Condition()
        self.pending = []  # jobs: {due, webhookId, payload, attempt}

    def enqueue(self, *, group, event_type, from_user, data, action=None):
        """Queue the event for every active subscription it matches (called under the store lock)."""
        store = self.store
        now_ms = store.now_ms()
        jobs = []
        for webhook in store.webhooks.values():
            if not webhook["active"] or webhook["validity"] < now_ms or event_type not in webhook["events"]:
                continue
            target = {"Group": group["groupId"], "Action": action and action["actionId"],
                      "ActionPackage": action and action["packageId"]}[webhook["objectType"]]
            if target != webhook["objectId"]:
                continue
            user = store.user(from_user)
            payload = {
                "objectId": webhook["objectId"], "objectType": webhook["objectType"], "eventType": event_type,
                "eventId": str(uuid.uuid4()), "data": data, "context": webhook["callBackContext"],
                "fromUser": from_user, "fromUserId": user["id"], "fromUserName": user["name"],
                "fromUserProfilePic": "",
            }
            jobs.append({"due": store.now(), "webhookId": webhook["id"], "payload": payload, "attempt": 1})
        if jobs:
            with self.wakeup:
                self.pending.extend(jobs)
                self.wakeup.notify()

    def wake(self):
        with self.wakeup:
            self.wakeup.notify()

    def clear(self):
        with self.wakeup:
            self.pending.clear()

    def _next_due(self):
        """Wait for the earliest job to fall due on the sandbox clock, and take it."""
        with self.wakeup:
            while True:
                now = self.store.now()
                due = [job for job in self.pending if job["due"] <= now]
                if due:
                    job = min(due, key=lambda j: j["due"])
                    self.pending.remove(job)
                    return job
                soonest = min((job["due"] for job in self.pending), default=now + 1.0)
                # Poll at least every 0.5 s: the clock may be moved without a notify.
                self.wakeup.wait(min(max(soonest - now, 0.005), 0.5))

    def run(self):
        while True:
            job = self._next_due()
            with self.store.lock:
                webhook = self.store.webhooks.get(job["webhookId"])
                if webhook is None or not webhook["active"]:
                    continue
                url, token = webhook["callbackUrl"], webhook["callbackToken"]
                timeout = self.store.settings["webhookDeliveryTimeoutSeconds"]
            status = self._post(url, token, job["payload"], timeout)
            self._settle(job, status)

    @staticmethod
    def _post(url, token, payload, timeout):
        """POST with http.client, which keeps the header name `kz-callback-token` in the documented case."""
        parts = urllib.parse.urlsplit(url)
        connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        headers = {"Content-Type": "application/json"}
        if token:
            headers["kz-callback-token"] = token
        path = parts.path or "/"
        if parts.query:
            path += f"?{parts.query}"
        connection = connection_class(parts.hostname, parts.port, timeout=timeout)
        try:
            connection.request("POST", path, body=json.dumps(payload).encode(), headers=headers)
            reply = connection.getresponse()
            reply.read()
            return reply.status
        except (OSError, http.client.HTTPException) as exc:
            return f"error: {exc}"
        finally:
            connection.close()

    def _settle(self, job, status):
        store = self.store
        ok = isinstance(status, int) and 200 <= status < 300
        with store.lock:
            webhook = store.webhooks.get(job["webhookId"])
            store.deliveries.append({
                "webhookId": job["webhookId"], "eventId": job["payload"]["eventId"],
                "eventType": job["payload"]["eventType"], "attempt": job["attempt"], "status": status, "ok": ok,
                "at": store.now(),
            })
            store.dirty.set()
            if webhook is None:
                return
            if ok:
                webhook["consecutiveFailures"] = 0
                return
            webhook["consecutiveFailures"] += 1
            retries_done = job["attempt"] - 1
            if retries_done >= store.settings["webhookMaxRetries"]:
                webhook["active"] = False
                return
            delay = store.settings["webhookBackoffSeconds"] * 2**retries_done
            retry = {**job, "attempt": job["attempt"] + 1, "due": store.now() + delay}
        with self.wakeup:
            self.pending.append(retry)
            self.wakeup.notify()
