"""Helpers for the sandbox protocol suite: a raw-HTTP API user and a local webhook receiver."""

import http.server
import json
import threading
import time
import urllib.parse

import pytest
import requests


class ApiUser:
    """One onboarded phone user calling resource endpoints under its endpointUrl (raw HTTP)."""

    def __init__(self, onboarded: dict):
        self.__dict__.update(onboarded)
        self.http = requests.Session()

    def url(self, path: str) -> str:
        return self.endpointUrl + path.lstrip("/")

    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"accessToken": token or self.accessToken, **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", 10)
        return self.http.request(method, self.url(path), headers=headers, allow_redirects=False, **kwargs)

    def ok(self, method: str, path: str, **kwargs) -> dict:
        reply = self.call(method, path, **kwargs)
        assert reply.status_code == 200, f"{method} {path} -> {reply.status_code} {reply.text}"
        return reply.json()

    def create_group(self, name="Team", members=(), **extra) -> str:
        body = {"name": name, "welcomeMessage": "Welcome", "members": list(members), **extra}
        return self.ok("POST", "v1/groups", json=body)["groupId"]


def gid_path(group_id: str) -> str:
    return urllib.parse.quote(group_id, safe="")


def assert_error(reply: requests.Response, status: int, error_code: str, message: str | None = None):
    assert reply.status_code == status, f"{reply.status_code} {reply.text}"
    body = reply.json()
    assert set(body) == {"message", "errorCode", "errorCategoryKey"}, body
    assert body["errorCode"] == error_code, body
    if message is not None:
        assert body["message"] == message, body
    return body


@pytest.fixture
def user(sandbox):
    return ApiUser(sandbox.onboard_user("+911100000001"))


@pytest.fixture
def other_user(sandbox):
    return ApiUser(sandbox.onboard_user("+911100000002"))


class Receiver:
    """A webhook receiver: echoes validationToken, records POSTs, fails the first `fail` of them."""

    def __init__(self):
        self.events = []
        self.attempts = []
        self.validations = 0
        self.fail = 0
        self.echo = True
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                receiver.validations += 1
                token = query.get("validationToken", [""])[0] if receiver.echo else "wrong"
                self._reply(200, token.encode())

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.attempts.append((body, dict(self.headers)))
                if len(receiver.attempts) <= receiver.fail:
                    self._reply(500, b"nope")
                    return
                receiver.events.append((body, dict(self.headers)))
                self._reply(200, b"ok")

            def _reply(self, status, data):
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def wait_for(self, predicate, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.02)
        return False


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()
