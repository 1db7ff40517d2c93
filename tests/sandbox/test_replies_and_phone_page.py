"""The sandbox's replies (replyToReferenceId, §19), a phone writing into a group (text, image), joining,
and the phone page that does it and shows replies threaded."""

import requests

from tests.sandbox.conftest import gid_path
from tests.sandbox.test_groups import token_user
from tests.sandbox.test_webhooks import control, subscribe

B = "+911100000002"
C = "+911100000003"


def test_a_reply_is_recorded_and_its_event_names_the_post(sandbox, user, receiver):
    group_id = user.create_group(members=[B])
    assert subscribe(user, receiver, group_id, ["TextMessageCreated"]).status_code == 200
    original = control(sandbox, "POST", f"groups/{gid_path(group_id)}/inbound", json={"from": B, "text": "Question?"})
    reply = user.ok("POST", f"v1/groups/{gid_path(group_id)}/messages",
                    json={"message": "Answer.", "replyToReferenceId": original["referenceId"]})
    assert receiver.wait_for(lambda: len(receiver.events) == 2)
    data = [body["data"] for body, _ in receiver.events]
    assert data[0]["referenceId"] == original["referenceId"]
    assert data[1] == {"text": "Answer.", "referenceId": reply["referenceId"],
                       "replyToReferenceId": original["referenceId"]}


def test_a_reply_to_an_unknown_post_is_refused(sandbox, user):
    group_id = user.create_group(members=[B])
    response = user.call("POST", f"v1/groups/{gid_path(group_id)}/messages",
                         json={"message": "Answer.", "replyToReferenceId": "no-such-post"})
    assert response.status_code == 400 and "replyToReferenceId" in response.text


def test_a_reply_to_chosen_subscribers_must_carry_the_same_subscribers(sandbox):
    tenant_user = token_user(sandbox, "tenant", "+911100000001")
    group_id = tenant_user.create_group(groupType="ConnectGroup")
    tenant_user.ok("PUT", f"v1/groups/{gid_path(group_id)}/subscribers/add", json={"subscribers": [B, C]})
    original = tenant_user.ok("POST", f"v1/groups/{gid_path(group_id)}/messages",
                              json={"message": "To B only", "subscribers": [B]})
    path = f"v1/groups/{gid_path(group_id)}/messages"
    refused = tenant_user.call("POST", path, json={"message": "Re", "replyToReferenceId": original["referenceId"]})
    assert refused.status_code == 400 and "same 'subscribers'" in refused.text
    tenant_user.ok("POST", path, json={"message": "Re", "replyToReferenceId": original["referenceId"],
                                       "subscribers": [B]})


def test_a_phone_posts_an_image_and_joins_a_group(sandbox, user, receiver):
    group_id = user.create_group(members=[B])
    assert subscribe(user, receiver, group_id, ["AttachmentCreated", "MemberAdded"]).status_code == 200
    control(sandbox, "POST", f"groups/{gid_path(group_id)}/inbound",
            json={"from": B, "text": "Field", "imageUrl": "https://img.example.org/f.jpg"})
    control(sandbox, "POST", f"groups/{gid_path(group_id)}/join", json={"mobileNumber": C, "name": "Chitra"})
    assert receiver.wait_for(lambda: len(receiver.events) == 2)
    by_type = {body["eventType"]: body for body, _ in receiver.events}
    assert by_type["AttachmentCreated"]["data"]["media"] == [
        {"mediaUrl": "https://img.example.org/f.jpg", "mediaFileName": "f.jpg"}]
    assert by_type["MemberAdded"]["data"]["member"] == C and by_type["MemberAdded"]["data"]["memberName"] == "Chitra"
    bad = requests.post(f"{sandbox.base_url}/_sandbox/groups/{gid_path(group_id)}/inbound", timeout=5,
                        json={"from": B, "imageUrl": "javascript:alert(1)"})
    assert bad.status_code == 400


def test_the_phone_page_has_write_forms_and_threads_replies(sandbox, user):
    group_id = user.create_group(members=[B])
    original = control(sandbox, "POST", f"groups/{gid_path(group_id)}/inbound", json={"from": B, "text": "<Q>"})
    user.ok("POST", f"v1/groups/{gid_path(group_id)}/messages",
            json={"message": "the answer", "replyToReferenceId": original["referenceId"]})
    page = requests.get(f"{sandbox.base_url}/_sandbox/", params={"mobileNumber": B}, timeout=5).text
    assert 'data-post="/_sandbox/groups/' in page and f'value="{B}"' in page
    assert "&lt;Q&gt;" in page and "<Q>" not in page
    # The reply comes right after its post, marked as a reply.
    assert page.index("&lt;Q&gt;") < page.index('class="msg reply"') < page.index("the answer")


def test_a_phone_answers_a_poll_and_a_job_from_its_page(sandbox, user, receiver):
    group_id = user.create_group(members=[B])
    assert subscribe(user, receiver, group_id, ["ActionResponse", "PollResponse", "JobResponse"]).status_code == 200
    path = f"v1/groups/{gid_path(group_id)}/actions"
    poll = user.ok("POST", path, json={"actionType": "Poll", "actionBody": {
        "question": "Lunch?", "choices": [{"title": "Yes"}, {"title": "No"}], "expiryInHours": 2}})
    job = user.ok("POST", path, json={"actionType": "Job", "actionBody": {
        "title": "Fix it", "assignedTo": [B], "dueDate": 48}})
    page = requests.get(f"{sandbox.base_url}/_sandbox/", params={"mobileNumber": B}, timeout=5).text
    assert f'/actions/{poll["actionId"]}/answer' in page
    control(sandbox, "POST", f"groups/{gid_path(group_id)}/actions/{poll['actionId']}/answer",
            json={"from": B, "answer": "Yes"})
    control(sandbox, "POST", f"groups/{gid_path(group_id)}/actions/{job['actionId']}/answer",
            json={"from": B, "answer": "done"})
    assert receiver.wait_for(lambda: len(receiver.events) == 4)
    by_type = {body["eventType"]: body["data"] for body, _ in receiver.events}
    assert by_type["PollResponse"]["actionId"] == poll["actionId"] and by_type["PollResponse"]["responder"] == B
    assert by_type["PollResponse"]["responseDetails"] == {"responseWithQuestions": [
        {"title": "Lunch?", "type": "SingleOption", "options": [{"title": "Yes"}, {"title": "No"}], "answer": "Yes"}]}
    # §14.7's JobResponse: the assignee inside the response, nothing beside it.
    job_data = by_type["JobResponse"]
    assert "responder" not in job_data and job_data["responseDetails"]["response"] == {
        "assignee": B, "assigneeName": job_data["responseDetails"]["response"]["assigneeName"],
        "assigneeProfilePic": "", "isCompleted": True}
    outsider = requests.post(f"{sandbox.base_url}/_sandbox/groups/{gid_path(group_id)}/actions/{poll['actionId']}"
                             "/answer", json={"from": C, "answer": "No"}, timeout=5)
    assert outsider.status_code == 403


def test_the_phone_page_shows_every_kind_of_card_and_links_the_stored_file(sandbox, user, receiver):
    group_id = user.create_group(members=[B])
    assert subscribe(user, receiver, group_id, ["SurveyResponse", "JobResponse"]).status_code == 200
    path = f"v1/groups/{gid_path(group_id)}/actions"
    resource = user.ok("POST", "v1/media", files={"files": ("plan.pdf", b"%PDF-1.4 plan", "application/pdf")})
    user.ok("POST", path, json={"actionType": "Document", "actionBody": {"mediaResource": resource["mediaResource"],
                                                                         "caption": "The plan"}})
    user.ok("POST", path, json={"actionType": "Announcement", "actionBody": {"Title": "Closed", "Message": "Friday"}})
    user.ok("POST", path, json={"actionType": "LetsMeet", "actionBody": {
        "title": "Review", "startingTime": "2031-05-06T09:30:00Z", "duration": 45, "place": {"name": "Room 4"}}})
    survey = user.ok("POST", path, json={"actionType": "Survey", "actionBody": {"title": "Kit", "questions": [
        {"title": "Helmet?", "type": "SingleOption", "options": [{"title": "Yes"}, {"title": "No"}]},
        {"title": "Where", "type": "Location"}]}})
    job = user.ok("POST", path, json={"actionType": "Job", "actionBody": {"title": "Fix it", "assignedTo": [B]}})
    page = requests.get(f"{sandbox.base_url}/_sandbox/", params={"mobileNumber": B}, timeout=5).text
    for seen in ("The plan", "plan.pdf", "Closed", "Friday", "Review", "Room 4", "Helmet?", "Fix it",
                 'name="answer_1"', "Mark “Fix it” done"):
        assert seen in page, seen
    media_id = resource["mediaId"]
    assert f"/_sandbox/media/{media_id}/file" in page
    assert requests.get(f"{sandbox.base_url}/_sandbox/media/{media_id}/file", timeout=5).content == b"%PDF-1.4 plan"
    answer = f"groups/{gid_path(group_id)}/actions/{survey['actionId']}/answer"
    control(sandbox, "POST", answer, json={"from": B, "answer_0": "Yes", "answer_1": "12.5, 77.6"})
    control(sandbox, "POST", f"groups/{gid_path(group_id)}/actions/{job['actionId']}/answer",
            json={"from": B, "answer": "done"})
    assert receiver.wait_for(lambda: len(receiver.events) == 2)
    by_type = {body["eventType"]: body["data"] for body, _ in receiver.events}
    details = by_type["SurveyResponse"]["responseDetails"]
    assert set(details) == {"responseWithQuestions"}
    assert [q["answer"] for q in details["responseWithQuestions"]] == ["Yes", {"lt": 12.5, "lg": 77.6, "n": ""}]
    assert by_type["JobResponse"]["responseDetails"]["response"]["isCompleted"] is True
