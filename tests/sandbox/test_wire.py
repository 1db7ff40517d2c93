"""What goes over the socket: HEAD on a kept-alive connection, and paths recorded as they came."""

import socket
import time
from urllib.parse import urlsplit

from tests.sandbox.conftest import gid_path


def read_response(sock: socket.socket, buffer: bytearray, *, head: bool) -> tuple[bytes, dict, bytes]:
    """One response off the socket: status line, headers, and the body its Content-Length announces
    (none for HEAD). What follows stays in `buffer` for the next response."""
    deadline = time.monotonic() + 10
    while b"\r\n\r\n" not in buffer:
        assert time.monotonic() < deadline, bytes(buffer)
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-response: {bytes(buffer)!r}"
        buffer += chunk
    head_end = buffer.index(b"\r\n\r\n") + 4
    status, *lines = bytes(buffer[:head_end]).decode("latin-1").strip().split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    del buffer[:head_end]
    length = 0 if head else int(headers["content-length"])
    while len(buffer) < length:
        assert time.monotonic() < deadline
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        buffer += chunk
    body = bytes(buffer[:length])
    del buffer[:length]
    return status.encode(), headers, body


def test_head_has_no_body_and_the_next_request_on_the_connection_is_read(sandbox):
    address = urlsplit(sandbox.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        request = "{} /_sandbox/connectors HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        # Both requests in one write: the server must not answer HEAD with a body the client would
        # take for the start of the GET's response.
        sock.sendall((request.format("HEAD") + request.format("GET")).encode())
        buffer = bytearray()
        status, head_headers, _ = read_response(sock, buffer, head=True)
        assert status.startswith(b"HTTP/1.1 200")
        assert buffer == b"" or buffer.startswith(b"HTTP/1.1 ")  # no body bytes after the HEAD's headers
        status, get_headers, body = read_response(sock, buffer, head=False)
        assert status.startswith(b"HTTP/1.1 200"), (status, body)
        assert sandbox.demo_connector["applicationId"].encode() in body
        # HEAD says what GET would send, so a client knows the length without a body to read.
        assert head_headers["content-length"] == get_headers["content-length"] == str(len(body))
        assert head_headers["content-type"] == get_headers["content-type"]
        # And the connection is still usable after both.
        sock.sendall(request.format("HEAD").encode())
        status, _, _ = read_response(sock, buffer, head=True)
        assert status.startswith(b"HTTP/1.1 200")


def test_the_call_log_keeps_the_path_as_it_came_on_the_wire(sandbox, user):
    group_id = user.create_group()
    assert "@" in group_id
    literal = user.call("POST", f"v1/groups/{group_id}/messages", json={"message": "literal"})
    encoded = user.call("POST", f"v1/groups/{gid_path(group_id)}/messages", json={"message": "encoded"})
    # Lenient like the real service: `@` and `%40` reach the same group.
    assert (literal.status_code, encoded.status_code) == (200, 200), (literal.text, encoded.text)
    assert [m["text"] for m in sandbox.messages(group_id)] == ["literal", "encoded"]
    calls = sandbox.calls(route="sendMessage")
    assert [c["rawPath"] for c in calls] == [f"/kms/v1/groups/{group_id}/messages",
                                             f"/kms/v1/groups/{group_id.replace('@', '%40')}/messages"]
    # `path` is the decoded one, the same for both.
    assert {c["path"] for c in calls} == {f"/kms/v1/groups/{group_id}/messages"}
