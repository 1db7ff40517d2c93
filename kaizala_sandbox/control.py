"""The control API under /_sandbox/: what a test, a benchmark or a demo presenter drives.

JSON in and out (strict or lenient JSON bodies); errors use the API's error body. The
sandbox clock is in epoch seconds (floats) throughout this API.

It hands out secrets and changes state, so no web page may drive it (`refusal`): the Host must
be a loopback name (a DNS-rebinding page has its own name there), a request from another
origin (`Origin`, `Sec-Fetch-Site`) is refused, and every call that changes state must be
`Content-Type: application/json`, which a page can only send after a CORS preflight that the
sandbox never answers with CORS headers. The one exception is a browser opening the HTML page
(a top-level GET navigation, e.g. a link from the console): it changes nothing, and the page
opened cannot be read by the page that linked to it.
"""

import base64
import datetime
import fnmatch
import ipaddress
import json
import re
import time

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from . import auth, context, groups, lenient_json, messages, pages, permissions
from .errors import AUTH, VALIDATION, ApiError, bad_request, not_found
from .webhooks import public_view


def _json(body, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _body(request) -> dict:
    raw = request.get_data(as_text=True).strip()
    if not raw:
        return lenient_json.CIDict()
    try:
        value = lenient_json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise bad_request("The request body must be a JSON object")
    return value


def _connector_view(store, connector) -> dict:
    return {**connector, "demo": connector["applicationId"] == store.demo_connector_id,
            "grantedScope": ",".join(permissions.scopes_for(connector["permissions"]))}


# -- connectors and tokens ----------------------------------------------------------------------
def create_connector(app, request):
    body = _body(request)
    try:
        connector = app.store.add_connector(
            context.req_str(body, "name"), body.get("permissions"), str(body.get("tenantId") or "tenant-default")
        )
    except ValueError as exc:
        raise bad_request(str(exc)) from exc
    return _connector_view(app.store, connector)


def list_connectors(app, request):
    return {"connectors": [_connector_view(app.store, c) for c in app.store.connectors.values()]}


def delete_connector(app, request, application_id):
    """Deleting a connector invalidates every token it issued (documented)."""
    if app.store.connectors.pop(application_id, None) is None:
        raise not_found(f"Connector {application_id} not found")
    return {"result": True}


def issue_token(app, request):
    """Tokens the management portal would issue: user, group-level (a group admin) or tenant-admin."""
    store, body = app.store, _body(request)
    connector = store.connectors.get(body.get("applicationId"))
    if connector is None:
        raise not_found("Unknown applicationId")
    kind = str(body.get("kind") or "user").lower()
    if kind not in auth.TOKEN_KINDS:
        raise bad_request(f"'kind' must be one of {', '.join(auth.TOKEN_KINDS)}")
    mobile = context.mobile(body.get("mobileNumber"))
    group_id = None
    if kind == "group":
        group_id = context.req_str(body, "groupId")
        group = store.groups.get(group_id)
        if group is None:
            raise not_found(f"Group {group_id} not found")
        if group["members"].get(mobile) != "Admin":
            raise bad_request(f"{mobile} is not an admin of group {group_id}; only a group admin can add a connector")
    token = auth.issue_refresh_token(store, connector, kind, mobile, group_id)
    return {"refreshToken": token["refreshToken"], "refreshTokenExpiry": token["expiresAtMs"],
            "grantedScope": ",".join(token["scopes"]), "kind": kind, "mobileNumber": mobile, "groupId": group_id,
            "applicationId": connector["applicationId"]}


def _revoke(app, token_value):
    token = app.store.refresh_tokens.get(token_value)
    if token is None:
        raise not_found("Unknown refresh token")
    auth.revoke(app.store, token, "revoked")
    return {"result": True}


def revoke_token(app, request, token):
    return _revoke(app, token)


def revoke_token_post(app, request):
    return _revoke(app, context.req_str(_body(request), "refreshToken"))


def list_tokens(app, request):
    mobile = request.args.get("mobileNumber")
    rows = [
        {k: t[k] for k in ("refreshToken", "kind", "applicationId", "mobileNumber", "groupId", "issuedAt",
                           "expiresAt", "revoked", "revokedReason")}
        for t in app.store.refresh_tokens.values() if mobile in (None, t["mobileNumber"])
    ]
    return {"refreshTokens": rows}


# -- phones: pins, groups, messages -----------------------------------------------------------
def list_pins(app, request):
    mobile = request.args.get("mobileNumber")
    if not mobile:
        raise bad_request("'mobileNumber' query parameter is required")
    return {"pins": app.store.pins.get(mobile, [])}


def _group_view(store, group) -> dict:
    return {**{k: group[k] for k in ("groupId", "groupName", "groupType", "welcomeMessage", "parentGroupId",
                                      "subGroupIds", "tenantId", "isMappedToTenant", "createdBy", "createdAt")},
            "members": [groups.member_view(store, p, r) for p, r in group["members"].items()],
            "subscribers": list(group["subscribers"])}


def list_groups(app, request):
    return {"groups": [_group_view(app.store, g) for g in app.store.groups.values()]}


def create_group(app, request):
    """A phone creates a group in the app (no connector involved)."""
    store, body = app.store, _body(request)
    admin = context.mobile(body.get("admin"), "admin")
    group_type = groups.GROUP_TYPES.get(str(body.get("groupType") or "Group").lower())
    if group_type is None:
        raise bad_request("'groupType' must be Group or ConnectGroup")
    parent = body.get("parentGroupId")
    if parent and parent not in store.groups:
        raise not_found(f"Group {parent} not found")
    store.user(admin, provisioned=True)
    group = groups.new_group(
        store, name=context.req_str(body, "name"), welcome=context.opt_str(body, "welcomeMessage"), creator=admin,
        members=context.mobile_list(body, "members"), group_type=group_type,
        tenant_id=str(body.get("tenantId") or "tenant-default"), parent_id=parent,
    )
    return _group_view(store, group)


def list_messages(app, request):
    group_id = request.args.get("groupId")
    return {"messages": [m for m in app.store.messages if group_id in (None, m["groupId"])]}


def inbound(app, request, group_id):
    """A phone posts in a group: a text (TextMessageCreated), or an image with an optional caption
    (`imageUrl`: AttachmentCreated); `replyToReferenceId` answers a post. Recorded like any message."""
    store, body = app.store, _body(request)
    group = store.groups.get(group_id)
    if group is None:
        raise not_found(f"Group {group_id} not found")
    sender = context.mobile(body.get("from"), "from")
    image = context.opt_str(body, "imageUrl")
    text = (context.opt_str(body, "text") if image else
            context.req_str(body, "text", max_len=messages.MAX_MESSAGE_CHARS))[:messages.MAX_MESSAGE_CHARS]
    if image and not image.startswith(("http://", "https://")):
        raise bad_request("'imageUrl' must be an http(s) URL")
    if sender not in group["members"] and sender not in group["subscribers"]:
        raise bad_request(f"{sender} is neither a member nor a subscriber of {group_id}")
    reply_to = messages.reply_target(store, group, body, "group")
    store.user(sender, provisioned=True)
    if image:
        media = [{"mediaUrl": image, "mediaFileName": image.rsplit("/", 1)[-1] or "image"}]
        entry = messages.record(store, group=group, sender=sender, text=text, via="phone", kind="image",
                                reply_to=reply_to, media=media)
        app.deliverer.enqueue(group=group, event_type="AttachmentCreated", from_user=sender, data={
            "media": media, "actionType": "Image", "caption": text, "referenceId": entry["referenceId"]})
    else:
        entry = messages.record(store, group=group, sender=sender, text=text, via="phone", reply_to=reply_to)
        app.deliverer.enqueue(group=group, event_type="TextMessageCreated", from_user=sender,
                              data=messages.event_data(entry))
    return entry


def answer(app, request, group_id, action_id):
    """A phone answers an action of a group (`answer`: a poll's option or a survey's answer; for a job,
    "done"), exactly as the API's response call does: ActionResponse and the type's own event fire."""
    from .actions import respond

    body = _body(request)
    sender = context.mobile(body.get("from"), "from")
    action = app.store.actions.get(action_id)
    if action is None or action["groupId"] != group_id:
        raise not_found(f"Action {action_id} not found in group {group_id}")
    call = context.Call(app, request, None)
    call.principal = {"kind": "user", "mobileNumber": sender}
    if action["actionType"] == "Job":
        text = context.req_str(body, "answer", max_len=1000)
        call._body = {"actionBody": {"isCompleted": text.strip().lower() in ("done", "yes", "true")}}
    else:
        call._body = {"actionBody": {"answers": _answers(action, body)}}
    return respond(call, group_id, action_id)


def _answers(action, body) -> list:
    """One answer (`answer`), or a survey's (`answers`, or the page's fields `answer_0`, `answer_1`, …), typed as
    §12.5 says: a list for MultiOption, a number for Numeric and Date (epoch ms), {lt, lg, n} for Location."""
    if "answers" in body:
        answers = body["answers"]
        if not isinstance(answers, list) or not answers:
            raise bad_request("'answers' must be a non-empty list")
        return answers
    if not any(k.startswith("answer_") for k in body):
        return [context.req_str(body, "answer", max_len=1000)]
    questions = action["fields"].get("questions") or []
    answers = []
    for index, question in enumerate(questions):
        raw = body.get(f"answer_{index}", "")
        answers.append(_typed(question["type"], raw))
    return answers


def _typed(qtype: str, raw):
    if qtype == "MultiOption":
        return [str(v) for v in raw] if isinstance(raw, list) else ([str(raw)] if raw != "" else [])
    raw = raw[0] if isinstance(raw, list) and raw else raw
    text = str(raw).strip()
    try:
        if qtype == "Numeric":
            return float(text) if text else None
        if qtype in ("Date", "DateTime"):
            if not text:
                return None
            when = datetime.datetime.fromisoformat(text)
            when = when if when.tzinfo else when.replace(tzinfo=datetime.UTC)
            return int(when.timestamp() * 1000)
        if qtype == "Location":
            if not text:
                return None
            latitude, _, longitude = text.partition(",")
            return {"lt": float(latitude), "lg": float(longitude), "n": ""}
    except ValueError as exc:
        raise bad_request(f"{text!r} is not a {qtype} answer") from exc
    return text


def join(app, request, group_id):
    """A person joins a group from their phone (by its link, say): a member, and MemberAdded fires."""
    store, body = app.store, _body(request)
    group = store.groups.get(group_id)
    if group is None:
        raise not_found(f"Group {group_id} not found")
    phone = context.mobile(body.get("mobileNumber"))
    user = store.user(phone, provisioned=True)
    name = context.opt_str(body, "name")
    if name:
        user["name"] = name[:100]
    if phone in group["members"]:
        raise bad_request(f"{phone} is already a member of {group_id}")
    group["members"][phone] = "Member"
    app.deliverer.enqueue(group=group, event_type="MemberAdded", from_user=phone,
                          data=groups.member_event(store, phone, "Member"))
    return {"result": True}


def media(app, request, media_id):
    item = app.store.media.get(media_id)
    if item is None:
        raise not_found(f"Media {media_id} not found")
    return {k: v for k, v in item.items() if k != "data"}


def media_file(app, request, media_id):
    """The uploaded file's bytes, with the type it was uploaded as (shown on the phone page)."""
    item = app.store.media.get(media_id)
    if item is None:
        raise not_found(f"Media {media_id} not found")
    response = Response(base64.b64decode(item.get("data", "")), mimetype=item["contentType"] or
                        "application/octet-stream")
    response.headers["Content-Disposition"] = "inline" if item["contentType"] in ("image/jpeg", "image/png") \
        else "attachment"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# -- faults, calls, limits, clock, settings, reset ----------------------------------------------
def add_fault(app, request):
    try:
        rule = app.faults.add(_body(request), app.store.settings["timeoutFaultSeconds"])
    except (ValueError, TypeError) as exc:
        raise bad_request(str(exc)) from exc
    return rule.view()


def list_faults(app, request):
    return {"faults": [r.view() for r in app.faults.rules]}


def clear_faults(app, request):
    app.faults.clear()
    return {"result": True}


def list_calls(app, request):
    """Filters: path (glob on path or apiPath), method, route, connector, status, since (clock s), afterId."""
    args = request.args
    pattern = args.get("path")
    since = float(args.get("since", 0))
    after = int(args.get("afterId", 0))
    rows = []
    for call in app.store.calls:
        if call["id"] <= after or call["arrivedAt"] < since:
            continue
        if pattern and not (fnmatch.fnmatchcase(call["path"], pattern)
                            or fnmatch.fnmatchcase(call["apiPath"], pattern)):
            continue
        if any(args.get(k) not in (None, str(call[k])) for k in ("method", "route", "connector", "status")):
            continue
        rows.append(call)
    counts = {}
    for call in rows:
        counts[call["route"] or "unrouted"] = counts.get(call["route"] or "unrouted", 0) + 1
    return {"count": len(rows), "counts": counts, "calls": rows}


def get_limits(app, request):
    return dict(app.limiter.settings)


def set_limits(app, request):
    try:
        return app.limiter.configure(_body(request))
    except (ValueError, TypeError) as exc:
        raise bad_request(str(exc)) from exc


def get_clock(app, request):
    return {"now": app.store.now(), "offsetSeconds": app.store.clock_offset, "realTime": time.time()}


def advance_clock(app, request):
    body = _body(request)
    try:
        seconds = float(body.get("advanceSeconds"))
    except (TypeError, ValueError) as exc:
        raise bad_request("'advanceSeconds' must be a number") from exc
    if seconds < 0:
        raise bad_request("The clock only moves forward")
    app.store.clock_offset += seconds
    app.deliverer.wake()
    return get_clock(app, request)


def get_settings(app, request):
    return dict(app.store.settings)


def set_settings(app, request):
    settings = app.store.settings
    for key, value in _body(request).items():
        if key not in settings:
            raise bad_request(f"Unknown setting {key!r}; known: {', '.join(settings)}")
        try:
            settings[key] = type(settings[key])(value)
        except (TypeError, ValueError) as exc:
            raise bad_request(f"Bad value for {key}") from exc
    app.deliverer.wake()
    return dict(settings)


def list_webhooks(app, request):
    return {"webhooks": [{**public_view(w), "consecutiveFailures": w["consecutiveFailures"],
                          "applicationId": w["applicationId"]} for w in app.store.webhooks.values()]}


def list_deliveries(app, request):
    webhook_id = request.args.get("webhookId")
    return {"deliveries": [d for d in app.store.deliveries if webhook_id in (None, d["webhookId"])]}


def reset(app, request):
    limits = _body(request).get("limits")
    if limits is not None and not isinstance(limits, dict):
        raise bad_request("'limits' must be an object")
    try:
        app.reset(limits)
    except (ValueError, TypeError) as exc:
        raise bad_request(str(exc)) from exc
    return {"result": True, "limits": dict(app.limiter.settings)}


def page(app, request):
    html = pages.render(app.store, request.args.get("mobileNumber"))
    return Response(html, mimetype="text/html")


HANDLERS = {
    "page": page,
    "createConnector": create_connector, "listConnectors": list_connectors, "deleteConnector": delete_connector,
    "issueToken": issue_token, "revokeToken": revoke_token, "revokeTokenPost": revoke_token_post,
    "listTokens": list_tokens, "pins": list_pins, "groups": list_groups, "createGroup": create_group,
    "messages": list_messages, "inbound": inbound, "join": join, "answer": answer, "media": media,
    "mediaFile": media_file,
    "addFault": add_fault,
    "listFaults": list_faults, "clearFaults": clear_faults, "calls": list_calls, "getLimits": get_limits,
    "setLimits": set_limits, "getClock": get_clock, "advanceClock": advance_clock, "getSettings": get_settings,
    "setSettings": set_settings, "webhooks": list_webhooks, "deliveries": list_deliveries, "reset": reset,
}

S = "/_sandbox"
CONTROL_MAP = Map(
    [
        Rule(f"{S}/", methods=["GET"], endpoint="page"),
        Rule(f"{S}/connectors", methods=["POST"], endpoint="createConnector"),
        Rule(f"{S}/connectors", methods=["GET"], endpoint="listConnectors"),
        Rule(f"{S}/connectors/<application_id>", methods=["DELETE"], endpoint="deleteConnector"),
        Rule(f"{S}/tokens", methods=["POST"], endpoint="issueToken"),
        Rule(f"{S}/tokens", methods=["GET"], endpoint="listTokens"),
        Rule(f"{S}/tokens/revoke", methods=["POST"], endpoint="revokeTokenPost"),
        Rule(f"{S}/tokens/<token>", methods=["DELETE"], endpoint="revokeToken"),
        Rule(f"{S}/pins", methods=["GET"], endpoint="pins"),
        Rule(f"{S}/groups", methods=["GET"], endpoint="groups"),
        Rule(f"{S}/groups", methods=["POST"], endpoint="createGroup"),
        Rule(f"{S}/groups/<group_id>/inbound", methods=["POST"], endpoint="inbound"),
        Rule(f"{S}/groups/<group_id>/join", methods=["POST"], endpoint="join"),
        Rule(f"{S}/groups/<group_id>/actions/<action_id>/answer", methods=["POST"], endpoint="answer"),
        Rule(f"{S}/messages", methods=["GET"], endpoint="messages"),
        Rule(f"{S}/media/<media_id>", methods=["GET"], endpoint="media"),
        Rule(f"{S}/media/<media_id>/file", methods=["GET"], endpoint="mediaFile"),
        Rule(f"{S}/faults", methods=["POST"], endpoint="addFault"),
        Rule(f"{S}/faults", methods=["GET"], endpoint="listFaults"),
        Rule(f"{S}/faults", methods=["DELETE"], endpoint="clearFaults"),
        Rule(f"{S}/calls", methods=["GET"], endpoint="calls"),
        Rule(f"{S}/limits", methods=["GET"], endpoint="getLimits"),
        Rule(f"{S}/limits", methods=["POST"], endpoint="setLimits"),
        Rule(f"{S}/clock", methods=["GET"], endpoint="getClock"),
        Rule(f"{S}/clock", methods=["POST"], endpoint="advanceClock"),
        Rule(f"{S}/settings", methods=["GET"], endpoint="getSettings"),
        Rule(f"{S}/settings", methods=["POST"], endpoint="setSettings"),
        Rule(f"{S}/webhooks", methods=["GET"], endpoint="webhooks"),
        Rule(f"{S}/deliveries", methods=["GET"], endpoint="deliveries"),
        Rule(f"{S}/reset", methods=["POST"], endpoint="reset"),
    ],
    strict_slashes=False,
    merge_slashes=False,
)
CONTROL_URLS = CONTROL_MAP.bind("sandbox")


HOST_HEADER = re.compile(r"^(?:\[(?P<ip6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9.-]+))(?::\d{1,5})?$")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OTHER_SITES = frozenset({"cross-site", "same-site"})  # same-site: another port of localhost is another origin


def is_loopback(name: str) -> bool:
    """`localhost`, `*.localhost` (browsers resolve these themselves) or a loopback address."""
    name = name.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def refusal(request, path) -> Response | None:
    """The answer to a control request a web page could have sent, or None when it may run."""
    headers = request.headers
    host = headers.get("Host", "")
    match = HOST_HEADER.match(host)
    if match is None or not is_loopback(match["ip6"] or match["name"]):
        return _refused(403, "LoopbackHostRequired", "The control API answers only to a loopback Host "
                        "(localhost, 127.0.0.1 or [::1])")
    navigation = (path in ("/_sandbox", "/_sandbox/") and request.method in ("GET", "HEAD")
                  and headers.get("Sec-Fetch-Mode") == "navigate")
    origin = headers.get("Origin")
    if not navigation and (headers.get("Sec-Fetch-Site", "").lower() in OTHER_SITES
                           or (origin is not None and origin.lower() != f"http://{host}".lower())):
        return _refused(403, "CrossOriginRequest", "The control API does not take requests from other origins")
    if request.method not in READ_METHODS and request.mimetype != "application/json":
        return _refused(415, "JsonRequired", "Control calls that change state need Content-Type: application/json")
    return None


def _refused(status: int, error_code: str, message: str) -> Response:
    return _json(ApiError(status, error_code, message, AUTH if status == 403 else VALIDATION).body(), status)


def dispatch(app, request, path) -> Response:
    refused = refusal(request, path)
    if refused is not None:
        return refused
    try:
        name, args = CONTROL_URLS.match("/_sandbox/" if path == "/_sandbox" else path, request.method)
    except MethodNotAllowed:
        return _json(ApiError(405, "MethodNotAllowed", f"{request.method} not allowed on {path}",
                              "ValidationException").body(), 405)
    except HTTPException:
        return _json(not_found(f"No control API at {path}").body(), 404)
    try:
        with app.store.lock:
            result = HANDLERS[name](app, request, **args)
            if request.method != "GET":
                app.store.dirty.set()
    except ApiError as error:
        return _json(error.body(), error.status)
    return result if isinstance(result, Response) else _json(result)
