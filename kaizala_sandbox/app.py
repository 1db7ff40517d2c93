"""The WSGI application: routing for both hosts, call recording, faults, limits, dispatch.

Auth calls live at the root (`/v1/generatePin`, ...). Every other call lives under a
per-user endpoint prefix (`/kms/`, `/kms1/`, ...) that `/v1/accessToken` hands out, so a
client that ignores `endpointUrl` gets 404 at the root. Runs of slashes are merged first,
so `/kms//v1/groups` == `/kms/v1/groups`. `/_sandbox/...` is the control API and page.
"""

import contextlib
import json
import re
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import actions, auth, control, groups, messages, webhooks
from .context import Call
from .errors import SERVER, ApiError, not_found, rate_limited
from .faults import Faults
from .limits import RateLimiter
from .permissions import ALL_PERMISSIONS
from .server import RAW_URI_KEY, SOCKET_KEY
from .state import DEFAULT_SETTINGS, Store

SLASHES = re.compile(r"/{2,}")
ENDPOINT_PREFIX = re.compile(r"^/(kms\d*)(/.*)?$")
G = "/v1/groups/<group_id>"


# Routes whose request body the call log keeps (posts only: no secret travels in them).
RECORDED_BODIES = {"createAction", "sendMessage", "remindAction"}


@dataclass(frozen=True)
class Route:
    handler: Any
    scope: str | None = None  # None: an auth-host call without an access token
    locked: bool = True  # False: the handler takes the store lock itself (it waits on the network)


ROUTES = {
    "generatePin": Route(auth.generate_pin),
    "login": Route(auth.login_with_pin),
    "accessToken": Route(auth.access_token),
    "createGroup": Route(groups.create_group, "groupinfo.write"),
    "listGroups": Route(groups.list_groups, "groupinfo.read"),
    "groupDetails": Route(groups.group_details, "groupinfo.read"),
    "listSubGroups": Route(groups.list_subgroups, "groupinfo.read"),
    "createSubGroup": Route(groups.create_subgroup, "groupinfo.write"),
    "attachSubGroups": Route(groups.attach_subgroups, "groupinfo.update"),
    "detachSubGroup": Route(groups.detach_subgroup, "groupinfo.remove"),
    "listMembers": Route(groups.list_members, "groupmember.read"),
    "addMembers": Route(groups.add_members, "groupmember.write"),
    "removeMember": Route(groups.remove_member, "groupmember.remove"),
    "changeMemberRole": Route(groups.change_member_role, "groupmember.write"),
    "addSubscribers": Route(groups.add_subscribers, "groupmember.write"),
    "listSubscribers": Route(groups.list_subscribers, "groupmember.read"),
    "removeSubscribers": Route(groups.remove_subscribers, "groupmember.remove"),
    "sendMessage": Route(messages.send_message, "textmessage.write"),
    "createAction": Route(actions.create_action, "action.write"),
    "listActions": Route(actions.list_actions, "action.read"),
    "actionDetails": Route(actions.action_details, "action.read"),
    "updateAction": Route(actions.update_properties, "action.update"),
    "respond": Route(actions.respond, "action.write"),
    "remindAction": Route(actions.remind, "action.write"),
    "uploadMedia": Route(actions.upload_media, "media.write"),
    "createWebhook": Route(webhooks.create_webhook, "webhook.write", locked=False),
    "listWebhooks": Route(webhooks.list_webhooks, "webhook.read"),
    "updateWebhook": Route(webhooks.update_webhook, "webhook.update", locked=False),
    "deleteWebhook": Route(webhooks.delete_webhook, "webhook.remove"),
}

AUTH_MAP = Map(
    [
        Rule("/v1/generatePin", methods=["POST"], endpoint="generatePin"),
        Rule("/v1/loginWithPinAndApplicationId", methods=["POST"], endpoint="login"),
        Rule("/v1/accessToken", methods=["GET"], endpoint="accessToken"),
    ],
    strict_slashes=False,
    merge_slashes=False,
)

ENDPOINT_MAP = Map(
    [
        # Some clients fetch access tokens from the endpoint host too.
        Rule("/v1/accessToken", methods=["GET"], endpoint="accessToken"),
        Rule("/v1/groups", methods=["POST"], endpoint="createGroup"),
        Rule("/v1/groups", methods=["GET"], endpoint="listGroups"),
        Rule(G, methods=["GET"], endpoint="groupDetails"),
        Rule(f"{G}/subGroups", methods=["GET"], endpoint="listSubGroups"),
        Rule(f"{G}/subgroups", methods=["GET"], endpoint="listSubGroups"),
        Rule(f"{G}/subGroups", methods=["POST"], endpoint="createSubGroup"),
        Rule(f"{G}/subgroups", methods=["POST"], endpoint="createSubGroup"),
        Rule(f"{G}/subGroups", methods=["PUT"], endpoint="attachSubGroups"),
        Rule(f"{G}/subgroups", methods=["PUT"], endpoint="attachSubGroups"),
        Rule(f"{G}/subGroups/<sub_group_id>", methods=["DELETE"], endpoint="detachSubGroup"),
        Rule(f"{G}/subgroups/<sub_group_id>", methods=["DELETE"], endpoint="detachSubGroup"),
        Rule(f"{G}/members", methods=["GET"], endpoint="listMembers"),
        Rule(f"{G}/members", methods=["PUT"], endpoint="addMembers"),
        Rule(f"{G}/members/<member_id>", methods=["DELETE"], endpoint="removeMember"),
        Rule(f"{G}/members/<member_id>", methods=["PUT"], endpoint="changeMemberRole"),
        Rule(f"{G}/subscribers/add", methods=["PUT"], endpoint="addSubscribers"),
        Rule(f"{G}/subscribers", methods=["POST"], endpoint="listSubscribers"),
        Rule(f"{G}/subscribers/remove", methods=["PUT"], endpoint="removeSubscribers"),
        Rule(f"{G}/messages", methods=["POST"], endpoint="sendMessage"),
        Rule(f"{G}/actions", methods=["POST"], endpoint="createAction"),
        Rule(f"{G}/actions", methods=["GET"], endpoint="listActions"),
        Rule(f"{G}/actions/<action_id>", methods=["GET"], endpoint="actionDetails"),
        Rule(f"{G}/actions/<action_id>", methods=["PUT"], endpoint="updateAction"),
        Rule(f"{G}/actions/<action_id>/responses", methods=["POST"], endpoint="respond"),
        Rule(f"{G}/actions/<action_id>/reminder", methods=["POST"], endpoint="remindAction"),
        Rule("/v1/media", methods=["POST"], endpoint="uploadMedia"),
        Rule("/v1/webhook", methods=["POST"], endpoint="createWebhook"),
        Rule("/v1/webhook", methods=["GET"], endpoint="listWebhooks"),
        Rule("/v1/webhook/<webhook_id>", methods=["PUT"], endpoint="updateWebhook"),
        Rule("/v1/webhook/<webhook_id>", methods=["DELETE"], endpoint="deleteWebhook"),
    ],
    strict_slashes=False,
    merge_slashes=False,
)

MALFORMED_BODIES = {
    "text": ("Service is processing your request", "text/plain"),
    "html": ("<html><head><title>Error</title></head><body><h1>Runtime Error</h1>"
             "<p>An application error occurred on the server.</p></body></html>", "text/html"),
}
BAD_GATEWAY_PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def json_response(status: int, body, headers=None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


def error_response(error: ApiError) -> Response:
    return json_response(error.status, error.body(), error.headers)


class SandboxApp:
    def __init__(self, store: Store, limiter: RateLimiter, deliverer, quiet: bool = True):
        self.store = store
        self.limiter = limiter
        self.faults = Faults()
        self.deliverer = deliverer
        self.quiet = quiet
        self.auth_urls = AUTH_MAP.bind("sandbox")
        self.endpoint_urls = ENDPOINT_MAP.bind("sandbox")

    def __call__(self, environ, start_response):
        request = Request(environ)
        path = SLASHES.sub("/", request.path)
        if path == "/_sandbox" or path.startswith("/_sandbox/"):
            response = control.dispatch(self, request, path)
        else:
            response = self.api_call(request, path, environ)
        return response(environ, start_response)

    # -- the API --------------------------------------------------------------------------
    def api_call(self, request, path, environ) -> Response:
        store = self.store
        started = time.perf_counter()
        match = ENDPOINT_PREFIX.match(path)
        prefix, api_path = (match[1], match[2] or "/") if match else (None, path)
        call = Call(self, request, prefix)
        # The path as it came on the wire: `path` is decoded, so only this one tells `@` from `%40`.
        raw_path = environ.get(RAW_URI_KEY, request.path).partition("?")[0]
        record = {"method": request.method, "path": path, "rawPath": raw_path, "apiPath": api_path, "route": None,
                  "status": None, "arrivedAt": store.now(), "connector": None, "mobileNumber": None, "fault": None}
        try:
            name, args = (self.endpoint_urls if prefix else self.auth_urls).match(api_path, request.method)
        except MethodNotAllowed:
            name, args = None, None
            response = error_response(ApiError(405, "MethodNotAllowed", f"{request.method} is not allowed on "
                                               f"{api_path}", "ValidationException"))
        except HTTPException:
            name, args = None, None
            response = error_response(not_found(f"No API at {path}"))
        rule = None
        if name is not None:
            record["route"] = name
            with store.lock:
                tenant = self._attribute(call, name, record)
                rule = self.faults.take(request.method, (path, api_path))
                if rule is not None:
                    record["fault"] = self._fault_kind(rule)
                throttled = None if rule and rule.status else self.limiter.check(
                    record["connector"], tenant, store.now())
            if rule and rule.delay:
                time.sleep(rule.delay)
            if rule and rule.status:
                response = self._status_fault(call, rule, record)
            elif throttled:
                response = error_response(rate_limited(*throttled))
            else:
                response = self._dispatch(call, ROUTES[name], args)
            if name in RECORDED_BODIES:
                # What the client sent, as text: tests check a card's wire body exactly as it arrived.
                record["body"] = request.get_data(cache=True, as_text=True)[:20_000]
        record["status"] = response.status_code
        record["durationMs"] = round((time.perf_counter() - started) * 1000, 2)
        with store.lock:
            store.record_call(record)
        if rule is not None:
            response = self._after_fault(rule, response, environ)
        return response

    def _attribute(self, call, name, record) -> str | None:
        """Find the connector (and phone) behind a call before running it, for limits and the log."""
        store, headers = self.store, call.request.headers
        app_id = mobile = None
        if name == "accessToken":
            app_id = headers.get("applicationId")
            token = store.refresh_tokens.get(headers.get("refreshToken", ""))
            mobile = token and token["mobileNumber"]
        elif name in ("generatePin", "login"):
            try:
                body = call.body()
                app_id, mobile = body.get("applicationId"), body.get("mobileNumber")
            except ApiError:
                pass
        else:
            access = auth.lookup_access_token(store, headers.get("accessToken"))
            if access is not None:
                app_id, mobile = access["applicationId"], access["mobileNumber"]
        connector = store.connectors.get(app_id) if isinstance(app_id, str) else None
        if connector is None:
            return None
        record["connector"] = app_id
        record["mobileNumber"] = mobile if isinstance(mobile, str) else None
        return connector["tenantId"]

    def _dispatch(self, call, route: Route, args) -> Response:
        store = self.store
        try:
            with store.lock:
                if route.scope is not None:
                    self._authorize(call, route.scope)
                if route.locked:
                    result = route.handler(call, **args)
                    store.dirty.set()
            if not route.locked:
                result = route.handler(call, **args)
            return json_response(200, result)
        except ApiError as error:
            return error_response(error)
        except Exception as exc:  # a sandbox bug must still answer, and show itself
            traceback.print_exc(file=sys.stderr)
            return error_response(ApiError(500, "InternalServerError", f"Sandbox error: {exc!r}", SERVER))

    def _authorize(self, call, scope):
        principal = auth.authenticate(call)
        home = self.store.endpoint_prefix(principal["mobileNumber"])
        if call.prefix != home:
            url = f"{call.base_url}{home}/"
            raise ApiError(308, "EndpointMoved", f"This user's endpoint moved to {url}", "RedirectException",
                           {"Location": url})
        auth.require_scope(principal, scope)
        call.principal = principal

    # -- faults -----------------------------------------------------------------------------
    @staticmethod
    def _fault_kind(rule) -> str:
        if rule.status:
            return f"status:{rule.status}"
        for kind in ("timeout", "drop", "malformed"):
            if getattr(rule, kind):
                return kind
        return "delay"

    def _status_fault(self, call, rule, record) -> Response:
        status = rule.status
        if status == 308:
            # Move the caller to the next endpoint prefix; the old one keeps answering 308 for it.
            mobile = record["mobileNumber"]
            with self.store.lock:
                if mobile:
                    self.store.endpoints[mobile] = self.store.endpoints.get(mobile, 0) + 1
                    self.store.dirty.set()
                url = call.endpoint_url(mobile) if mobile else f"{call.base_url}kms/"
            return error_response(ApiError(308, "EndpointMoved", f"This user's endpoint moved to {url}",
                                           "RedirectException", {"Location": url}))
        if status == 429:
            return error_response(rate_limited(rule.retry_after, "Rate limit exceeded (injected)"))
        if status == 401:
            return error_response(auth.invalid_token())
        if status == 502:
            return Response(BAD_GATEWAY_PAGE, status=502, mimetype="text/html")
        return error_response(ApiError(status, "InjectedFault", f"Injected fault {status}", SERVER))

    def _after_fault(self, rule, response: Response, environ) -> Response:
        if rule.timeout:
            time.sleep(rule.timeout)
        if rule.drop:
            # The state change has happened; close the socket so the client never hears of it.
            sock = environ.get(SOCKET_KEY) or environ.get("gunicorn.socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            return Response(b"", status=200)
        if rule.malformed == "truncated":
            data = response.get_data()
            return Response(data[: max(1, len(data) // 2)], status=200, mimetype="application/json")
        if rule.malformed:
            body, mimetype = MALFORMED_BODIES[rule.malformed]
            return Response(body, status=200, mimetype=mimetype)
        return response

    # -- control helpers ---------------------------------------------------------------------
    def reset(self, limits: dict | None = None):
        """Back to a fresh sandbox: keeps only the demo connector (same id and secret)."""
        store = self.store
        with store.lock:
            demo = store.connectors.get(store.demo_connector_id)
            store.clear()
            store.connectors = {}
            if demo is not None:
                demo["permissions"] = list(ALL_PERMISSIONS)
                store.connectors[demo["applicationId"]] = demo
            store.clock_offset = 0.0
            store.settings = dict(DEFAULT_SETTINGS)
            self.limiter.reset()
            if limits:
                self.limiter.configure(limits)
            self.faults.clear()
            self.deliverer.clear()
            store.dirty.set()
