"""Every client call against the sandbox over real HTTP."""

import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from kaizala import Announcement, BadRequest, Job, Poll, PollChoice, Survey, SurveyQuestion

from .sandbox_helpers import onboard, tenant_client

ADMIN = "+911100000001"
OTHER = "+911100000002"


def test_pin_login_and_access_token(sandbox, recorder):
    user = onboard(sandbox, ADMIN, recorder=recorder)
    assert user.login.refresh_token
    assert "textmessage.read" in user.login.granted_scope
    assert user.login.refresh_token_expiry > datetime.now(UTC) + timedelta(days=300)
    token = user.token
    assert token.access_token and token.endpoint_url.startswith("http://127.0.0.1")
    assert timedelta(hours=23) < token.expires_at - datetime.now(UTC) <= timedelta(hours=24)
    assert token.refresh_token is None  # no rotation early in the refresh token's life
    assert [(r.method, r.url.rsplit("/", 1)[-1], r.status) for r in recorder.records] == [
        ("POST", "generatePin", 200),
        ("POST", "loginWithPinAndApplicationId", 200),
        ("GET", "accessToken", 200),
    ]
    assert [c["route"] for c in sandbox.calls()][-3:] == ["generatePin", "login", "accessToken"]


def test_refresh_token_rotates_late_in_its_life(sandbox):
    user = onboard(sandbox, ADMIN)
    sandbox.advance_clock(330 * 24 * 3600)  # past 90 % of the 365 days
    token = user.auth.access_token(user.login.refresh_token)
    assert token.refresh_token and token.refresh_token != user.login.refresh_token
    assert user.auth.access_token(token.refresh_token).access_token


def test_groups_subgroups_and_members(sandbox):
    client = onboard(sandbox, ADMIN).client
    created = client.create_group("Ops", "Welcome", members=[OTHER])
    assert "@" in created.group_id  # the id needs percent-encoding in paths
    assert created.group_name == "Ops" and created.members_added is True

    groups = client.list_groups(show_details=True)
    assert [(g.group_id, g.group_name, g.caller_role) for g in groups] == [(created.group_id, "Ops", "Admin")]
    detail = client.get_group(created.group_id)
    assert (detail.group_id, detail.user_count) == (created.group_id, 2)

    sub = client.create_subgroup(created.group_id, "Night shift", "Hi")
    assert [g.group_id for g in client.list_subgroups(created.group_id)] == [sub.group_id]
    assert {g.group_id for g in client.list_groups(fetch_all=True)} == {created.group_id, sub.group_id}

    members = {m.mobile_number: m for m in client.list_members(created.group_id)}
    assert members[ADMIN].role == "Admin" and members[OTHER].role == "Member"
    assert client.add_members(created.group_id, ["+911100000003"]) is True
    client.set_member_role(created.group_id, members[OTHER].member_id, "Admin")
    roles = {m.mobile_number: m.role for m in client.list_members(created.group_id)}
    assert roles == {ADMIN: "Admin", OTHER: "Admin", "+911100000003": "Member"}
    assert client.remove_member(created.group_id, members[OTHER].member_id) is True
    assert OTHER not in {m.mobile_number for m in client.list_members(created.group_id)}


def test_subscribers_paging_and_targeted_messages(sandbox):
    client = tenant_client(sandbox, ADMIN)
    hub = client.create_group("Hub", "Welcome", group_type="ConnectGroup")
    numbers = [f"+9122{i:08d}" for i in range(73)]
    for start in range(0, len(numbers), 30):  # the reference client's batch size
        outcomes = client.add_subscribers(hub.group_id, numbers[start : start + 30])
        assert all(o.ok for o in outcomes.values()) and len(outcomes) == len(numbers[start : start + 30])

    first = client.list_subscribers(hub.group_id, count=50)
    assert len(first.subscribers) == 50 and first.cursor
    second = client.list_subscribers(hub.group_id, cursor=first.cursor, count=50)
    assert len(second.subscribers) == 23 and second.cursor is None
    assert sorted(s.mobile_number for s in client.iter_subscribers(hub.group_id, page_size=20)) == numbers

    removed = client.remove_subscribers(hub.group_id, numbers[:3])
    assert {n: o.ok for n, o in removed.items()} == dict.fromkeys(numbers[:3], True)
    assert len(list(client.iter_subscribers(hub.group_id))) == 70

    everyone = client.send_message(hub.group_id, "to all", to_all_subscribers=True)
    chosen = client.send_message(hub.group_id, "to some", subscribers=[numbers[5], "+913333333333"])
    assert [f.subscriber for f in chosen.failed] == ["+913333333333"]
    sent = {m["referenceId"]: m for m in sandbox.messages(hub.group_id)}
    assert sent[everyone.reference_id]["text"] == "to all"
    # The sandbox logs a broadcast either as the marker "allSubscribers" or as the list.
    recipients = sent[everyone.reference_id]["recipients"]
    assert recipients == "allSubscribers" or len(recipients) == 70
    assert sent[chosen.reference_id]["recipients"] == [numbers[5]]


def test_group_message(sandbox):
    client = onboard(sandbox, ADMIN).client
    group = client.create_group("Ops", "Welcome", members=[OTHER])
    result = client.send_message(group.group_id, "Shift starts at 9 ✓")
    assert result.reference_id and result.failed == ()
    [message] = sandbox.messages(group.group_id)
    assert (message["referenceId"], message["text"], message["sender"]) == (
        result.reference_id,
        "Shift starts at 9 ✓",
        ADMIN,
    )
    with pytest.raises(ValueError):
        client.send_message(group.group_id, "x", to_all_subscribers=True, subscribers=[OTHER])


def test_a_real_send_puts_a_literal_at_sign_on_the_wire(sandbox):
    client = onboard(sandbox, ADMIN).client
    group = client.create_group("Ops", "Welcome")
    assert "@" in group.group_id
    client.send_message(group.group_id, "hello")
    [call] = sandbox.calls(route="sendMessage")
    # The sandbox's raw path is the request line's, before any decoding: requests/urllib3 kept the `@`.
    assert call["rawPath"] == f"/kms/v1/groups/{group.group_id}/messages"
    assert call["status"] == 200


def test_media_upload_and_actions(sandbox):
    client = onboard(sandbox, ADMIN).client
    group = client.create_group("Ops", "Welcome", members=[OTHER])
    media = client.upload_media("shift.png", b"\x89PNG\r\n\x1a\n" + bytes(200), "image/png")
    assert isinstance(media, str) and len(media) > 20
    with pytest.raises(BadRequest) as caught:
        client.upload_media("shift.png", b"\x89PNG", "")  # no real MIME type
    assert caught.value.status == 415

    actions = [
        Announcement("Notice", "Office closed Friday", [media]),
        Poll("Lunch?", ["Pizza", PollChoice("Salad", image=media)], expiry_in_hours=2),
        Survey("Feedback", [SurveyQuestion("Rating", "SingleOption", ["Good", "Bad"]), SurveyQuestion("Why", "Text")]),
        Job("Restock", [OTHER], due_in_hours=8),
    ]
    for action in actions:
        sent = client.create_action(group.group_id, action)
        assert sent.reference_id and sent.action_id
        listed = client.list_actions(group.group_id, action.action_type)
        assert [(a.reference_id, a.action_type) for a in listed.actions] == [(sent.reference_id, action.action_type)]
        assert listed.has_more is False
        details = client.get_action(group.group_id, sent.action_id, details=True)
        assert details.action_id == sent.action_id and details.action_type == action.action_type
        assert details.body.get("responses") == []
        assert details.sent_at is not None
    poll = client.list_actions(group.group_id, "Poll").actions[0]
    assert [c["title"] for c in poll.body["choices"]] == ["Pizza", "Salad"]


class _Echo(BaseHTTPRequestHandler):
    """A webhook receiver that passes Kaizala's validation handshake."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        token = parse_qs(urlparse(self.path).query).get("validationToken", [""])[0].encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(token)))
        self.end_headers()
        self.wfile.write(token)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_webhooks_crud(sandbox, receiver):
    client = onboard(sandbox, ADMIN).client
    group = client.create_group("Ops", "Welcome")
    webhook_id = client.create_webhook(
        group.group_id, "Group", ["TextMessageCreated", "MemberAdded"], receiver, callback_token="cb-secret-1"
    )
    [hook] = client.list_webhooks(group.group_id, "Group")
    assert (hook.webhook_id, hook.object_id, hook.object_type) == (webhook_id, group.group_id, "Group")
    assert set(hook.event_types) == {"TextMessageCreated", "MemberAdded"}
    assert hook.callback_url == receiver and hook.active is True

    client.update_webhook(webhook_id, event_types=["MemberRemoved"], active=False)
    [hook] = client.list_webhooks(group.group_id, "Group")
    assert hook.event_types == ("MemberRemoved",) and hook.active is False

    client.delete_webhook(webhook_id)
    assert client.list_webhooks(group.group_id, "Group") == []
