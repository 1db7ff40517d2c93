"""How every kind of answer (and non-answer) maps onto the error taxonomy, against a scripted local server."""

import pickle
import socket
from http.client import RemoteDisconnected

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from kaizala import (
    AmbiguousError,
    BadRequest,
    ConnectError,
    EndpointMoved,
    InvalidToken,
    KaizalaClient,
    KaizalaError,
    MalformedResponse,
    NotFound,
    PermanentError,
    PermissionDenied,
    RateLimited,
    ServerError,
    Timeouts,
)
from kaizala import transport as transport_module
from kaizala.transport import transport_error

from .scripted_server import Reply

TOKEN = "access-token-SECRET-1234567890"
ERROR_BODY = {
    "message": "Invalid token. Failure reason:x",
    "errorCode": "InvalidToken",
    "errorCategoryKey": "AuthException",
}


def client_for(server, **kwargs):
    return KaizalaClient(server.url, TOKEN, timeouts=Timeouts(connect=1.0, read=0.5), **kwargs)


def test_success_decodes_and_sends_token_header_and_encoded_ids(scripted, recorder):
    scripted.reply(Reply(200, {"referenceId": "ref-1", "unknownField": 1}))
    result = client_for(scripted, recorder=recorder).send_message("g/1@2", "hello")
    assert result.reference_id == "ref-1"
    assert result.failed == ()
    seen = scripted.seen[0]
    assert seen.method == "POST"
    assert seen.path == "/v1/groups/g%2F1@2/messages"  # `/` quoted, `@` literal
    assert seen.headers["accessToken"] == TOKEN
    assert seen.body == b'{"message": "hello"}'
    assert recorder.last.status == 200
    assert recorder.last.error is None


def test_group_ids_reach_a_server_that_routes_on_the_raw_path(scripted):
    # Such a server has no route for `%40`: it answers 404 and the message is never delivered.
    scripted.refuse_path = lambda path: "%40" in path.lower()
    scripted.reply(Reply(200, {"referenceId": "ref-1"}), Reply(200, {"groups": [{"groupId": "abc@1"}]}))
    client = client_for(scripted)
    assert client.send_message("abc@1", "hello").reference_id == "ref-1"
    client.get_group("abc@1")
    assert [seen.path for seen in scripted.seen] == ["/v1/groups/abc@1/messages", "/v1/groups/abc@1"]


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected", "retryable"),
    [
        (401, ERROR_BODY, {}, InvalidToken, True),
        (400, {"message": "bad", "errorCode": "InvalidParameters"}, {}, BadRequest, False),
        (415, "unsupported", {"Content-Type": "text/plain"}, BadRequest, False),
        (403, {"message": "no", "errorCode": "Forbidden"}, {}, PermissionDenied, False),
        (404, {"message": "gone", "errorCode": "NotFound"}, {}, NotFound, False),
        (409, {"message": "conflict", "errorCode": "Conflict"}, {}, PermanentError, False),
        (500, {"message": "boom", "errorCode": "InternalError"}, {}, ServerError, True),
        (502, "<html>bad gateway</html>", {"Content-Type": "text/html"}, ServerError, True),
        (503, "", {}, ServerError, True),
    ],
)
def test_status_classes(scripted, status, body, headers, expected, retryable):
    scripted.reply(Reply(status, body, headers))
    with pytest.raises(expected) as caught:
        client_for(scripted).list_members("g1")
    error = caught.value
    assert type(error) is expected
    assert error.status == status
    assert error.retryable is retryable
    assert error.method == "GET"
    assert error.url.endswith("/v1/groups/g1/members")
    if isinstance(body, dict):
        assert error.error_code == body["errorCode"]
        assert error.message == body["message"]


def test_invalid_token_keeps_code_category_and_message(scripted):
    scripted.reply(Reply(401, ERROR_BODY))
    with pytest.raises(InvalidToken) as caught:
        client_for(scripted).list_groups()
    assert caught.value.error_code == "InvalidToken"
    assert caught.value.error_category == "AuthException"
    assert "Invalid token" in str(caught.value)


def test_308_is_endpoint_moved_and_not_followed(scripted):
    scripted.reply(Reply(308, "", {"Location": "https://kms2.example/v1/groups/g1/messages"}))
    with pytest.raises(EndpointMoved) as caught:
        client_for(scripted).send_message("g1", "hi")
    assert caught.value.location == "https://kms2.example/v1/groups/g1/messages"
    assert caught.value.endpoint_url == "https://kms2.example/"
    assert len(scripted.seen) == 1  # never re-sent to the Location by the HTTP library


def test_308_with_bare_base_location(scripted):
    scripted.reply(Reply(308, "", {"Location": "https://kms3.example"}))
    with pytest.raises(EndpointMoved) as caught:
        client_for(scripted).list_groups()
    assert caught.value.endpoint_url == "https://kms3.example"


def test_308_without_location_is_malformed(scripted):
    scripted.reply(Reply(308, ""))
    with pytest.raises(MalformedResponse):
        client_for(scripted).list_groups()


@pytest.mark.parametrize(("header", "seconds"), [("7", 7.0), ("0.5", 0.5), (None, 60.0), ("soon", 60.0)])
def test_429_carries_retry_after(scripted, header, seconds):
    scripted.reply(Reply(429, {"message": "slow down"}, {"Retry-After": header} if header else {}))
    with pytest.raises(RateLimited) as caught:
        client_for(scripted).list_groups()
    assert caught.value.retry_after == seconds
    assert caught.value.from_limiter is False
    assert caught.value.status == 429


def test_429_with_http_date_retry_after(scripted):
    scripted.reply(Reply(429, "", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))  # in the past
    with pytest.raises(RateLimited) as caught:
        client_for(scripted).list_groups()
    assert caught.value.retry_after == 0.0


def test_non_json_200_is_malformed_with_first_bytes(scripted, recorder):
    scripted.reply(Reply(200, "<html>" + "x" * 2000, {"Content-Type": "text/html"}))
    with pytest.raises(MalformedResponse) as caught:
        client_for(scripted, recorder=recorder).send_message("g1", "hi")
    assert caught.value.body_start.startswith("<html>xxx")
    assert len(caught.value.body_start) == 500
    assert caught.value.maybe_applied is True
    assert recorder.last.error == "MalformedResponse"


def test_truncated_json_is_malformed(scripted):
    scripted.reply(Reply(200, '{"referenceId": "r'))
    with pytest.raises(MalformedResponse) as caught:
        client_for(scripted).send_message("g1", "hi")
    assert caught.value.body_start == '{"referenceId": "r'


def test_json_of_the_wrong_shape_is_malformed(scripted):
    scripted.reply(Reply(200, ["not", "an", "object"]), Reply(200, {"somethingElse": 1}))
    with pytest.raises(MalformedResponse):
        client_for(scripted).list_members("g1")
    with pytest.raises(MalformedResponse, match="referenceId"):
        client_for(scripted).send_message("g1", "hi")


def test_200_with_error_body_is_an_error(scripted):
    scripted.reply(
        Reply(200, {"message": "nope", "errorCode": "InvalidParameters"}),
        Reply(200, ERROR_BODY),
    )
    with pytest.raises(PermanentError) as caught:
        client_for(scripted).send_message("g1", "hi")
    assert caught.value.status == 200
    assert caught.value.error_code == "InvalidParameters"
    with pytest.raises(InvalidToken):
        client_for(scripted).send_message("g1", "hi")


def test_empty_200_is_success_where_no_body_is_needed(scripted):
    scripted.reply(Reply(200, ""))
    assert client_for(scripted).delete_webhook("w1") is None
    assert scripted.seen[0].method == "DELETE"
    assert scripted.seen[0].path == "/v1/webhook/w1"


def test_read_timeout_is_ambiguous(scripted, recorder):
    scripted.reply(Reply(200, {"referenceId": "late"}, delay=1.5))
    with pytest.raises(AmbiguousError) as caught:
        client_for(scripted, recorder=recorder).send_message("g1", "hi")
    assert caught.value.maybe_applied is True
    assert recorder.last.status is None
    assert recorder.last.error == "AmbiguousError"
    assert 400 <= recorder.last.duration_ms < 1400


def test_dropped_connection_after_sending_is_ambiguous(scripted):
    scripted.reply(Reply(drop=True))
    with pytest.raises(AmbiguousError):
        client_for(scripted).send_message("g1", "hi")
    assert len(scripted.seen) == 1  # the server did receive it


def test_refused_connection_is_connect_error(recorder):
    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = KaizalaClient(f"http://127.0.0.1:{port}", TOKEN, recorder=recorder)
    with pytest.raises(ConnectError) as caught:
        client.list_groups()
    assert caught.value.retryable is True
    assert caught.value.maybe_applied is False
    assert recorder.last.error == "ConnectError"


class _BrokenLimiter:
    """A limiter that fails the way a local fault does: before the request, or after a 429 when pausing."""

    def __init__(self, *, acquire=None, pause=None):
        self.acquire_error, self.pause_error = acquire, pause

    def acquire(self, keys):
        if self.acquire_error:
            raise self.acquire_error

    def pause(self, keys, seconds):
        if self.pause_error:
            raise self.pause_error


def test_a_local_failure_before_the_request_is_not_a_kaizala_error_and_sends_nothing(scripted):
    limiter = _BrokenLimiter(acquire=FileNotFoundError("metrics directory gone"))
    client = client_for(scripted, limiter=limiter, limiter_keys={"connector": "c1"})
    with pytest.raises(FileNotFoundError):
        client.send_message("g1", "hi")
    assert scripted.seen == []


def test_a_failure_reading_the_answer_is_ambiguous_not_never_sent(scripted, recorder, monkeypatch):
    def unreadable(response, body, parsed):
        raise RuntimeError("a bug while reading the answer")

    monkeypatch.setattr(transport_module, "classify", unreadable)
    scripted.reply(Reply(200, {"referenceId": "ref-1"}))
    with pytest.raises(AmbiguousError) as caught:
        client_for(scripted, recorder=recorder).send_message("g1", "hi")
    assert caught.value.maybe_applied is True
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert len(scripted.seen) == 1  # it did arrive
    assert recorder.last.status == 200 and recorder.last.error == "AmbiguousError"


def test_a_pause_that_fails_after_a_429_still_reports_the_429(scripted):
    import redis

    limiter = _BrokenLimiter(pause=redis.ConnectionError("redis went away"))
    scripted.reply(Reply(429, {"message": "too many"}, {"Retry-After": "3"}))
    with pytest.raises(RateLimited) as caught:
        client_for(scripted, limiter=limiter, limiter_keys={"connector": "c1"}).send_message("g1", "hi")
    assert caught.value.retry_after == 3


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (requests.ConnectTimeout("connect timed out"), ConnectError),
        (requests.exceptions.SSLError("handshake failed"), ConnectError),
        (
            requests.ConnectionError(
                MaxRetryError(None, "/v1/x", NewConnectionError(None, "[Errno 111] Connection refused"))
            ),
            ConnectError,
        ),
        (requests.ReadTimeout("read timed out"), AmbiguousError),
        (
            requests.ConnectionError(ProtocolError("Connection aborted.", RemoteDisconnected("closed"))),
            AmbiguousError,
        ),
        (requests.exceptions.ChunkedEncodingError("body cut short"), AmbiguousError),
    ],
)
def test_transport_failures_are_split_by_whether_the_request_left(exc, expected):
    # A connect timeout cannot be produced reliably on this network, so the mapping is checked directly.
    error = transport_error(exc)
    assert type(error) is expected
    assert error.retryable is True


def test_all_errors_share_the_base(scripted):
    for cls in (InvalidToken, EndpointMoved, RateLimited, BadRequest, ServerError, ConnectError, AmbiguousError):
        assert issubclass(cls, KaizalaError)
    assert issubclass(NotFound, PermanentError)
    assert issubclass(PermissionDenied, PermanentError)
    assert issubclass(BadRequest, PermanentError)
    assert ServerError("x", status=504).maybe_applied is True
    assert ServerError("x", status=503).maybe_applied is False


def test_errors_survive_pickling_for_celery():
    moved = EndpointMoved("moved", location="https://kms2.example/", status=308, error_code="EndpointMoved")
    limited = RateLimited("slow", retry_after=3.5, from_limiter=True)
    for error in (moved, limited, ServerError("x", status=502)):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert vars(copy) == vars(error)
        assert str(copy) == str(error)
    assert pickle.loads(pickle.dumps(moved)).endpoint_url == "https://kms2.example/"
