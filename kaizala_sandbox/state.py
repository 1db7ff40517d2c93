"""The in-memory store: every piece of emulated state behind one re-entrant lock, plus the clock.

Handlers take `store.lock` for the whole of a call, so state changes are atomic per call.
With `--state FILE` the persistent part is written as JSON (temp file + os.replace),
debounced by a background thread and once more on shutdown.
"""

import json
import os
import secrets
import tempfile
import threading
import time
import uuid
from collections import deque

from . import permissions

# Everything a restart must keep; calls, faults and limits are per-run diagnostics.
PERSISTED = (
    "clock_offset",
    "demo_connector_id",
    "connectors",
    "pins",
    "refresh_tokens",
    "access_tokens",
    "users",
    "endpoints",
    "groups",
    "messages",
    "actions",
    "webhooks",
    "media",
    "deliveries",
)

MAX_RECORDED_CALLS = 200_000

DEFAULT_SETTINGS = {
    # 6 retries spread over ~2 days as documented: 2700 s * (2**6 - 1) ~= 47 h.
    "webhookBackoffSeconds": 2700.0,
    "webhookMaxRetries": 6,
    "webhookValidationTimeoutSeconds": 5.0,
    "webhookDeliveryTimeoutSeconds": 5.0,
    # A "timeout" fault holds the response this long: longer than the 60 s the docs advise.
    "timeoutFaultSeconds": 65.0,
}


def new_id() -> str:
    return str(uuid.uuid4())


def new_secret(prefix: str) -> str:
    return f"{prefix}{secrets.token_urlsafe(24)}"


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.dirty = threading.Event()
        self.clock_offset = 0.0
        self.demo_connector_id = None
        self.connectors = {}
        self.settings = dict(DEFAULT_SETTINGS)
        self.calls = deque(maxlen=MAX_RECORDED_CALLS)
        self.call_seq = 0
        self.clear()

    def clear(self):
        """Drop all emulated state except the connectors table (the caller decides about those)."""
        self.pins = {}  # mobileNumber -> [pin record], oldest first
        self.refresh_tokens = {}
        self.access_tokens = {}
        self.users = {}  # mobileNumber -> {id, mobileNumber, name, isProvisioned}
        self.endpoints = {}  # mobileNumber -> endpoint index (0 -> /kms/, 1 -> /kms1/, ...)
        self.groups = {}
        self.messages = []  # what phones see, in arrival order (texts and actions)
        self.actions = {}
        self.webhooks = {}
        self.media = {}
        self.deliveries = []
        self.calls.clear()
        self.call_seq = 0

    # -- clock ---------------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.clock_offset

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    # -- connectors and users ------------------------------------------------------------
    def add_connector(self, name: str, perms=None, tenant_id: str = "tenant-default", demo=False) -> dict:
        keys = permissions.normalize(perms) if perms is not None else list(permissions.ALL_PERMISSIONS)
        connector = {
            "applicationId": new_id(),
            "applicationSecret": new_secret(""),
            "name": name,
            "permissions": keys,
            "tenantId": tenant_id,
            "createdAt": self.now(),
        }
        self.connectors[connector["applicationId"]] = connector
        if demo:
            self.demo_connector_id = connector["applicationId"]
        return connector

    def ensure_demo_connector(self) -> dict:
        with self.lock:
            demo = self.connectors.get(self.demo_connector_id)
            if demo is None:
                demo = self.add_connector("Demo connector", demo=True)
            return demo

    def user(self, mobile: str, provisioned: bool | None = None) -> dict:
        user = self.users.get(mobile)
        if user is None:
            user = {"id": new_id(), "mobileNumber": mobile, "name": mobile, "isProvisioned": False}
            self.users[mobile] = user
        if provisioned:
            user["isProvisioned"] = True
        return user

    def endpoint_prefix(self, mobile: str) -> str:
        index = self.endpoints.get(mobile, 0)
        return "kms" if index == 0 else f"kms{index}"

    # -- recorded calls ------------------------------------------------------------------
    def record_call(self, record: dict) -> dict:
        self.call_seq += 1
        record["id"] = self.call_seq
        self.calls.append(record)
        return record

    # -- persistence ---------------------------------------------------------------------
    def snapshot(self) -> str:
        with self.lock:
            return json.dumps({name: getattr(self, name) for name in PERSISTED})

    def load(self, path: str):
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        with self.lock:
            for name in PERSISTED:
                if name in data:
                    setattr(self, name, data[name])

    def save(self, path: str):
        text = self.snapshot()
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".sandbox-state-", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)


class Persister(threading.Thread):
    """Writes the store after changes, at most once per `debounce` seconds."""

    def __init__(self, store: Store, path: str, debounce: float = 0.5):
        super().__init__(name="sandbox-persister", daemon=True)
        self.store = store
        self.path = path
        self.debounce = debounce

    def run(self):
        while True:
            self.store.dirty.wait()
            time.sleep(self.debounce)
            self.store.dirty.clear()
            self.store.save(self.path)
