"""Messages, actions with responses, and media upload."""

import base64
import json

from tests.sandbox.conftest import assert_error, gid_path
from tests.sandbox.test_groups import token_user

B = "+911100000002"


def test_send_message_and_phone_feed(sandbox, user):
    group_id = user.create_group(members=[B])
    reply = user.ok("POST", f"v1/groups/{gid_path(group_id)}/messages", json={"message": "Hello team"})
    feed = sandbox.messages(group_id)
    assert len(feed) == 1
    assert feed[0]["referenceId"] == reply["referenceId"]
    assert (feed[0]["sender"], feed[0]["text"], feed[0]["via"]) == ("+911100000001", "Hello team", "api")
    clock = user.http.get(f"{sandbox.base_url}/_sandbox/clock", timeout=5).json()["now"]
    assert abs(feed[0]["arrivedAt"] - clock) < 5


def test_message_length_limit_and_validation(sandbox, user):
    path = f"v1/groups/{gid_path(user.create_group())}/messages"
    assert user.call("POST", path, json={"message": "x" * 4000}).status_code == 200
    body = assert_error(user.call("POST", path, json={"message": "x" * 4001}), 400, "InvalidParameters")
    assert "4000" in body["message"]
    assert_error(user.call("POST", path, json={}), 400, "InvalidParameters")
    assert len(sandbox.messages()) == 1


def test_lenient_bodies(sandbox, user):
    path = f"v1/groups/{gid_path(user.create_group())}/messages"
    python_repr = str({"Message": "from str(dict)", "sendToAllSubscribers": False})
    assert user.call("POST", path, data=python_repr).status_code == 200
    assert user.call("POST", path, data="{message:\"unquoted key\",}").status_code == 200
    assert user.call("POST", path, data="{'MESSAGE': 'shouting'}").status_code == 200
    assert [m["text"] for m in sandbox.messages()] == ["from str(dict)", "unquoted key", "shouting"]
    assert_error(user.call("POST", path, data="{message: }"), 400, "InvalidParameters")
    assert_error(user.call("POST", path, data="[1, 2]"), 400, "InvalidParameters")


def test_messages_to_subscribers(sandbox, user):
    tenant = token_user(sandbox, "tenant", "+911100000001")
    hub = tenant.ok("POST", "v1/groups", json={"name": "Hub", "welcomeMessage": "w", "groupType": "ConnectGroup"})
    path = f"v1/groups/{gid_path(hub['groupId'])}"
    tenant.ok("PUT", f"{path}/subscribers/add", json={"subscribers": [B]})
    reply = tenant.ok("POST", f"{path}/messages", json={"message": "to all", "sendToAllSubscribers": "true"})
    assert "failedResult" not in reply
    reply = tenant.ok("POST", f"{path}/messages", json={"message": "some", "subscribers": [B, "+919000000000"]})
    assert reply["failedResult"] == [{"subscriber": "+919000000000", "subscriberId": "",
                                      "errorReason": "Not a subscriber", "errorCode": "NotASubscriber"}]
    recipients = [m["recipients"] for m in sandbox.messages(hub["groupId"])]
    assert recipients == ["allSubscribers", [B]]
    plain = user.create_group()
    assert_error(user.call("POST", f"v1/groups/{gid_path(plain)}/messages",
                           json={"message": "x", "sendToAllSubscribers": True}), 400, "InvalidParameters")


def post_action(user, group_id, body):
    return user.call("POST", f"v1/groups/{gid_path(group_id)}/actions", json=body)


def test_announcement_poll_survey_job_lifecycle(sandbox, user, other_user):
    group_id = user.create_group(members=[B])
    announcement = post_action(user, group_id, {"actionType": "Announcement",
                                                "actionBody": {"Title": "News", "Message": "Big news"}}).json()
    assert set(announcement) == {"referenceId", "actionId"}
    poll = post_action(user, group_id, {"actionType": "Poll", "actionBody": {
        "question": "Lunch?", "choices": [{"title": "Yes"}, {"title": "No"}], "expiryInHours": 2}}).json()
    survey = post_action(user, group_id, {"actionType": "Survey", "actionBody": {
        "title": "Feedback", "questions": [{"title": "Name", "type": "Text"},
                                           {"title": "Pick", "type": "SingleOption",
                                            "options": [{"title": "a"}, {"title": "b"}]}]}}).json()
    job = post_action(user, group_id, {"actionType": "Job", "actionBody": {
        "title": "Fix it", "assignedTo": [B], "dueDate": 48}}).json()
    base = f"v1/groups/{gid_path(group_id)}/actions"
    polls = user.ok("GET", base, params={"actionType": "Poll"})
    assert polls["hasMore"] is False and len(polls["actions"]) == 1
    row = polls["actions"][0]
    assert row["referenceId"] == poll["referenceId"] and row["actionBody"]["question"] == "Lunch?"
    assert [c["title"] for c in row["actionBody"]["choices"]] == ["Yes", "No"]
    assert row["sender"] == "+911100000001"
    # Responses from another member.
    response = other_user.ok("POST", f"{base}/{survey['actionId']}/responses", json={
        "actionType": "Survey", "actionBody": {"Answers": ["Bob", "a"]}})
    other_user.ok("POST", f"{base}/{job['actionId']}/responses",
                  json={"actionType": "Job", "actionBody": {"isCompleted": True}})
    other_user.ok("POST", f"{base}/{poll['actionId']}/responses", json={"actionType": "Poll",
                                                                        "actionBody": {"answers": ["Yes"]}})
    details = user.ok("GET", f"{base}/{survey['actionId']}", params={"getDetails": "true"})
    assert details["actionType"] == "Survey" and details["actionDetails"]["responseCount"] == 1
    rows = details["actionDetails"]["responses"]
    assert rows[0]["responseId"] == response["responseId"] and rows[0]["answers"] == ["Bob", "a"]
    assert "responses" not in user.ok("GET", f"{base}/{survey['actionId']}")["actionDetails"]
    job_details = user.ok("GET", f"{base}/{job['actionId']}", params={"getDetails": True})["actionDetails"]
    assert job_details["status"] == "Completed" and job_details["assigneeCount"] == 1
    jobs = user.ok("GET", base, params={"actionType": "Job"})["actions"]
    assert jobs[0]["actionBody"]["isCompleted"] is True and jobs[0]["actionBody"]["responseCount"] == 1
    # Editing a response keeps its id.
    edited = other_user.ok("POST", f"{base}/{survey['actionId']}/responses", json={
        "actionType": "Survey", "responseId": response["responseId"], "actionBody": {"answers": ["Bo", "b"]}})
    assert edited["responseId"] == response["responseId"]
    rows = user.ok("GET", f"{base}/{survey['actionId']}", params={"getDetails": "true"})["actionDetails"]
    assert rows["responses"][0]["answers"] == ["Bo", "b"] and rows["responseCount"] == 1
    kinds = [m["kind"] for m in sandbox.messages(group_id)]
    assert kinds == ["action"] * 4
    assert sandbox.messages(group_id)[0]["text"] == "[Announcement] News: Big news"


def test_action_validation(user):
    group_id = user.create_group()
    assert_error(post_action(user, group_id, {"actionBody": {}}), 400, "InvalidParameters")
    assert_error(post_action(user, group_id, {"actionType": "Dance", "actionBody": {}}), 400, "InvalidParameters")
    assert_error(post_action(user, group_id, {"actionType": "Poll", "actionBody": {"question": "q",
                                                                                   "choices": [{"title": "a"}]}}),
                 400, "InvalidParameters")
    assert_error(post_action(user, group_id, {"actionType": "Survey", "actionBody": {
        "title": "t", "questions": [{"title": "q", "type": "SingleOption"}]}}), 400, "InvalidParameters")
    assert_error(post_action(user, group_id, {"actionType": "Job", "actionBody": {"title": "t"}}), 400,
                 "InvalidParameters")
    assert_error(user.call("GET", f"v1/groups/{gid_path(group_id)}/actions"), 400, "InvalidParameters")
    assert_error(user.call("GET", f"v1/groups/{gid_path(group_id)}/actions/nope"), 404, "NotFound")


def test_custom_action_and_property_update(user):
    group_id = user.create_group()
    created = post_action(user, group_id, {"id": "com.example.ticket", "actionBody": {
        "properties": [{"name": "status", "type": "Text", "value": "open"}]}}).json()
    base = f"v1/groups/{gid_path(group_id)}/actions"
    user.ok("PUT", f"{base}/{created['actionId']}", json={
        "version": -1, "updateProperties": [{"name": "status", "type": "Text", "value": "closed"}]})
    listed = user.ok("GET", base, params={"actionType": "com.example.ticket"})["actions"]
    assert listed[0]["actionBody"]["properties"] == [{"name": "status", "type": "Text", "value": "closed"}]


def test_media_upload_and_media_action(sandbox, user):
    reply = user.call("POST", "v1/media", files={"files": ("photo.png", b"\x89PNG....", "image/png")})
    assert reply.status_code == 200, reply.text
    resource = json.loads(base64.b64decode(reply.json()["mediaResource"]))
    assert resource["ActionType"] == 3 and resource["Files"][0]["Name"] == "photo.png"
    assert resource["Files"][0]["Size"] == 8
    group_id = user.create_group()
    sent = post_action(user, group_id, {"actionType": "Image", "actionBody": {
        "mediaResource": reply.json()["mediaResource"], "caption": "look"}}).json()
    assert list(sent) == ["referenceId"]
    doc = user.call("POST", "v1/media", files={"FileName": ("a.pdf", b"%PDF", "application/pdf")})
    assert json.loads(base64.b64decode(doc.json()["mediaResource"]))["ActionType"] == 6


def test_media_upload_needs_a_proper_content_type(user):
    assert_error(user.call("POST", "v1/media", files={"files": ("photo.png", b"data")}), 415,
                 "UnsupportedMediaType")
    assert_error(user.call("POST", "v1/media", files={"files": ("x", b"data", "application/octet-stream")}), 415,
                 "UnsupportedMediaType")
    assert_error(user.call("POST", "v1/media", json={"a": 1}), 415, "UnsupportedMediaType")
    assert_error(user.call("POST", "v1/media", files={"text": (None, "just a field")}), 400, "InvalidParameters")
