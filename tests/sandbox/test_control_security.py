"""No web page can drive the control API: every refusal over raw HTTP, and the legitimate callers still work.

A page on another origin can send a "simple" POST (text/plain, form-encoded, multipart) without a
CORS preflight, can rebind its own DNS name to 127.0.0.1, and can link to the sandbox. Each case
is sent the way a browser would, and the sandbox's state is read back to prove nothing changed.
"""

import subprocess
import sys
from urllib.parse import urlsplit

import pytest
import requests

from tests.fixtures.sandbox import ROOT

GROUP = {"name": "Made by a web page", "admin": "+911100000001"}


def control(sandbox, method, path, **kwargs):
    return requests.request(method, f"{sandbox.base_url}/_sandbox/{path}", timeout=5, **kwargs)


def assert_no_cors(reply):
    assert not [name for name in reply.headers if name.lower().startswith("access-control-")], reply.headers


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None,
])
def test_a_state_change_that_is_not_json_is_refused(sandbox, content_type):
    # The three content types a page may send cross-origin without a preflight, and none at all.
    headers = {"Content-Type": content_type} if content_type else {}
    reply = control(sandbox, "POST", "groups", data=b'{"name": "x", "admin": "+911100000001"}', headers=headers)
    assert reply.status_code == 415, reply.text
    assert reply.json()["errorCode"] == "JsonRequired"
    reply = control(sandbox, "POST", "faults", data=b'{"status": 500}', headers=headers)
    assert reply.status_code == 415
    reply = control(sandbox, "DELETE", f"connectors/{sandbox.demo_connector['applicationId']}", headers=headers)
    assert reply.status_code == 415
    assert_no_cors(reply)
    assert sandbox.groups() == []
    assert sandbox._control("GET", "faults")["faults"] == []
    assert [c["demo"] for c in sandbox._control("GET", "connectors")["connectors"]] == [True]


def test_a_json_content_type_with_parameters_is_json(sandbox):
    reply = control(sandbox, "POST", "groups", data=b'{"name": "x", "admin": "+911100000001"}',
                    headers={"Content-Type": "application/json; charset=utf-8"})
    assert reply.status_code == 200, reply.text


@pytest.mark.parametrize("headers", [
    {"Origin": "http://localhost:3000"},
    {"Origin": "http://127.0.0.1:1"},  # same host, another port: another origin
    {"Origin": "null"},  # a sandboxed iframe or a file:// page
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},  # localhost:3000 and localhost:8700 are the same site
], ids=["other-host", "other-port", "null", "cross-site", "same-site"])
def test_a_request_from_another_origin_is_refused(sandbox, headers):
    reply = control(sandbox, "POST", "groups", json=GROUP, headers=headers)
    assert reply.status_code == 403, reply.text
    assert reply.json()["errorCode"] == "CrossOriginRequest"
    assert_no_cors(reply)
    assert sandbox.groups() == []
    # Reads too: these hand out live secrets and tokens.
    secret = sandbox.demo_connector["applicationSecret"]
    for path in ("connectors", "tokens"):
        reply = control(sandbox, "GET", path, headers=headers)
        assert reply.status_code == 403 and secret not in reply.text
        assert_no_cors(reply)


def test_the_sandbox_own_origin_is_accepted(sandbox):
    reply = control(sandbox, "POST", "groups", json=GROUP,
                    headers={"Origin": sandbox.base_url, "Sec-Fetch-Site": "same-origin"})
    assert reply.status_code == 200, reply.text
    assert [g["groupName"] for g in sandbox.groups()] == [GROUP["name"]]
    # A request typed in the address bar or sent by a tool.
    assert control(sandbox, "GET", "connectors", headers={"Sec-Fetch-Site": "none"}).status_code == 200


@pytest.mark.parametrize("host", ["attacker.example", "sandbox.attacker.example:{port}", "10.0.0.5:{port}",
                                  "attacker.example@127.0.0.1:{port}", ""])
def test_a_host_that_is_not_loopback_is_refused(sandbox, host):
    # DNS rebinding: the page's own name now resolves to 127.0.0.1, so the browser calls it same-origin,
    # but the Host header still carries that name.
    port = urlsplit(sandbox.base_url).port
    reply = control(sandbox, "GET", "connectors", headers={"Host": host.format(port=port)})
    assert reply.status_code == 403, reply.text
    assert reply.json()["errorCode"] == "LoopbackHostRequired"
    assert sandbox.demo_connector["applicationSecret"] not in reply.text
    reply = control(sandbox, "POST", "groups", json=GROUP, headers={"Host": host.format(port=port)})
    assert reply.status_code == 403
    assert sandbox.groups() == []


@pytest.mark.parametrize("host", ["localhost:{port}", "127.0.0.1:{port}", "127.0.0.2:{port}", "[::1]:{port}",
                                  "phone.localhost:{port}", "LOCALHOST"])
def test_loopback_host_names_are_accepted(sandbox, host):
    port = urlsplit(sandbox.base_url).port
    reply = control(sandbox, "GET", "connectors", headers={"Host": host.format(port=port)})
    assert reply.status_code == 200, reply.text


def test_a_preflight_gets_no_cors_permission(sandbox):
    reply = control(sandbox, "OPTIONS", "groups", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert reply.status_code >= 400
    assert_no_cors(reply)


def test_the_phone_page_opens_from_a_link_on_another_site(sandbox):
    # The console links to it; a navigation changes nothing and its page cannot be read by the linker.
    navigate = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
    reply = control(sandbox, "GET", "", params={"mobileNumber": "+911100000001"}, headers=navigate)
    assert reply.status_code == 200 and "Kaizala sandbox" in reply.text
    assert_no_cors(reply)
    # Not a way around the rules: a navigation elsewhere, or a form POST, or another Host, is refused.
    assert control(sandbox, "GET", "connectors", headers=navigate).status_code == 403
    assert control(sandbox, "POST", "groups", json=GROUP, headers=navigate).status_code == 403
    assert control(sandbox, "GET", "", headers={**navigate, "Host": "attacker.example"}).status_code == 403


def test_the_test_fixture_still_drives_it(sandbox):
    sandbox.inject_fault(path="/v1/groups", status=500)
    sandbox.clear_faults()  # a DELETE: the fixture sends it as JSON
    assert sandbox._control("GET", "faults")["faults"] == []
    assert sandbox.create_connector("via the fixture")["applicationSecret"]


def test_the_console_creates_connectors_in_the_sandbox(sandbox, settings):
    from connectors import sandbox_control

    settings.KAIZALA_SANDBOX_URL = sandbox.base_url
    made = sandbox_control.create_connector(name="From the console", permissions=["textmessage"])
    listed = {c["applicationId"]: c for c in sandbox._control("GET", "connectors")["connectors"]}
    assert listed[made["applicationId"]]["name"] == "From the console"


def test_the_sandbox_listens_on_loopback_only():
    refused = subprocess.run([sys.executable, "-m", "kaizala_sandbox", "--host", "0.0.0.0", "--port", "0"],
                             cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2
    assert "not a loopback address" in refused.stderr
