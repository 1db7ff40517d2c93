"""Text messages to a group, and what the phones see (the feed the control API and page show)."""

import uuid

from . import context
from .errors import bad_request, forbidden
from .groups import access, caller_role

MAX_MESSAGE_CHARS = 4000


def record(store, *, group, sender, text, via, kind="text", recipients="group", reference_id=None,
           action_id=None) -> dict:
    entry = {
        "referenceId": reference_id or str(uuid.uuid4()),
        "groupId": group["groupId"],
        "groupName": group["groupName"],
        "sender": sender,
        "text": text,
        "kind": kind,
        "via": via,
        "recipients": recipients,
        "actionId": action_id,
        "arrivedAt": store.now(),
    }
    store.messages.append(entry)
    return entry


def subscriber_targets(call, group, body) -> tuple[object, list]:
    """Who a message or action goes to: 'group', 'allSubscribers' or a list; plus failedResult."""
    to_all = context.opt_bool(body.get("sendToAllSubscribers"), "sendToAllSubscribers")
    chosen = body.get("subscribers")
    if not to_all and not chosen:
        return "group", []
    if group["groupType"] != "ConnectGroup":
        raise bad_request("sendToAllSubscribers/subscribers need a public (ConnectGroup) group")
    if caller_role(call.store, call.principal, group) != "Admin":
        raise forbidden("AccessDenied", "Only an admin of the public group can message its subscribers")
    if to_all:
        return "allSubscribers", []
    if not isinstance(chosen, list):
        raise bad_request("'subscribers' must be a list of phone numbers")
    delivered, failed = [], []
    for number in chosen:
        if number in group["subscribers"]:
            delivered.append(number)
        else:
            failed.append({"subscriber": str(number), "subscriberId": "", "errorReason": "Not a subscriber",
                           "errorCode": "NotASubscriber"})
    return delivered, failed


def send_message(call, group_id):
    group = access(call, group_id)
    body = call.body()
    text = context.req_str(body, "message", max_len=MAX_MESSAGE_CHARS)
    recipients, failed = subscriber_targets(call, group, body)
    sender = call.principal["mobileNumber"]
    entry = record(call.store, group=group, sender=sender, text=text, via="api", recipients=recipients)
    call.emit(group=group, event_type="TextMessageCreated", from_user=sender, data={"text": text})
    response = {"referenceId": entry["referenceId"]}
    if failed:
        response["failedResult"] = failed
    return response
