"""PINs, refresh tokens, access tokens and endpointUrl: the calls on the fixed auth host.

Choices where the spec is silent (see README): 4-digit PINs valid 10 minutes, 3 wrong
attempts burn the PIN, only the newest PIN of a phone+connector is valid. A new refresh
token for the same grant (connector, kind, phone, group) supersedes the old one, except
rotation: the rotated-out token keeps working until its successor is first used.
"""

import secrets

from . import context, errors, permissions
from .errors import bad_request, invalid_token, unauthenticated
from .state import new_secret

PIN_DIGITS = 4
PIN_VALIDITY_SECONDS = 10 * 60
PIN_ATTEMPTS = 3
ACCESS_TOKEN_SECONDS = 24 * 3600
REFRESH_TOKEN_SECONDS = 365 * 24 * 3600
ROTATION_AFTER_FRACTION = 0.9
TOKEN_KINDS = ("user", "group", "tenant")


def _connector(store, app_id) -> dict:
    connector = store.connectors.get(app_id) if isinstance(app_id, str) else None
    if connector is None:
        raise unauthenticated(f"Unknown applicationId {app_id!r}")
    return connector


def generate_pin(call):
    store, body = call.store, call.body()
    mobile = context.mobile(body.get("mobileNumber"))
    app_id = context.req_str(body, "applicationId")
    _connector(store, app_id)
    now = store.now()
    pins = store.pins.setdefault(mobile, [])
    for old in pins:
        if old["applicationId"] == app_id and old["state"] == "active":
            old["state"] = "superseded"
    pins.append(
        {
            "pin": f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}",
            "applicationId": app_id,
            "sentAt": now,
            "expiresAt": now + PIN_VALIDITY_SECONDS,
            "attemptsLeft": PIN_ATTEMPTS,
            "state": "active",
        }
    )
    return {}


def login_with_pin(call):
    store, body = call.store, call.body()
    mobile = context.mobile(body.get("mobileNumber"))
    app_id = context.req_str(body, "applicationId")
    connector = _connector(store, app_id)
    secret = body.get("applicationSecret")
    if secret is not None and secret != connector["applicationSecret"]:
        raise unauthenticated(errors.MSG_BAD_CONNECTOR)
    raw_pin = body.get("pin")
    if raw_pin is None or isinstance(raw_pin, bool) or str(raw_pin).strip() == "":
        raise bad_request("'pin' is required")
    # Swagger types the PIN as an integer, so a leading zero may be lost on the way.
    given = str(raw_pin).strip()
    if given.isdigit():
        given = given.zfill(PIN_DIGITS)
    candidates = [p for p in store.pins.get(mobile, []) if p["applicationId"] == app_id]
    pin = candidates[-1] if candidates else None
    if pin is None or pin["state"] in ("used", "superseded"):
        raise unauthenticated("Invalid PIN. Request a new PIN with generatePin.")
    if pin["state"] == "active" and store.now() > pin["expiresAt"]:
        pin["state"] = "expired"
    if pin["state"] == "expired":
        raise unauthenticated("PIN expired. Request a new PIN with generatePin.")
    if pin["state"] == "burnt":
        raise unauthenticated("Too many wrong attempts; this PIN is no longer valid. Request a new PIN.")
    if given != pin["pin"]:
        pin["attemptsLeft"] -= 1
        if pin["attemptsLeft"] <= 0:
            pin["state"] = "burnt"
            raise unauthenticated("Too many wrong attempts; this PIN is no longer valid. Request a new PIN.")
        raise unauthenticated(f"Invalid PIN. {pin['attemptsLeft']} attempt(s) left.")
    pin["state"] = "used"
    token = issue_refresh_token(store, connector, "user", mobile)
    return {
        "refreshToken": token["refreshToken"],
        "grantedScope": ",".join(token["scopes"]),
        "refreshTokenExpiry": token["expiresAtMs"],
    }


def issue_refresh_token(store, connector, kind, mobile, group_id=None, previous=None) -> dict:
    """Issue a refresh token; without `previous` it supersedes earlier tokens of the same grant."""
    now = store.now()
    if previous is None:
        for old in store.refresh_tokens.values():
            same_grant = (old["applicationId"], old["kind"], old["mobileNumber"], old["groupId"]) == (
                connector["applicationId"],
                kind,
                mobile,
                group_id,
            )
            if same_grant and not old["revoked"]:
                revoke(store, old, "superseded")
    store.user(mobile, provisioned=True)
    token = {
        "refreshToken": new_secret("rt-"),
        "applicationId": connector["applicationId"],
        "tenantId": connector["tenantId"],
        "kind": kind,
        "mobileNumber": mobile,
        "groupId": group_id,
        "scopes": permissions.scopes_for(connector["permissions"]),
        "issuedAt": now,
        "expiresAt": now + REFRESH_TOKEN_SECONDS,
        "expiresAtMs": int((now + REFRESH_TOKEN_SECONDS) * 1000),
        "revoked": False,
        "revokedReason": None,
        "previous": previous,
        "used": False,
    }
    store.refresh_tokens[token["refreshToken"]] = token
    return token


def revoke(store, token: dict, reason: str):
    """Revoke a refresh token and the access tokens minted from it (so the next call fails at once)."""
    token["revoked"] = True
    token["revokedReason"] = reason
    for access in store.access_tokens.values():
        if access["refreshToken"] == token["refreshToken"]:
            access["revoked"] = True


def access_token(call):
    store, headers = call.store, call.request.headers
    connector = store.connectors.get(headers.get("applicationId", ""))
    if connector is None or headers.get("applicationSecret") != connector["applicationSecret"]:
        raise unauthenticated(errors.MSG_BAD_CONNECTOR)
    token = store.refresh_tokens.get(headers.get("refreshToken", ""))
    now = store.now()
    if (
        token is None
        or token["applicationId"] != connector["applicationId"]
        or token["revoked"]
        or now >= token["expiresAt"]
    ):
        raise invalid_token()
    if not token["used"]:
        token["used"] = True
        predecessor = store.refresh_tokens.get(token["previous"] or "")
        if predecessor is not None and not predecessor["revoked"]:
            revoke(store, predecessor, "rotated")
    rotated = ""
    if now >= token["issuedAt"] + ROTATION_AFTER_FRACTION * REFRESH_TOKEN_SECONDS:
        successor = issue_refresh_token(
            store, connector, token["kind"], token["mobileNumber"], token["groupId"], previous=token["refreshToken"]
        )
        rotated = successor["refreshToken"]
    access = {
        "accessToken": new_secret("at-"),
        "refreshToken": token["refreshToken"],
        "applicationId": connector["applicationId"],
        "tenantId": connector["tenantId"],
        "kind": token["kind"],
        "mobileNumber": token["mobileNumber"],
        "groupId": token["groupId"],
        "scopes": token["scopes"],
        "expiresAt": now + ACCESS_TOKEN_SECONDS,
        "revoked": False,
    }
    store.access_tokens[access["accessToken"]] = access
    return {
        "accessToken": access["accessToken"],
        "endpointUrl": call.endpoint_url(token["mobileNumber"]),
        "accessTokenExpiry": int(access["expiresAt"] * 1000),
        "refreshToken": rotated,
        "scope": "token.write",
    }


def lookup_access_token(store, token: str | None) -> dict | None:
    access = store.access_tokens.get(token) if token else None
    if access is None or access["revoked"] or store.now() >= access["expiresAt"]:
        return None
    if access["applicationId"] not in store.connectors:
        return None
    return access


def authenticate(call) -> dict:
    """Resolve the `accessToken` header (any case) into the caller, or raise the documented 401."""
    token = call.request.headers.get("accessToken")
    if not token:
        raise invalid_token(errors.MSG_TOKEN_MISSING)
    access = lookup_access_token(call.store, token)
    if access is None:
        raise invalid_token()
    return access


def require_scope(principal: dict, scope: str):
    if scope not in principal["scopes"]:
        raise errors.forbidden(
            "InsufficientScope", f"The connector was not granted the '{scope}' scope needed for this call"
        )
