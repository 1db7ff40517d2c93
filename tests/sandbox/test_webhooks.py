"""Webhook CRUD, the validation handshake, event delivery, retries with back-off and auto-disable."""

import requests

from tests.sandbox.conftest import assert_error, gid_path

B = "+911100000002"


def subscribe(user, receiver, object_id, events, object_type="Group", **extra):
    return user.call("POST", "v1/webhook", json={
        "objectId": object_id, "objectType": object_type, "eventTypes": events, "callBackUrl": receiver.url,
        "callBackToken": "secret-123", "callBackContext": "ctx", **extra})


def control(sandbox, method, path, **kwargs):
    reply = requests.request(method, f"{sandbox.base_url}/_sandbox/{path}", timeout=5, **kwargs)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_create_validates_and_delivers_text_messages(sandbox, user, receiver):
    group_id = user.create_group(members=[B])
    reply = subscribe(user, receiver, group_id, ["TextMessageCreated"])
    assert reply.status_code == 200, reply.text
    webhook_id = reply.json()["webhookId"]
    assert receiver.validations == 1
    user.ok("POST", f"v1/groups/{gid_path(group_id)}/messages", json={"message": "from the API"})
    control(sandbox, "POST", f"groups/{gid_path(group_id)}/inbound", json={"from": B, "text": "from a phone"})
    assert receiver.wait_for(lambda: len(receiver.events) == 2)
    texts = {e[0]["data"]["text"]: e for e in receiver.events}
    payload, headers = texts["from a phone"]
    assert headers["kz-callback-token"] == "secret-123"
    assert payload["eventType"] == "TextMessageCreated" and payload["objectId"] == group_id
    assert payload["objectType"] == "Group" and payload["context"] == "ctx" and payload["fromUser"] == B
    assert payload["eventId"] and payload["fromUserId"]
    listed = user.ok("GET", "v1/webhook", params={"objectId": group_id, "objectType": "Group"})["webhooks"]
    assert [(w["id"], w["events"], w["active"], w["callbackUrl"]) for w in listed] == [
        (webhook_id, ["TextMessageCreated"], True, receiver.url)]
    assert sandbox.messages(group_id)[-1]["via"] == "phone"


def test_member_and_action_events(sandbox, user, receiver):
    group_id = user.create_group()
    subscribe(user, receiver, group_id, ["MemberAdded", "MemberRemoved", "SurveyCreated", "JobCreated",
                                         "Announcement", "ActionResponse"]).raise_for_status()
    base = f"v1/groups/{gid_path(group_id)}"
    user.ok("PUT", f"{base}/members", json={"members": [B]})
    member_id = next(m["id"] for m in user.ok("GET", f"{base}/members")["members"] if m["mobileNumber"] == B)
    user.ok("DELETE", f"{base}/members/{member_id}")
    job = user.ok("POST", f"{base}/actions", json={"actionType": "Job",
                                                   "actionBody": {"title": "T", "assignedTo": [B]}})
    user.ok("POST", f"{base}/actions", json={"actionType": "Announcement", "actionBody": {"message": "M"}})
    user.ok("POST", f"{base}/actions/{job['actionId']}/responses",
            json={"actionType": "Job", "actionBody": {"isCompleted": True}})
    assert receiver.wait_for(lambda: len(receiver.events) == 5)
    events = [e[0]["eventType"] for e in receiver.events]
    assert sorted(events) == sorted(["MemberAdded", "MemberRemoved", "JobCreated", "Announcement",
                                     "ActionResponse"])
    added = next(e[0] for e in receiver.events if e[0]["eventType"] == "MemberAdded")
    assert added["data"]["member"] == B and added["data"]["memberId"] == member_id
    job_event = next(e[0] for e in receiver.events if e[0]["eventType"] == "JobCreated")
    assert job_event["data"]["assignedTo"] == [B] and job_event["data"]["actionId"] == job["actionId"]


def test_action_level_subscription(user, receiver):
    group_id = user.create_group()
    base = f"v1/groups/{gid_path(group_id)}/actions"
    survey = user.ok("POST", base, json={"actionType": "Survey", "actionBody": {
        "title": "S", "questions": [{"title": "Q", "type": "Text"}]}})
    subscribe(user, receiver, survey["actionId"], ["ActionResponse", "SurveyResponse"],
              object_type="Action").raise_for_status()
    user.ok("POST", f"{base}/{survey['actionId']}/responses", json={"actionType": "Survey",
                                                                     "actionBody": {"answers": ["A"]}})
    assert receiver.wait_for(lambda: len(receiver.events) == 2)
    assert {e[0]["eventType"] for e in receiver.events} == {"ActionResponse", "SurveyResponse"}
    assert receiver.events[0][0]["data"]["responseDetails"]["responseWithQuestions"] == [
        {"title": "Q", "type": "Text", "options": [], "answer": "A"}]


def test_handshake_failure_and_url_rules(user, receiver):
    group_id = user.create_group()
    receiver.echo = False
    body = assert_error(subscribe(user, receiver, group_id, ["TextMessageCreated"]), 400, "WebhookValidationFailed")
    assert "validationToken" in body["message"]
    assert user.ok("GET", "v1/webhook")["webhooks"] == []
    receiver.echo = True
    for url in ("http://example.com/hook", "ftp://127.0.0.1/x"):
        reply = user.call("POST", "v1/webhook", json={"objectId": group_id, "objectType": "Group",
                                                      "eventTypes": ["TextMessageCreated"], "callBackUrl": url})
        assert_error(reply, 400, "InvalidParameters")
    unreachable = user.call("POST", "v1/webhook", json={
        "objectId": group_id, "objectType": "Group", "eventTypes": ["TextMessageCreated"],
        "callBackUrl": "http://127.0.0.1:9/hook"})
    assert_error(unreachable, 400, "WebhookValidationFailed")
    assert_error(subscribe(user, receiver, group_id, ["NoSuchEvent"]), 400, "InvalidParameters")
    assert_error(subscribe(user, receiver, group_id, ["TextMessageCreated"], object_type="Planet"), 400,
                 "InvalidParameters")


def test_update_and_delete(user, receiver):
    group_id = user.create_group()
    webhook_id = subscribe(user, receiver, group_id, ["TextMessageCreated"]).json()["webhookId"]
    assert user.ok("PUT", f"v1/webhook/{webhook_id}", json={"eventTypes": ["MemberAdded"], "Active": "false"}) == {
        "result": True}
    listed = user.ok("GET", "v1/webhook")["webhooks"][0]
    assert listed["events"] == ["MemberAdded"] and listed["active"] is False
    user.ok("POST", f"v1/groups/{gid_path(group_id)}/messages", json={"message": "nobody hears"})
    assert user.ok("DELETE", f"v1/webhook/{webhook_id}") == {"result": True}
    assert user.ok("GET", "v1/webhook")["webhooks"] == []
    assert_error(user.call("DELETE", f"v1/webhook/{webhook_id}"), 404, "NotFound")
    assert receiver.attempts == []


def test_retries_with_backoff_then_auto_disable(sandbox, user, receiver):
    control(sandbox, "POST", "settings", json={"webhookBackoffSeconds": 0.01})
    group_id = user.create_group()
    webhook_id = subscribe(user, receiver, group_id, ["TextMessageCreated"]).json()["webhookId"]
    receiver.fail = 100
    user.ok("POST", f"v1/groups/{gid_path(group_id)}/messages", json={"message": "doomed"})
    assert receiver.wait_for(lambda: not user.ok("GET", "v1/webhook")["webhooks"][0]["active"])
    assert len(receiver.attempts) == 7  # the first try and 6 retries
    deliveries = control(sandbox, "GET", "deliveries", params={"webhookId": webhook_id})["deliveries"]
    assert [d["attempt"] for d in deliveries] == [1, 2, 3, 4, 5, 6, 7]
    assert all(d["status"] == 500 and not d["ok"] for d in deliveries)
    assert len({e[0]["eventId"] for e in receiver.attempts}) == 1  # retries repeat the same event
    # Re-enabled with PUT {"Active": "true"}, it delivers again.
    receiver.fail = 0
    user.ok("PUT", f"v1/webhook/{webhook_id}", json={"Active": "true"})
    user.ok("POST", f"v1/groups/{gid_path(group_id)}/messages", json={"message": "back"})
    assert receiver.wait_for(lambda: len(receiver.events) == 1)
    assert receiver.events[0][0]["data"]["text"] == "back"


def test_retry_waits_for_backoff_on_the_sandbox_clock(sandbox, user, receiver):
    group_id = user.create_group()
    subscribe(user, receiver, group_id, ["TextMessageCreated"]).raise_for_status()
    receiver.fail = 1
    user.ok("POST", f"v1/groups/{gid_path(group_id)}/messages", json={"message": "later"})
    assert receiver.wait_for(lambda: len(receiver.attempts) == 1)
    assert not receiver.wait_for(lambda: len(receiver.attempts) > 1, timeout=0.7)  # default back-off: 45 min
    sandbox.advance_clock(2700)
    assert receiver.wait_for(lambda: len(receiver.events) == 1)
    assert receiver.events[0][0]["data"]["text"] == "later"


def test_inbound_needs_a_member(sandbox, user):
    group_id = user.create_group()
    reply = requests.post(f"{sandbox.base_url}/_sandbox/groups/{gid_path(group_id)}/inbound", timeout=5,
                          json={"from": "+919999999999", "text": "hi"})
    assert_error(reply, 400, "InvalidParameters")
