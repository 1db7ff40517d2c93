"""Rate limits (429 + Retry-After) and injected faults."""

import requests

from tests.sandbox.conftest import ApiUser, assert_error, gid_path


def test_per_connector_limit_and_window(sandbox, user):
    sandbox.set_limits(enabled=True, perConnector=5, perTenant=100, windowSeconds=60)
    for _ in range(5):
        assert user.call("GET", "v1/groups").status_code == 200
    reply = user.call("GET", "v1/groups")
    body = assert_error(reply, 429, "TooManyRequests")
    assert "per connector" in body["message"]
    assert 1 <= int(reply.headers["Retry-After"]) <= 60
    assert sandbox.calls(status="429")[0]["route"] == "listGroups"
    sandbox.advance_clock(61)
    assert user.call("GET", "v1/groups").status_code == 200


def test_short_window_for_tests(sandbox, user):
    limits = sandbox.set_limits(enabled=True, perConnector=2, windowSeconds=5)
    assert limits == {"enabled": True, "windowSeconds": 5.0, "perConnector": 2, "perTenant": 300}
    user.call("GET", "v1/groups")
    user.call("GET", "v1/groups")
    reply = user.call("GET", "v1/groups")
    assert reply.status_code == 429 and int(reply.headers["Retry-After"]) <= 5
    sandbox.advance_clock(5)
    assert user.call("GET", "v1/groups").status_code == 200


def test_per_tenant_limit_spans_connectors(sandbox, user):
    second = ApiUser(sandbox.onboard_user("+911100000005", sandbox.create_connector("second")))
    sandbox.set_limits(enabled=True, perConnector=5, perTenant=8)
    for _ in range(5):
        assert user.call("GET", "v1/groups").status_code == 200
    for _ in range(3):
        assert second.call("GET", "v1/groups").status_code == 200
    body = assert_error(second.call("GET", "v1/groups"), 429, "TooManyRequests")
    assert "per tenant" in body["message"]


def test_auth_calls_count_too(sandbox):
    sandbox.set_limits(enabled=True, perConnector=2)
    body = {"mobileNumber": "+911100000007", "applicationId": sandbox.demo_connector["applicationId"]}
    replies = [requests.post(f"{sandbox.base_url}/v1/generatePin", json=body, timeout=5) for _ in range(3)]
    assert [r.status_code for r in replies] == [200, 200, 429]
    assert len(sandbox.pins("+911100000007")) == 2  # the refused call had no effect


def test_limits_off_after_fixture_reset(sandbox, user):
    assert requests.get(f"{sandbox.base_url}/_sandbox/limits", timeout=5).json()["enabled"] is False
    statuses = {user.call("GET", "v1/groups").status_code for _ in range(120)}
    assert statuses == {200}


def test_status_faults_for_next_n_calls(sandbox, user):
    group_id = user.create_group()
    path = f"v1/groups/{gid_path(group_id)}/messages"
    sandbox.inject_fault(method="POST", path="/v1/groups/*/messages", status=503, count=2)
    statuses = [user.call("POST", path, json={"message": "m"}).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert len(sandbox.messages(group_id)) == 1  # the failed calls changed nothing
    sandbox.inject_fault(path="*/messages", status=500, count=1)
    assert_error(user.call("POST", path, json={"message": "m"}), 500, "InjectedFault")
    sandbox.inject_fault(pathRegex=r"/messages$", status=502, count=1)
    reply = user.call("POST", path, json={"message": "m"})
    assert reply.status_code == 502 and reply.headers["Content-Type"].startswith("text/html")
    sandbox.inject_fault(path="/v1/groups", method="GET", status=401, count=1)
    assert_error(user.call("GET", "v1/groups"), 401, "InvalidToken")
    sandbox.inject_fault(path="/v1/groups", status=429, retryAfter=7, count=1)
    reply = user.call("GET", "v1/groups")
    assert reply.status_code == 429 and reply.headers["Retry-After"] == "7"
    assert user.call("GET", "v1/groups").status_code == 200
    faults = [c["fault"] for c in sandbox.calls() if c["fault"]]
    assert faults == ["status:503", "status:503", "status:500", "status:502", "status:401", "status:429"]


def test_fraction_with_seed_is_reproducible(sandbox, user):
    def pattern():
        sandbox.inject_fault(path="/v1/groups", status=503, fraction=0.5, seed=42)
        result = [user.call("GET", "v1/groups").status_code for _ in range(20)]
        sandbox.clear_faults()
        return result

    first, second = pattern(), pattern()
    assert first == second
    assert 0 < first.count(503) < 20 and set(first) == {200, 503}


def test_308_moves_the_endpoint(sandbox, user):
    sandbox.inject_fault(path="/v1/groups", method="GET", status=308, count=1)
    reply = user.call("GET", "v1/groups")
    assert reply.status_code == 308
    new_endpoint = reply.headers["Location"]
    assert new_endpoint == f"{sandbox.base_url}/kms1/"
    # The old prefix keeps answering 308 for this user; the new one works.
    again = user.call("GET", "v1/groups")
    assert again.status_code == 308 and again.headers["Location"] == new_endpoint
    user.endpointUrl = new_endpoint
    assert user.call("GET", "v1/groups").status_code == 200
    token = requests.get(f"{sandbox.base_url}/v1/accessToken", timeout=5, headers={
        "applicationId": user.applicationId, "applicationSecret": user.applicationSecret,
        "refreshToken": user.refreshToken}).json()
    assert token["endpointUrl"] == new_endpoint


def test_delay_fault(sandbox, user):
    sandbox.inject_fault(path="/v1/groups", delay=0.3, count=1)
    reply = user.call("GET", "v1/groups")
    assert reply.status_code == 200 and reply.elapsed.total_seconds() >= 0.3


def test_timeout_fault_processes_then_hangs(sandbox, user):
    group_id = user.create_group()
    sandbox.inject_fault(path="*/messages", timeout=1.5, count=1)
    try:
        user.call("POST", f"v1/groups/{gid_path(group_id)}/messages", json={"message": "maybe"}, timeout=0.3)
        raise AssertionError("expected a read timeout")
    except requests.ReadTimeout:
        pass
    assert [m["text"] for m in sandbox.messages(group_id)] == ["maybe"]


def test_dropped_connection_after_processing(sandbox, user):
    group_id = user.create_group()
    sandbox.inject_fault(path="*/messages", drop=True, count=1)
    try:
        user.call("POST", f"v1/groups/{gid_path(group_id)}/messages", json={"message": "lost reply"})
        raise AssertionError("expected the connection to drop")
    except requests.ConnectionError:
        pass
    assert [m["text"] for m in sandbox.messages(group_id)] == ["lost reply"]
    assert sandbox.calls(route="sendMessage")[0]["fault"] == "drop"


def test_malformed_bodies(sandbox, user):
    user.create_group()
    sandbox.inject_fault(path="/v1/groups", malformed="truncated", count=1)
    sandbox.inject_fault(path="/v1/groups", malformed="html", count=1)
    sandbox.inject_fault(path="/v1/groups", malformed="text", count=1)
    truncated = user.call("GET", "v1/groups")
    assert truncated.status_code == 200 and truncated.headers["Content-Type"] == "application/json"
    try:
        truncated.json()
        raise AssertionError("expected truncated JSON")
    except ValueError:
        pass
    html = user.call("GET", "v1/groups")
    assert html.status_code == 200 and html.text.startswith("<html>")
    text = user.call("GET", "v1/groups")
    assert text.status_code == 200 and text.headers["Content-Type"].startswith("text/plain")
    assert user.call("GET", "v1/groups").json()["groups"]


def test_fault_validation(sandbox):
    for spec in ({"path": "/x"}, {"path": "/x", "status": 500, "drop": True}, {"path": "/x", "malformed": "xml"},
                 {"path": "/x", "status": 500, "colour": "red"}):
        reply = requests.post(f"{sandbox.base_url}/_sandbox/faults", json=spec, timeout=5)
        assert_error(reply, 400, "InvalidParameters")


def test_faults_apply_to_auth_calls(sandbox):
    sandbox.inject_fault(path="/v1/accessToken", status=503, count=1)
    reply = requests.get(f"{sandbox.base_url}/v1/accessToken", timeout=5)
    assert reply.status_code == 503
    listed = requests.get(f"{sandbox.base_url}/_sandbox/faults", timeout=5).json()["faults"]
    assert listed == []  # count exhausted
