"""Text messages to a group, and what the phones see (the feed the control API and page show)."""

import uuid

from . import context
from .errors import bad_request, forbidden
from .groups import access, caller_role

MAX_MESSAGE_CHARS = 4000


def record(store, *, group, sender, text, via, kind="text", recipients="group", reference_id=None,
           action_id=None, reply_to=None, media=None) -> dict:
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
        "replyToReferenceId": reply_to,
        "media": media or [],
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


def reply_target(store, group, body, recipients) -> str | None:
    """`replyToReferenceId` (§19): a post of this group; a reply to a post sent to chosen subscribers of a
    public group must carry the same subscribers."""
    reply_to = context.opt_str(body, "replyToReferenceId") or None
    if reply_to is None:
        return None
    original = next((m for m in store.messages if m["referenceId"] == reply_to and m["groupId"] == group["groupId"]),
                    None)
    if original is None:
        raise bad_request(f"'replyToReferenceId' {reply_to!r} is not a message of this group")
    chosen = original["recipients"]
    if isinstance(chosen, list) and (not isinstance(recipients, list) or sorted(recipients) != sorted(chosen)):
        raise bad_request("A reply to a post sent to chosen subscribers must carry the same 'subscribers'")
    return reply_to


def event_data(entry) -> dict:
    """TextMessageCreated's data: the text, and (an addition to the documented payload) the post's ids,
    so that a receiver can tell its own sends and answer a post."""
    data = {"text": entry["text"], "referenceId": entry["referenceId"]}
    if entry.get("replyToReferenceId"):
        data["replyToReferenceId"] = entry["replyToReferenceId"]
    return data


def send_message(call, group_id):
    group = access(call, group_id)
    body = call.body()
    text = context.req_str(body, "message", max_len=MAX_MESSAGE_CHARS)
    recipients, failed = subscriber_targets(call, group, body)
    reply_to = reply_target(call.store, group, body, recipients)
    sender = call.principal["mobileNumber"]
    entry = record(call.store, group=group, sender=sender, text=text, via="api", recipients=recipients,
                   reply_to=reply_to)
    call.emit(group=group, event_type="TextMessageCreated", from_user=sender, data=event_data(entry))
    response = {"referenceId": entry["referenceId"]}
    if failed:
        response["failedResult"] = failed
    return response
