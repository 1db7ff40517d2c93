"""The control API, the HTML page, reset, and the command line (port 0, --state, flags)."""

import re
import subprocess
import sys
import threading

import requests

from tests.fixtures.sandbox import ROOT, SandboxHandle, start_sandbox, stop_sandbox
from tests.sandbox.conftest import ApiUser, gid_path


def test_calls_are_recorded_with_filters_and_counts(sandbox, user):
    user.ok("GET", "v1/groups")
    before = requests.get(f"{sandbox.base_url}/_sandbox/clock", timeout=5).json()["now"]
    requests.get(f"{sandbox.base_url}/v1/accessToken", timeout=5, headers={
        "applicationId": user.applicationId, "applicationSecret": user.applicationSecret,
        "refreshToken": user.refreshToken})
    refreshes = sandbox.calls(path="/v1/accessToken")
    assert len(refreshes) == 2 and all(c["status"] == 200 for c in refreshes)
    assert refreshes[0]["connector"] == user.applicationId and refreshes[0]["mobileNumber"] == user.mobileNumber
    assert len(sandbox.calls(path="/v1/accessToken", since=before)) == 1
    listed = sandbox.calls(path="/kms/v1/*")
    assert [c["route"] for c in listed] == ["listGroups"] and listed[0]["method"] == "GET"
    summary = requests.get(f"{sandbox.base_url}/_sandbox/calls", timeout=5).json()
    assert summary["counts"] == {"generatePin": 1, "login": 1, "accessToken": 2, "listGroups": 1}
    assert summary["count"] == 5 and summary["calls"][0]["arrivedAt"] <= summary["calls"][-1]["arrivedAt"]
    assert sandbox.calls(method="POST", afterId=summary["calls"][0]["id"])[0]["route"] == "login"


def test_clock_moves_forward_only(sandbox):
    start = requests.get(f"{sandbox.base_url}/_sandbox/clock", timeout=5).json()
    sandbox.advance_clock(3600)
    now = requests.get(f"{sandbox.base_url}/_sandbox/clock", timeout=5).json()
    assert now["offsetSeconds"] == 3600 and now["now"] - start["now"] >= 3600
    reply = requests.post(f"{sandbox.base_url}/_sandbox/clock", json={"advanceSeconds": -5}, timeout=5)
    assert reply.status_code == 400


def test_reset_keeps_only_the_demo_connector(sandbox, user):
    user.create_group()
    sandbox.create_connector("extra")
    sandbox.inject_fault(path="/v1/groups", status=500)
    sandbox.advance_clock(100)
    reply = requests.post(f"{sandbox.base_url}/_sandbox/reset", json={}, timeout=5)
    assert reply.json()["limits"]["enabled"] is True  # the CLI default comes back
    connectors = requests.get(f"{sandbox.base_url}/_sandbox/connectors", timeout=5).json()["connectors"]
    assert [(c["applicationId"], c["applicationSecret"]) for c in connectors] == [
        (sandbox.demo_connector["applicationId"], sandbox.demo_connector["applicationSecret"])]
    assert sandbox.groups() == [] and sandbox.calls() == [] and sandbox.pins(user.mobileNumber) == []
    assert requests.get(f"{sandbox.base_url}/_sandbox/faults", timeout=5).json()["faults"] == []
    assert requests.get(f"{sandbox.base_url}/_sandbox/clock", timeout=5).json()["offsetSeconds"] == 0
    assert user.call("GET", "v1/groups").status_code == 401  # tokens are gone too


def test_control_group_and_token_listing(sandbox):
    group = requests.post(f"{sandbox.base_url}/_sandbox/groups", timeout=5, json={
        "name": "Phone group", "admin": "+911100000001", "members": ["+911100000002"]}).json()
    assert group["groupId"].endswith("@1")
    assert {m["mobileNumber"]: m["role"] for m in group["members"]} == {"+911100000001": "Admin",
                                                                         "+911100000002": "Member"}
    issued = sandbox.issue_token(applicationId=sandbox.demo_connector["applicationId"], kind="group",
                                 mobileNumber="+911100000001", groupId=group["groupId"])
    reply = requests.get(f"{sandbox.base_url}/v1/accessToken", timeout=5, headers={
        "applicationId": sandbox.demo_connector["applicationId"],
        "applicationSecret": sandbox.demo_connector["applicationSecret"], "refreshToken": issued["refreshToken"]})
    api = ApiUser({**reply.json()})
    assert api.ok("POST", f"v1/groups/{gid_path(group['groupId'])}/messages", json={"message": "hi"})
    assert sandbox.messages()[0]["sender"] == "+911100000001"
    bad = requests.post(f"{sandbox.base_url}/_sandbox/tokens", json={
        "applicationId": sandbox.demo_connector["applicationId"], "kind": "emperor", "mobileNumber": "+9111"},
        timeout=5)
    assert bad.status_code == 400


def test_page_escapes_everything_and_focuses_a_phone(sandbox, user):
    group_id = user.create_group(name="<script>alert(1)</script>", members=["+911100000002"])
    user.ok("POST", f"v1/groups/{gid_path(group_id)}/messages", json={"message": "<b>bold</b> & co"})
    page = requests.get(f"{sandbox.base_url}/_sandbox/", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in page.text
    assert sandbox.latest_pin(user.mobileNumber) in page.text
    focused = requests.get(f"{sandbox.base_url}/_sandbox/", params={"mobileNumber": "+911100000002"}, timeout=5)
    assert "+911100000002" in focused.text and "+911100000001</a></h2>" not in focused.text
    assert requests.get(f"{sandbox.base_url}/_sandbox", timeout=5).status_code == 200


def test_unknown_control_path(sandbox):
    assert requests.get(f"{sandbox.base_url}/_sandbox/nothing", timeout=5).status_code == 404


def test_cli_prints_url_and_demo_connector_and_keeps_state(tmp_path):
    state = tmp_path / "state.json"

    def run():
        process = subprocess.Popen(
            [sys.executable, "-m", "kaizala_sandbox", "--port", "0", "--quiet", "--state", str(state),
             "--rate-limit", "off", "--rate-window", "30"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        lines = [process.stdout.readline() for _ in range(3)]
        return process, lines

    process, lines = run()
    try:
        base = re.fullmatch(r"Kaizala sandbox listening on (http://127\.0\.0\.1:\d+)\n", lines[0])[1]
        app_id = lines[1].split(": ")[1].strip()
        secret = lines[2].split(": ")[1].strip()
        limits = requests.get(f"{base}/_sandbox/limits", timeout=5).json()
        assert limits["enabled"] is False and limits["windowSeconds"] == 30
        handle = SandboxHandle(base, {"applicationId": app_id, "applicationSecret": secret})
        onboarded = handle.onboard_user("+911100000001")
        ApiUser(onboarded).create_group(name="Persisted")
    finally:
        process.terminate()
        process.wait(timeout=5)
    process, lines = run()
    try:
        base = re.search(r"http://\S+", lines[0])[0]
        assert lines[1].split(": ")[1].strip() == app_id and lines[2].split(": ")[1].strip() == secret
        reply = requests.get(f"{base}/v1/accessToken", timeout=5, headers={
            "applicationId": app_id, "applicationSecret": secret, "refreshToken": onboarded["refreshToken"]})
        assert reply.status_code == 200
        groups = requests.get(f"{base}/_sandbox/groups", timeout=5).json()["groups"]
        assert [g["groupName"] for g in groups] == ["Persisted"]
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_cli_rate_limit_defaults_on():
    server = start_sandbox()
    try:
        limits = requests.get(f"{server.base_url}/_sandbox/limits", timeout=5).json()
        assert limits == {"enabled": True, "windowSeconds": 60.0, "perConnector": 100, "perTenant": 300}
    finally:
        stop_sandbox(server)


def test_concurrent_keep_alive_clients(sandbox, user):
    """Many threads at once on keep-alive sessions: every message is recorded exactly once."""
    group_id = user.create_group()
    errors = []

    def worker():
        session = requests.Session()
        for i in range(20):
            reply = session.post(user.url(f"v1/groups/{gid_path(group_id)}/messages"),
                                 headers={"accessToken": user.accessToken}, json={"message": str(i)}, timeout=10)
            if reply.status_code != 200:
                errors.append(reply.status_code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    feed = sandbox.messages(group_id)
    assert len(feed) == 160 and len({m["referenceId"] for m in feed}) == 160
