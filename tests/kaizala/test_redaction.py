"""Secrets never reach the recording hook or the log, whatever shape they travel in."""

import json
import logging

from kaizala import REDACTED, AuthClient, KaizalaClient, KaizalaError, redact_data, redact_headers, redact_text

from .scripted_server import Reply

APP_SECRET = "app-secret-7f3a9c"
REFRESH = "refresh-token-b41d22e0"
NEW_REFRESH = "rotated-refresh-9e8d7c"
ACCESS = "access-token-55aa66bb"
PIN = "482913"
SECRETS = [APP_SECRET, REFRESH, NEW_REFRESH, ACCESS, PIN]


def test_redact_data_by_key_case_insensitive_and_nested():
    data = {
        "AccessToken": "a1b2c3d4",
        "outer": [{"refresh_token": "r1r2r3r4", "pin": 1234, "keep": "visible"}],
        "applicationSecret": "s1s2s3s4",
        "kz-callback-token": "cbcbcbcb",
        "errorCode": "InvalidToken",
    }
    redacted = redact_data(data)
    assert redacted["AccessToken"] == REDACTED
    assert redacted["outer"][0] == {"refresh_token": REDACTED, "pin": REDACTED, "keep": "visible"}
    assert redacted["applicationSecret"] == REDACTED
    assert redacted["kz-callback-token"] == REDACTED
    assert redacted["errorCode"] == "InvalidToken"
    assert data["AccessToken"] == "a1b2c3d4"  # the input is not modified


def test_redact_data_replaces_known_values_inside_free_text():
    data = {"message": f"Invalid token {ACCESS} rejected", "list": [f"x{REFRESH}y"]}
    assert redact_data(data, [ACCESS, REFRESH]) == {
        "message": f"Invalid token {REDACTED} rejected",
        "list": [f"x{REDACTED}y"],
    }


def test_redact_text_json_and_non_json():
    body = json.dumps({"refreshToken": REFRESH, "nested": {"ACCESSTOKEN": ACCESS}, "n": 1})
    assert json.loads(redact_text(body)) == {"refreshToken": REDACTED, "nested": {"ACCESSTOKEN": REDACTED}, "n": 1}
    html = f"<html>token={ACCESS}&secret={APP_SECRET}</html>"
    assert redact_text(html, SECRETS) == f"<html>token={REDACTED}&secret={REDACTED}</html>"
    assert redact_text(None, SECRETS) is None


def test_redact_text_ignores_too_short_values():
    # A one-character "secret" would shred every body; PINs have 4+ digits.
    assert redact_text("a b c", ["a"]) == "a b c"


def test_redact_headers():
    headers = {"accessToken": ACCESS, "X-Echo": f"was {REFRESH}", "Content-Type": "application/json"}
    assert redact_headers(headers, [REFRESH]) == {
        "accessToken": REDACTED,
        "X-Echo": f"was {REDACTED}",
        "Content-Type": "application/json",
    }


def _everything(records, caplog) -> str:
    texts = [caplog.text] + [repr(r) for r in records]
    for r in records:
        texts += [r.url, r.request_body or "", r.response_body or "", json.dumps(dict(r.request_headers))]
        texts.append(json.dumps(dict(r.response_headers)))
    return "\n".join(texts)


def test_auth_flow_records_and_logs_no_secret(scripted, recorder, caplog):
    caplog.set_level(logging.DEBUG)
    scripted.reply(
        Reply(200, {}),
        Reply(
            200, {"refreshToken": REFRESH, "grantedScope": "groupinfo.read, textmessage.read", "refreshTokenExpiry": 1}
        ),
        Reply(
            200,
            {
                "accessToken": ACCESS,
                "endpointUrl": scripted.url,
                "accessTokenExpiry": 1893456000000,
                "refreshToken": NEW_REFRESH,
                "scope": "token.write",
            },
            # A server that echoes secrets in a header and a cookie must not leak them either.
            {"X-Debug": f"issued {ACCESS}", "Set-Cookie": f"s={REFRESH}"},
        ),
        Reply(401, {"message": f"Invalid token {ACCESS}", "errorCode": "InvalidToken"}),
        Reply(502, f"<html>upstream said token={ACCESS}</html>", {"Content-Type": "text/html"}),
    )
    auth = AuthClient(scripted.url, application_id="app-1", application_secret=APP_SECRET, recorder=recorder)
    auth.generate_pin("+911100000001")
    login = auth.login_with_pin("+911100000001", PIN)
    token = auth.access_token(login.refresh_token)
    assert token.refresh_token == NEW_REFRESH
    assert token.access_token == ACCESS
    client = KaizalaClient(token.endpoint_url, token.access_token, recorder=recorder)
    for _ in range(2):
        try:
            client.list_groups()
        except KaizalaError as exc:
            # What a caller would log: the exception, its message and its attributes.
            logging.getLogger("test").debug("failed: %s %r %s", exc, exc.message, vars(exc))

    # The secrets did travel on the wire...
    assert scripted.seen[1].body.decode().count(PIN) == 1
    assert scripted.seen[2].headers["applicationSecret"] == APP_SECRET
    # ...but nowhere in what was recorded or logged.
    assert len(recorder.records) == 5
    everything = _everything(recorder.records, caplog)
    for secret in SECRETS:
        assert secret not in everything, secret
    assert REDACTED in recorder.records[1].request_body
    assert json.loads(recorder.records[2].response_body)["endpointUrl"] == scripted.url
    assert recorder.records[3].error == "InvalidToken"
    assert recorder.records[3].error_code == "InvalidToken"
    assert recorder.records[4].response_body == f"<html>upstream said token={REDACTED}</html>"
    assert "kaizala GET" in caplog.text


def test_a_failing_recorder_does_not_fail_the_call(scripted, caplog):
    def broken(record):
        raise RuntimeError("disk full")

    scripted.reply(Reply(200, {"referenceId": "r1"}))
    result = KaizalaClient(scripted.url, ACCESS, recorder=broken).send_message("g1", "hi")
    assert result.reference_id == "r1"
    assert "recorder failed" in caplog.text
