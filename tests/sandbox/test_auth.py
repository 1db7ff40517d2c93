"""PINs, login, access tokens, refresh-token rotation, the two hosts and scopes."""

import requests

from tests.sandbox.conftest import ApiUser, assert_error

MOBILE = "+911100000009"
MSG_INVALID = "Invalid token. Failure reason:Token validation failed due to unknown reason!"
MSG_MISSING = "Token missing. Header should have token as value of ACCESSTOKEN"
MSG_BAD_CONNECTOR = "Dont have correct applicationId and secret in header!"


def gen_pin(sandbox, mobile=MOBILE, app_id=None):
    return requests.post(f"{sandbox.base_url}/v1/generatePin", timeout=5, json={
        "mobileNumber": mobile, "applicationId": app_id or sandbox.demo_connector["applicationId"]})


def login(sandbox, pin, mobile=MOBILE, **extra):
    return requests.post(f"{sandbox.base_url}/v1/loginWithPinAndApplicationId", timeout=5, json={
        "mobileNumber": mobile, "applicationId": sandbox.demo_connector["applicationId"], "pin": pin, **extra})


def access(sandbox, refresh_token, secret=None, connector=None):
    connector = connector or sandbox.demo_connector
    return requests.get(f"{sandbox.base_url}/v1/accessToken", timeout=5, headers={
        "applicationId": connector["applicationId"],
        "applicationSecret": secret or connector["applicationSecret"], "refreshToken": refresh_token})


def test_pin_login_and_access_token(sandbox):
    reply = gen_pin(sandbox)
    assert reply.status_code == 200 and reply.json() == {}
    pins = sandbox.pins(MOBILE)
    assert len(pins) == 1 and len(pins[0]["pin"]) == 4 and pins[0]["pin"].isdigit()
    assert pins[0]["expiresAt"] - pins[0]["sentAt"] == 600
    reply = login(sandbox, pins[0]["pin"])
    assert reply.status_code == 200
    body = reply.json()
    assert body["refreshToken"] and "textmessage.write" in body["grantedScope"].split(",")
    now_ms = requests.get(f"{sandbox.base_url}/_sandbox/clock", timeout=5).json()["now"] * 1000
    assert abs(body["refreshTokenExpiry"] - (now_ms + 365 * 86400 * 1000)) < 5000
    token = access(sandbox, body["refreshToken"]).json()
    assert token["refreshToken"] == "" and token["scope"] == "token.write"
    assert abs(token["accessTokenExpiry"] - (now_ms + 86400 * 1000)) < 5000
    assert token["endpointUrl"] == f"{sandbox.base_url}/kms/"
    assert token["accessToken"]


def test_login_accepts_integer_pin_and_lenient_body(sandbox):
    gen_pin(sandbox)
    pin = sandbox.latest_pin(MOBILE)
    connector = sandbox.demo_connector
    raw = (f"{{mobileNumber:'{MOBILE}', 'ApplicationID': '{connector['applicationId']}', pin: {int(pin)}, "
           f"applicationSecret: '{connector['applicationSecret']}'}}")
    reply = requests.post(f"{sandbox.base_url}/v1/loginWithPinAndApplicationId", data=raw, timeout=5)
    assert reply.status_code == 200, reply.text
    assert reply.json()["refreshToken"].startswith("rt-")


def test_wrong_pin_three_times_burns_it(sandbox):
    gen_pin(sandbox)
    pin = sandbox.latest_pin(MOBILE)
    wrong = "0000" if pin != "0000" else "1111"
    assert "2 attempt(s) left" in assert_error(login(sandbox, wrong), 401, "Unauthenticated")["message"]
    assert_error(login(sandbox, wrong), 401, "Unauthenticated")
    assert "no longer valid" in assert_error(login(sandbox, wrong), 401, "Unauthenticated")["message"]
    assert_error(login(sandbox, pin), 401, "Unauthenticated")  # even the right PIN is now refused
    assert sandbox.pins(MOBILE)[-1]["state"] == "burnt"


def test_pin_expires_after_ten_minutes(sandbox):
    gen_pin(sandbox)
    pin = sandbox.latest_pin(MOBILE)
    sandbox.advance_clock(601)
    assert assert_error(login(sandbox, pin), 401, "Unauthenticated")["message"].startswith("PIN expired")


def test_pin_is_single_use_and_superseded_by_a_newer_one(sandbox):
    gen_pin(sandbox)
    first = sandbox.latest_pin(MOBILE)
    gen_pin(sandbox)
    second = sandbox.latest_pin(MOBILE)
    assert [p["state"] for p in sandbox.pins(MOBILE)] == ["superseded", "active"]
    if first != second:
        assert_error(login(sandbox, first), 401, "Unauthenticated")
    assert login(sandbox, second).status_code == 200
    assert_error(login(sandbox, second), 401, "Unauthenticated")


def test_generate_pin_validation_and_unknown_connector(sandbox):
    assert_error(gen_pin(sandbox, mobile="12345"), 400, "InvalidParameters")
    assert_error(gen_pin(sandbox, app_id="no-such-connector"), 401, "Unauthenticated")
    reply = requests.post(f"{sandbox.base_url}/v1/generatePin", data="{not json", timeout=5)
    assert_error(reply, 400, "InvalidParameters")
    assert_error(login(sandbox, ""), 400, "InvalidParameters")


def test_login_with_wrong_secret_is_refused(sandbox):
    gen_pin(sandbox)
    reply = login(sandbox, sandbox.latest_pin(MOBILE), applicationSecret="wrong")
    assert_error(reply, 401, "Unauthenticated", MSG_BAD_CONNECTOR)


def test_access_token_errors(sandbox):
    onboarded = sandbox.onboard_user(MOBILE)
    assert_error(access(sandbox, onboarded["refreshToken"], secret="bad"), 401, "Unauthenticated",
                 MSG_BAD_CONNECTOR)
    assert_error(access(sandbox, "rt-unknown"), 401, "InvalidToken", MSG_INVALID)
    other = sandbox.create_connector("other")
    assert_error(access(sandbox, onboarded["refreshToken"], connector=other), 401, "InvalidToken")
    reply = requests.get(f"{sandbox.base_url}/v1/accessToken", timeout=5)
    assert_error(reply, 401, "Unauthenticated", MSG_BAD_CONNECTOR)


def test_missing_unknown_and_expired_access_tokens(sandbox):
    user = ApiUser(sandbox.onboard_user(MOBILE))
    reply = user.http.get(user.url("v1/groups"), timeout=5)
    assert_error(reply, 401, "InvalidToken", MSG_MISSING)
    assert_error(user.call("GET", "v1/groups", token="at-nope"), 401, "InvalidToken", MSG_INVALID)
    reply = user.http.get(user.url("v1/groups"), headers={"ACCESSTOKEN": user.accessToken}, timeout=5)
    assert reply.status_code == 200  # header names are case-insensitive
    sandbox.advance_clock(24 * 3600 + 1)
    assert_error(user.call("GET", "v1/groups"), 401, "InvalidToken", MSG_INVALID)
    fresh = access(sandbox, user.refreshToken).json()["accessToken"]
    assert user.call("GET", "v1/groups", token=fresh).status_code == 200


def test_refresh_token_rotates_in_last_tenth_of_its_life(sandbox):
    onboarded = sandbox.onboard_user(MOBILE)
    old = onboarded["refreshToken"]
    sandbox.advance_clock(300 * 86400)
    assert access(sandbox, old).json()["refreshToken"] == ""
    sandbox.advance_clock(29 * 86400)  # day 329 > 90 % of 365
    rotated = access(sandbox, old).json()["refreshToken"]
    assert rotated.startswith("rt-") and rotated != old
    # The old token keeps working until its successor is used (a lost response is not fatal)...
    assert access(sandbox, old).status_code == 200
    reply = access(sandbox, rotated)
    assert reply.status_code == 200 and reply.json()["refreshToken"] == ""
    # ... then it is revoked.
    assert_error(access(sandbox, old), 401, "InvalidToken")


def test_refresh_token_expires_after_a_year(sandbox):
    onboarded = sandbox.onboard_user(MOBILE)
    sandbox.advance_clock(365 * 86400 + 1)
    assert_error(access(sandbox, onboarded["refreshToken"]), 401, "InvalidToken")


def test_new_login_supersedes_previous_refresh_token(sandbox):
    first = sandbox.onboard_user(MOBILE)
    second = sandbox.onboard_user(MOBILE)
    assert_error(access(sandbox, first["refreshToken"]), 401, "InvalidToken")
    assert access(sandbox, second["refreshToken"]).status_code == 200


def test_revoked_refresh_token_and_its_access_tokens_fail(sandbox):
    user = ApiUser(sandbox.onboard_user(MOBILE))
    sandbox.revoke_token(user.refreshToken)
    assert_error(access(sandbox, user.refreshToken), 401, "InvalidToken")
    assert_error(user.call("GET", "v1/groups"), 401, "InvalidToken")


def test_deleting_a_connector_invalidates_its_tokens(sandbox):
    connector = sandbox.create_connector("temp")
    user = ApiUser(sandbox.onboard_user(MOBILE, connector))
    reply = requests.delete(f"{sandbox.base_url}/_sandbox/connectors/{connector['applicationId']}", json={},
                            timeout=5)
    assert reply.status_code == 200
    assert_error(user.call("GET", "v1/groups"), 401, "InvalidToken")


def test_resource_paths_at_the_root_are_404(sandbox, user):
    reply = requests.get(f"{sandbox.base_url}/v1/groups", headers={"accessToken": user.accessToken}, timeout=5)
    assert_error(reply, 404, "NotFound")
    assert user.endpointUrl != sandbox.base_url + "/"


def test_endpoint_url_joined_with_double_slash(user):
    group_id = user.create_group()
    reply = user.http.get(user.endpointUrl + "/v1/groups", headers={"accessToken": user.accessToken}, timeout=5)
    assert reply.status_code == 200
    assert [g["groupId"] for g in reply.json()["groups"]] == [group_id]


def test_access_token_also_served_on_endpoint_host(sandbox, user):
    reply = requests.get(user.endpointUrl + "v1/accessToken", timeout=5, headers={
        "applicationId": user.applicationId, "applicationSecret": user.applicationSecret,
        "refreshToken": user.refreshToken})
    assert reply.status_code == 200 and reply.json()["accessToken"] != user.accessToken


def test_scope_follows_connector_permissions(sandbox):
    connector = sandbox.create_connector("read-only", permissions=["Group Information"])
    gen = sandbox.onboard_user(MOBILE, connector)
    user = ApiUser(gen)
    tokens = requests.get(f"{sandbox.base_url}/_sandbox/tokens", params={"mobileNumber": MOBILE},
                          timeout=5).json()["refreshTokens"]
    assert tokens[-1]["kind"] == "user"
    group_id = user.create_group()
    reply = user.call("POST", f"v1/groups/{group_id}/messages", json={"message": "hi"})
    body = assert_error(reply, 403, "InsufficientScope")
    assert "textmessage.write" in body["message"]
    assert_error(user.call("GET", f"v1/groups/{group_id}/members"), 403, "InsufficientScope")


def test_unknown_permission_is_rejected(sandbox):
    reply = requests.post(f"{sandbox.base_url}/_sandbox/connectors", json={"name": "x", "permissions": ["nope"]},
                          timeout=5)
    assert_error(reply, 400, "InvalidParameters")


def test_granted_scope_lists_only_permitted_scopes(sandbox):
    connector = sandbox.create_connector("msg", permissions=["textmessage", "groupinfo"])
    gen_pin(sandbox, app_id=connector["applicationId"])
    reply = requests.post(f"{sandbox.base_url}/v1/loginWithPinAndApplicationId", timeout=5, json={
        "mobileNumber": MOBILE, "applicationId": connector["applicationId"], "pin": sandbox.latest_pin(MOBILE)})
    scopes = set(reply.json()["grantedScope"].split(","))
    assert scopes == {"textmessage.read", "textmessage.write", "groupinfo.read", "groupinfo.write",
                      "groupinfo.remove", "groupinfo.update"}
