"""The API's resources go through the pages' services and forms: the same rules, the same rows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from groups.models import Group, GroupMember
from messaging.models import Attempt, Message, Schedule

pytestmark = pytest.mark.django_db
MESSAGES = "/api/v1/messages/"


@pytest.fixture
def operator(api):
    return api(Role.OPERATOR)


def second_group(world):
    return Group.objects.create(phone_user=world["phone_user"], kaizala_id="g-second@world", name="Second",
                                state=Group.State.ACTIVE)


def test_send_now_to_two_groups_makes_one_broadcast(operator, world):
    groups = [world["group"].pk, second_group(world).pk]
    response = operator.post(MESSAGES, {"groups": groups, "text": "Hello from HR"})
    assert response.status_code == 201, response.content
    made = response.json()["messages"]
    assert sorted(m["group"] for m in made) == sorted(groups) and response.json()["schedule"] is None
    rows = Message.objects.filter(text="Hello from HR")
    assert rows.count() == 2 and len({m.broadcast_id for m in rows}) == 1
    assert {m.created_by.username for m in rows} == {"api-operator"}
    listed = operator.get(f"{MESSAGES}?broadcast={made[0]['broadcast_id']}").json()["results"]
    assert sorted(m["id"] for m in listed) == sorted(m.pk for m in rows)


def test_send_at_a_time_and_the_pages_rules_on_it(operator, world):
    at = timezone.now() + timedelta(hours=3)
    made = operator.post(MESSAGES, {"groups": [world["group"].pk], "text": "Later", "send_at": at.isoformat()})
    assert made.status_code == 201
    assert Message.objects.get(pk=made.json()["messages"][0]["id"]).due_at == at
    past = operator.post(MESSAGES, {"groups": [world["group"].pk], "text": "Past",
                                    "send_at": (timezone.now() - timedelta(hours=1)).isoformat()})
    assert past.status_code == 400 and "past" in past.json()["error"]["fields"]["send_at"][0]
    invisible = operator.post(MESSAGES, {"groups": [world["group"].pk], "text": "\u200b \u200b"})
    assert invisible.status_code == 400 and "text" in invisible.json()["error"]["fields"]
    assert not Message.objects.filter(text__in=["Past", "\u200b \u200b"]).exists()


def test_a_group_that_cannot_send_is_refused(operator, world):
    Group.objects.filter(pk=world["group"].pk).update(state=Group.State.FAILED)
    response = operator.post(MESSAGES, {"groups": [world["group"].pk], "text": "x"})
    assert response.status_code == 400 and "groups" in response.json()["error"]["fields"]


def test_recurring_makes_a_schedule(operator, world):
    response = operator.post(MESSAGES, {"groups": [world["group"].pk], "text": "Daily stand-up", "recurrence": {
        "frequency": "weekly", "weekdays": [0, 2], "local_time": "09:30", "time_zone": "Asia/Kolkata"}})
    assert response.status_code == 201, response.content
    schedule = Schedule.objects.get(pk=response.json()["schedule"]["id"])
    assert (schedule.weekdays, schedule.time_zone, schedule.text) == ([0, 2], "Asia/Kolkata", "Daily stand-up")
    assert response.json()["messages"] == []
    unknown_zone = operator.post(MESSAGES, {"groups": [world["group"].pk], "text": "x", "recurrence": {
        "frequency": "weekly", "local_time": "09:30", "time_zone": "Nowhere/Atlantis"}})
    assert unknown_zone.status_code == 400
    assert "time_zone" in unknown_zone.json()["error"]["fields"]["recurrence"]


def test_the_message_list_pages_by_cursor_without_gaps_or_repeats(operator, world):
    for n in range(6):
        operator.post(MESSAGES, {"groups": [world["group"].pk], "text": f"n{n}"})
    seen, url = [], f"{MESSAGES}?page_size=4"
    while url:
        page = operator.get(url).json()
        seen += [m["id"] for m in page["results"]]
        if len(seen) == 4:  # a message arriving between pages does not shift the next page
            operator.post(MESSAGES, {"groups": [world["group"].pk], "text": "meanwhile"})
        url = page["next"]
    assert seen == sorted(Message.objects.exclude(text="meanwhile").values_list("pk", flat=True), reverse=True)


def test_list_filters_are_validated(operator):
    response = operator.get(f"{MESSAGES}?status=bogus")
    assert response.status_code == 400 and "status" in response.json()["error"]["fields"]
    assert operator.get(f"{MESSAGES}?status=scheduled").status_code == 200


def test_message_detail_has_its_attempts(operator, world):
    message = world["message"]
    Attempt.objects.create(message=message, started_at=timezone.now(), outcome=Attempt.Outcome.RETRY,
                           http_status=503, detail="Kaizala was busy.")
    body = operator.get(f"{MESSAGES}{message.pk}/").json()
    assert [a["detail"] for a in body["attempts"]] == ["Kaizala was busy."]


def test_cancel_once_then_conflict(operator, world):
    url = f"{MESSAGES}{world['message'].pk}/cancel/"
    assert operator.post(url).json()["status"] == "cancelled"
    again = operator.post(url)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


def test_retry_of_a_failed_message(operator, world):
    Message.objects.filter(pk=world["message"].pk).update(status=Message.Status.FAILED)
    body = operator.post(f"{MESSAGES}{world['message'].pk}/retry/").json()
    assert body["status"] == "scheduled"


def test_schedule_pause_resume_end(operator, world):
    url = f"/api/v1/schedules/{world['schedule'].pk}/"
    assert operator.post(url + "pause/").json()["state"] == "paused"
    assert operator.post(url + "pause/").status_code == 409
    assert operator.post(url + "resume/").json()["state"] == "active"
    assert operator.post(url + "end/").json()["state"] == "ended"
    assert [s["state"] for s in operator.get("/api/v1/schedules/?state=ended").json()["results"]] == ["ended"]


def test_group_create_with_members_goes_through_the_groups_service(operator, world):
    response = operator.post("/api/v1/groups/", {
        "phone_user": world["phone_user"].pk, "name": "Night shift", "welcome_message": "Welcome",
        "members": ["+919876543210", "+91 98765 43210", "+919812345670"]})
    assert response.status_code == 201, response.content
    group = Group.objects.get(pk=response.json()["id"])
    assert group.state == Group.State.CREATING
    # The page's parser: repeated numbers folded, every number in E.164.
    assert sorted(group.members.values_list("mobile_number", flat=True)) == ["+919812345670", "+919876543210"]
    bad = operator.post("/api/v1/groups/", {"phone_user": world["phone_user"].pk, "name": "X",
                                            "welcome_message": "W", "members": ["12"]})
    assert bad.status_code == 400 and "members" in bad.json()["error"]["fields"]


def test_members_add_and_remove(operator, world):
    url = f"/api/v1/groups/{world['group'].pk}/members/"
    response = operator.post(url, {"members": ["+919876500001"]})
    assert response.status_code == 202 and response.json() == {"requested": 1}
    member = GroupMember.objects.get(mobile_number="+919876500001")
    assert member.state == GroupMember.State.PENDING
    detail = operator.get(f"/api/v1/groups/{world['group'].pk}/").json()
    assert "+919876500001" in [m["mobile_number"] for m in detail["members"]]
    assert operator.delete(f"{url}{world['member'].pk}/").status_code == 202
    assert GroupMember.objects.get(pk=world["member"].pk).state == GroupMember.State.REMOVING
    elsewhere = f"/api/v1/groups/{world['group'].pk + 1000}/members/{world['member'].pk}/"
    assert operator.delete(elsewhere).status_code == 404  # a member is reached through its own group only


def test_no_secret_or_token_is_ever_in_an_answer(api, world):
    viewer = api(Role.VIEWER)
    answers = "".join(viewer.get(url).content.decode() for url in (
        "/api/v1/connectors/", f"/api/v1/connectors/{world['connector'].pk}/", "/api/v1/phone-users/",
        f"/api/v1/phone-users/{world['phone_user'].pk}/", "/api/v1/groups/", MESSAGES))
    assert world["phone_user"].mobile_number in answers  # the scan reads real answers
    for secret in ("world-connector-secret-123", "rt-world-refresh-secret", "at-world-access-secret"):
        assert secret not in answers


def test_an_api_write_is_in_the_audit_trail_as_the_keys_owner_through_the_key(operator, world):
    from api.models import ApiKey
    from audit.models import AuditRecord

    response = operator.post(MESSAGES, {"groups": [world["group"].pk], "text": "Audited"})
    assert response.status_code == 201, response.content
    key = ApiKey.objects.get(owner__username="api-operator")
    record = AuditRecord.objects.get(kind="message_composed", object_id=str(response.json()["messages"][0]["id"]))
    assert record.user.username == "api-operator"
    assert record.api_key == f"{key.name} ({key.prefix}…)"  # the key's label, never the key itself
    assert key.prefix and operator.headers["Authorization"].split()[1] not in str(record.__dict__)
