"""Actions (cards) posted to a group, their responses, and media upload.

Bodies are read case-insensitively and stored in canonical field names, so the lists and
details answer in the documented camelCase whatever casing the client sent.
"""

import base64
import datetime
import json
import uuid

from . import context
from .errors import ApiError, bad_request, not_found
from .groups import access
from .messages import record, subscriber_targets

MEDIA_TYPES = {"Image", "Album", "Audio", "Document", "Video"}
QUESTION_TYPES = {"SingleOption", "MultiOption", "Text", "Image", "Numeric", "Date", "DateTime", "Location",
                  "AttachmentList"}
# Webhook events an action fires, besides the generic ActionCreated / ActionResponse.
CREATED_EVENTS = {"Survey": "SurveyCreated", "Job": "JobCreated", "Poll": "PollCreated",
                  "LetsMeet": "LetsMeetCreated"}
RESPONSE_EVENTS = {"Survey": "SurveyResponse", "Job": "JobResponse", "Poll": "PollResponse",
                   "LetsMeet": "LetsMeetResponse"}
CANONICAL_TYPES = {t.lower(): t for t in
                   (*MEDIA_TYPES, "Announcement", "Job", "Poll", "Survey", "LetsMeet")}
MEDIA_ACTION_CODES = {"image": 3, "audio": 5, "video": 10}


def iso(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat().replace("+00:00", "Z")


def _hours(body, name, default, now) -> float:
    return now + 3600 * context.opt_int(body.get(name), name, default)


def _parse_body(action_type: str, body, now: float) -> dict:
    """Validate the type-specific actionBody and return it with canonical keys."""
    if action_type in MEDIA_TYPES:
        return {"mediaResource": context.req_str(body, "mediaResource"), "caption": context.opt_str(body, "caption")}
    if action_type == "Announcement":
        resources = body.get("mediaResources") or []
        if not isinstance(resources, list):
            raise bad_request("'MediaResources' must be a list")
        return {"title": context.opt_str(body, "title"), "message": context.req_str(body, "message"),
                "mediaResources": resources}
    if action_type == "Job":
        assigned = context.mobile_list(body, "assignedTo", required=True)
        if not assigned:
            raise bad_request("'assignedTo' must list at least one phone number")
        return {"title": context.req_str(body, "title"), "assignedTo": assigned,
                "dueAt": _hours(body, "dueDate", 24, now)}
    if action_type == "Poll":
        choices = body.get("choices")
        if not isinstance(choices, list) or len(choices) < 2:
            raise bad_request("'choices' must be a list of at least two {title} objects")
        return {"question": context.req_str(body, "question"),
                "choices": [{"title": context.req_str(c if isinstance(c, dict) else {}, "title")} for c in choices],
                "isSenderOnly": context.opt_bool(body.get("isSenderOnly"), "isSenderOnly"),
                "dueAt": _hours(body, "expiryInHours", 720, now)}
    if action_type == "Survey":
        questions = body.get("questions")
        if not isinstance(questions, list) or not questions:
            raise bad_request("'questions' must be a non-empty list")
        return {"title": context.req_str(body, "title"), "questions": [_question(q) for q in questions],
                "isAnonymous": context.opt_bool(body.get("isAnonymous"), "isAnonymous"),
                "isSenderOnly": context.opt_bool(body.get("isSenderOnly"), "isSenderOnly"),
                "acceptMultipleResponses": context.opt_bool(body.get("acceptMultipleResponses"),
                                                            "acceptMultipleResponses"),
                "dueAt": _hours(body, "dueDate", 24, now)}
    # LetsMeet
    return {"title": context.req_str(body, "title"), "startingTime": context.req_str(body, "startingTime"),
            "duration": context.opt_int(body.get("duration", body.get("durationInMins")), "duration", 30),
            "agenda": context.opt_str(body, "agenda"), "place": body.get("place"),
            "isSenderOnly": context.opt_bool(body.get("isSenderOnly"), "isSenderOnly")}


def _question(raw) -> dict:
    if not isinstance(raw, dict):
        raise bad_request("each question must be an object")
    qtype = {t.lower(): t for t in QUESTION_TYPES}.get(str(raw.get("type", "")).lower())
    if qtype is None:
        raise bad_request(f"question 'type' must be one of {', '.join(sorted(QUESTION_TYPES))}")
    options = raw.get("options") or []
    if qtype in ("SingleOption", "MultiOption") and (not isinstance(options, list) or not options):
        raise bad_request(f"a {qtype} question needs 'options'")
    return {"title": context.req_str(raw, "title"), "type": qtype,
            "options": [{"title": str(o.get("title", "")) if isinstance(o, dict) else str(o)} for o in options]}


def _summary_text(action) -> str:
    fields = action["fields"]
    label = action["actionType"] if not action["packageId"] else f"Custom card {action['packageId']}"
    text = fields.get("title") or fields.get("question") or fields.get("caption") or ""
    if action["actionType"] == "Announcement":
        text = f"{fields['title']}: {fields['message']}" if fields["title"] else fields["message"]
    return f"[{label}] {text}".rstrip()


def create_action(call, group_id):
    store = call.store
    group = access(call, group_id)
    body = call.body()
    package_id = body.get("id")
    raw_type = body.get("actionType")
    if not raw_type and not package_id:
        raise bad_request("Either 'actionType' or 'id' (a custom action package) is required")
    action_type = "Custom" if package_id and not raw_type else CANONICAL_TYPES.get(str(raw_type).lower())
    if action_type is None:
        raise bad_request(f"Unsupported actionType {raw_type!r}")
    action_body = body.get("actionBody")
    if not isinstance(action_body, dict):
        raise bad_request("'actionBody' must be an object")
    now = store.now()
    if action_type == "Custom":
        fields = {"title": context.opt_str(action_body, "title"), "properties": action_body.get("properties") or []}
    else:
        fields = _parse_body(action_type, action_body, now)
    recipients, failed = subscriber_targets(call, group, body)
    sender = call.principal["mobileNumber"]
    action = {
        "actionId": str(uuid.uuid4()),
        "referenceId": str(uuid.uuid4()),
        "groupId": group["groupId"],
        "actionType": action_type,
        "packageId": str(package_id) if package_id else None,
        "fields": fields,
        "sender": sender,
        "sentAt": now,
        "responses": [],
    }
    store.actions[action["actionId"]] = action
    record(store, group=group, sender=sender, text=_summary_text(action), via="api", kind="action",
           recipients=recipients, reference_id=action["referenceId"], action_id=action["actionId"])
    _emit_created(call, group, action)
    response = {"referenceId": action["referenceId"]}
    if action_type not in MEDIA_TYPES:
        response["actionId"] = action["actionId"]
    if failed:
        response["failedResult"] = failed
    return response


def _emit_created(call, group, action):
    fields, sender = action["fields"], action["sender"]
    if action["actionType"] in MEDIA_TYPES:
        call.emit(group=group, event_type="AttachmentCreated", from_user=sender, action=action,
                  data={"media": [{"mediaUrl": "", "mediaFileName": ""}], "actionType": action["actionType"],
                        "caption": fields["caption"]})
        return
    if action["actionType"] == "Announcement":
        call.emit(group=group, event_type="Announcement", from_user=sender, action=action,
                  data={"title": fields["title"], "text": fields["message"], "media": fields["mediaResources"]})
        return
    data = {"actionId": action["actionId"], "groupId": group["groupId"],
            "title": fields.get("title") or fields.get("question", "")}
    if action["actionType"] == "Job":
        data.update({"dueDate": iso(fields["dueAt"]), "assignedTo": fields["assignedTo"]})
    if action["packageId"]:
        data["actionPackageId"] = action["packageId"]
    call.emit(group=group, event_type="ActionCreated", from_user=sender, action=action, data=data)
    specific = CREATED_EVENTS.get(action["actionType"])
    if specific:
        call.emit(group=group, event_type=specific, from_user=sender, action=action, data=data)


def _list_body(action) -> dict:
    fields, kind = action["fields"], action["actionType"]
    responses = action["responses"]
    if kind in MEDIA_TYPES:
        return {"imageUrl": fields["mediaResource"], "caption": fields["caption"]}
    base = {"actionId": action["actionId"]}
    if kind == "Job":
        done = any(r["body"].get("isCompleted") for r in responses)
        return {**base, "title": fields["title"], "assigneeCount": len(fields["assignedTo"]),
                "responseCount": len(responses), "isCompleted": done}
    if kind == "Poll":
        return {**base, "question": fields["question"], "isSenderOnly": fields["isSenderOnly"],
                "expiryDate": iso(fields["dueAt"]), "choices": fields["choices"]}
    if kind == "Survey":
        return {**base, "title": fields["title"], "responseCount": len(responses),
                "expiryDate": iso(fields["dueAt"])}
    if kind == "LetsMeet":
        return {**base, **{k: fields[k] for k in ("title", "startingTime", "agenda", "duration", "isSenderOnly",
                                                  "place")}}
    if kind == "Announcement":
        return {**base, "title": fields["title"], "message": fields["message"]}
    return {**base, "title": fields["title"], "packageId": action["packageId"], "properties": fields["properties"],
            "responseCount": len(responses)}


def _row(action) -> dict:
    return {"referenceId": action["referenceId"], "actionId": action["actionId"],
            "actionType": action["packageId"] or action["actionType"], "sender": action["sender"],
            "sentAt": iso(action["sentAt"]), "creationTime": int(action["sentAt"] * 1000),
            "actionBody": _list_body(action)}


def list_actions(call, group_id):
    group = access(call, group_id)
    args = call.request.args
    wanted = args.get("actionType")
    if not wanted:
        raise bad_request("'actionType' query parameter is required")
    from_date = context.opt_int(args.get("fromDate"), "fromDate", 0)
    if from_date > 10**11:  # epoch milliseconds rather than seconds
        from_date /= 1000
    count = max(1, context.opt_int(args.get("count"), "count", 30))
    matching = [
        a for a in call.store.actions.values()
        if a["groupId"] == group["groupId"] and a["sentAt"] >= from_date
        and wanted.lower() in (a["actionType"].lower(), (a["packageId"] or "").lower())
    ]
    matching.sort(key=lambda a: a["sentAt"], reverse=True)
    return {"actions": [_row(a) for a in matching[:count]], "hasMore": len(matching) > count}


def _action(call, group_id, action_id) -> tuple[dict, dict]:
    group = access(call, group_id)
    action = call.store.actions.get(action_id)
    if action is None or action["groupId"] != group["groupId"]:
        raise not_found(f"Action {action_id} not found in group {group_id}")
    return group, action


def _response_row(response) -> dict:
    return {"responseId": response["responseId"], "responder": response["responder"],
            "respondedAt": iso(response["at"]), "isUpdateResponse": response["updates"] > 0, **response["body"]}


def action_details(call, group_id, action_id):
    _, action = _action(call, group_id, action_id)
    details = _list_body(action)
    if action["actionType"] == "Job":
        details.update({"dueDate": iso(action["fields"]["dueAt"]),
                        "status": "Completed" if details["isCompleted"] else "Open"})
    if action["actionType"] == "Survey":
        details["questions"] = action["fields"]["questions"]
    if context.opt_bool(call.request.args.get("getDetails"), "getDetails"):
        details["responses"] = [_response_row(r) for r in action["responses"]]
    row = _row(action)
    return {"actionId": action["actionId"], "referenceId": action["referenceId"], "actionType": row["actionType"],
            "sender": row["sender"], "sentAt": row["sentAt"], "actionDetails": details}


def respond(call, group_id, action_id):
    group, action = _action(call, group_id, action_id)
    body = call.body()
    if action["actionType"] in MEDIA_TYPES or action["actionType"] == "Announcement":
        raise bad_request(f"A {action['actionType']} takes no responses")
    payload = body.get("actionBody")
    if not isinstance(payload, dict):
        raise bad_request("'actionBody' must be an object")
    if action["actionType"] == "Job":
        answer = {"isCompleted": context.opt_bool(payload.get("isCompleted"), "isCompleted")}
    else:
        answers = payload.get("answers")
        if not isinstance(answers, list) or not answers:
            raise bad_request("'answers' must be a non-empty list")
        questions = action["fields"].get("questions")
        if questions is not None and len(answers) > len(questions):
            raise bad_request(f"{len(answers)} answers for {len(questions)} questions")
        answer = {"answers": answers, "responseName": context.opt_str(payload, "responseName")}
    responder = call.principal["mobileNumber"]
    response_id = body.get("responseId")
    if response_id:
        response = next((r for r in action["responses"] if r["responseId"] == response_id), None)
        if response is None:
            raise not_found(f"Response {response_id} not found")
        response.update(body=answer, at=call.store.now(), updates=response["updates"] + 1)
    else:
        response = {"responseId": str(uuid.uuid4()), "responder": responder, "body": answer,
                    "at": call.store.now(), "updates": 0}
        action["responses"].append(response)
    name = _member_name(call.store, responder)
    data = {"actionId": action["actionId"], "groupId": group["groupId"], "responseId": response["responseId"]}
    if "answers" in answer:
        # §14.7's documented shape, and only it: the responder beside the answers, each with its question.
        data.update({"isUpdateResponse": response["updates"] > 0, "responder": responder, "responderName": name,
                     "responderProfilePic": "", "isAnonymous": action["fields"].get("isAnonymous", False),
                     "responseDetails": {"responseWithQuestions": _with_questions(action, answer["answers"])}})
    else:
        # JobResponse (§14.7): the assignee inside the response, no responder beside it.
        data["responseDetails"] = {"response": {"assignee": responder, "assigneeName": name,
                                                "assigneeProfilePic": "", **answer}}
    call.emit(group=group, event_type="ActionResponse", from_user=responder, action=action, data=data)
    specific = RESPONSE_EVENTS.get(action["actionType"])
    if specific:
        call.emit(group=group, event_type=specific, from_user=responder, action=action, data=data)
    return {"responseId": response["responseId"]}


def _member_name(store, phone: str) -> str:
    return store.user(phone).get("name") or phone


def _with_questions(action, answers) -> list:
    fields = action["fields"]
    if action["actionType"] == "Poll":
        questions = [{"title": fields["question"], "type": "SingleOption", "options": fields["choices"]}]
    else:
        questions = fields.get("questions") or []
    return [{"title": q["title"], "type": q["type"], "options": q.get("options") or [], "answer": answer}
            for q, answer in zip(questions, answers, strict=False)]


def update_properties(call, group_id, action_id):
    _, action = _action(call, group_id, action_id)
    updates = call.body().get("updateProperties")
    if not isinstance(updates, list) or not all(isinstance(u, dict) and u.get("name") for u in updates):
        raise bad_request("'updateProperties' must be a list of {name, type, value}")
    properties = {p["name"]: p for p in action["fields"].setdefault("properties", [])}
    for update in updates:
        properties[update["name"]] = {"name": update["name"], "type": update.get("type"), "value": update.get("value")}
    action["fields"]["properties"] = list(properties.values())
    return {"result": True}


# -- media --------------------------------------------------------------------------------
def _media_code(mime: str) -> int | None:
    """The `ActionType` code inside a mediaResource, or None when the part's type is not proper."""
    major, _, minor = mime.partition("/")
    if not minor or mime == "application/octet-stream":
        return None
    if major in MEDIA_ACTION_CODES:
        return MEDIA_ACTION_CODES[major]
    return 6 if major in ("application", "text") else None


def upload_media(call):
    request = call.request
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "UnsupportedMediaType", "Upload media as multipart/form-data with one file part",
                       "ValidationException")
    if not request.files:
        raise bad_request("The multipart body has no file part")
    upload = next(iter(request.files.values()))  # the part name varies (files / FileName): take any
    code = _media_code((upload.mimetype or "").lower())
    if code is None:
        raise ApiError(415, "UnsupportedMediaType",
                       f"The file part needs its real content type (got {upload.mimetype or 'none'})",
                       "ValidationException")
    data = upload.read()
    size = len(data)
    media_id = str(uuid.uuid4())
    name = upload.filename or "file"
    # The bytes too (base64, so the state file stays JSON): the phone page links to the file itself.
    call.store.media[media_id] = {"id": media_id, "name": name, "size": size, "contentType": upload.mimetype,
                                  "uploadedAt": call.store.now(), "data": base64.b64encode(data).decode()}
    resource = {"ActionType": code, "Files": [{"Id": media_id, "Name": name, "Size": size,
                                               "Url": f"{call.base_url}_sandbox/media/{media_id}"}]}
    encoded = base64.b64encode(json.dumps(resource).encode()).decode()
    return {"mediaResource": encoded, "mediaId": media_id}


def remind(call, group_id, action_id):
    """§19: a reminder of an action, to the group or (public groups) to chosen subscribers. It shows in the
    feed as a reminder entry naming the action; the answer has no documented body, so it is {}."""
    group, action = _action(call, group_id, action_id)
    if action["actionType"] in MEDIA_TYPES or action["actionType"] == "Announcement":
        raise bad_request(f"A {action['actionType']} takes no responses: nothing to remind of")
    body = call.body()  # optional: an empty body reminds the whole group
    recipients, failed = subscriber_targets(call, group, body)
    action.setdefault("reminders", []).append({"at": call.store.now(), "recipients": recipients})
    record(call.store, group=group, sender=call.principal["mobileNumber"], via="api", kind="reminder",
           text=f"[Reminder] {_summary_text(action)}", recipients=recipients, action_id=action["actionId"])
    result = {}
    if failed:
        result["failedResult"] = failed
    return result
