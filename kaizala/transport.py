"""One HTTP call to Kaizala: throttle, send, classify, record.

The process-wide `requests.Session` is created lazily and re-created in a forked child
(Celery prefork workers fork after import; a pooled socket shared across processes would
interleave bytes of two requests).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from . import errors
from .redaction import collect_secrets, redact_headers, redact_text

if TYPE_CHECKING:
    from .limiter import RateLimiter

log = logging.getLogger("kaizala")

# Used when a 429 carries no usable Retry-After: the limits are per minute.
DEFAULT_RETRY_AFTER = 60.0
_BODY_PREVIEW = 500

_session: requests.Session | None = None
_session_pid: int | None = None
_session_lock = threading.Lock()


def _forget_session_after_fork() -> None:
    global _session, _session_pid, _session_lock
    _session, _session_pid, _session_lock = None, None, threading.Lock()


os.register_at_fork(after_in_child=_forget_session_after_fork)


def new_session() -> requests.Session:
    session = requests.Session()
    # No automatic retries: only the caller knows whether re-sending is safe (see errors.py).
    adapter = HTTPAdapter(pool_connections=8, pool_maxsize=32, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def shared_session() -> requests.Session:
    """The pooled session of this process (created on first use, again after a fork)."""
    global _session, _session_pid
    pid = os.getpid()
    if _session is None or _session_pid != pid:
        with _session_lock:
            if _session is None or _session_pid != pid:
                _session, _session_pid = new_session(), pid
    return _session


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 60.0  # Kaizala's own suggestion for a client timeout is one minute


DEFAULT_TIMEOUTS = Timeouts()


@dataclass(frozen=True)
class CallRecord:
    """What the recording hook sees of one call; every secret is already redacted."""

    method: str
    url: str
    status: int | None
    duration_ms: float
    request_body: str | None
    response_body: str | None
    error: str | None  # the KaizalaError class name, None on success
    error_code: str | None = None
    request_headers: Mapping[str, str] = field(default_factory=dict)
    response_headers: Mapping[str, str] = field(default_factory=dict)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


Recorder = Callable[[CallRecord], None]


@dataclass(frozen=True)
class Upload:
    """A multipart file part: the name, the bytes and the real MIME type (Kaizala answers 415 without it)."""

    filename: str
    data: bytes
    content_type: str
    field_name: str = "files"


class Transport:
    def __init__(
        self,
        *,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        recorder: Recorder | None = None,
        limiter: RateLimiter | None = None,
        limiter_keys: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
    ):
        self.timeouts = timeouts
        self.recorder = recorder
        self.limiter = limiter
        self.limiter_keys = dict(limiter_keys or {})
        self._session = session  # None: the shared per-process session

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        upload: Upload | None = None,
        secrets: Iterable[str] = (),
    ) -> Any:
        """Send one call and return the decoded JSON body (`{}` for an empty body), or raise a KaizalaError.

        Any other exception comes from before the request was made (the limiter, the body's encoding): a
        caller may take it as "nothing was sent". From the request on, every failure is a KaizalaError."""
        if self.limiter is not None and self.limiter_keys:
            self.limiter.acquire(self.limiter_keys)

        headers = dict(headers or {})
        if json_body is not None:
            headers["Content-Type"] = "application/json"
        data = json.dumps(json_body) if json_body is not None else None
        files = {upload.field_name: (upload.filename, upload.data, upload.content_type)} if upload else None
        known = set(secrets) | collect_secrets(headers) | collect_secrets(json_body)

        started_at = datetime.now(UTC)
        start = time.perf_counter()
        response = None
        result: Any = None
        error: errors.KaizalaError | None = None
        try:
            session = self._session or shared_session()
            response = session.request(
                method,
                url,
                headers=headers,
                data=data,
                params=params,
                files=files,
                timeout=(self.timeouts.connect, self.timeouts.read),
                allow_redirects=False,  # a 308 is EndpointMoved, never followed
            )
            body, parsed = decode(response)
            known |= collect_secrets(body) | collect_secrets(response.headers)
            result = classify(response, body, parsed)
        except errors.KaizalaError as exc:
            error = exc
        except requests.RequestException as exc:
            error = transport_error(exc)
        except Exception as exc:
            # Once the request may have left, a failure reading its answer must not read as "never sent".
            error = errors.AmbiguousError(f"the answer could not be read ({type(exc).__name__})")
            error.__cause__ = exc
        duration_ms = (time.perf_counter() - start) * 1000
        if error is not None:
            error.method, error.url = method, response.url if response is not None else url
            # Callers log exceptions: a server echoing a token in its message must not leak it.
            error.message = redact_text(error.message, known)
            error.args = (error.message,)
            if isinstance(error, errors.MalformedResponse):
                error.body_start = redact_text(error.body_start, known)
        try:
            sent_url = response.request.url if response is not None else url
            record = CallRecord(
                method=method,
                url=redact_text(sent_url, known),
                status=response.status_code if response is not None else None,
                duration_ms=round(duration_ms, 3),
                request_body=redact_text(_describe_request(data, upload), known),
                response_body=redact_text(response.text, known) if response is not None else None,
                error=type(error).__name__ if error else None,
                error_code=error.error_code if error else None,
                request_headers=redact_headers(headers, known),
                response_headers=redact_headers(response.headers if response is not None else {}, known),
                started_at=started_at,
            )
            self._report(record, error)
            if isinstance(error, errors.RateLimited) and self.limiter is not None and self.limiter_keys:
                # Kaizala's Retry-After pauses these keys for every process sharing the limiter.
                self.limiter.pause(self.limiter_keys, error.retry_after)
        except Exception:
            # Recording the call or pausing after it must not hide what Kaizala answered.
            log.exception("kaizala: after the call to %s, recording it or pausing failed", method)
        if error is not None:
            raise error
        return result

    def _report(self, record: CallRecord, error: errors.KaizalaError | None) -> None:
        log.debug(
            "kaizala %s %s -> %s in %.1f ms%s",
            record.method,
            record.url,
            record.status,
            record.duration_ms,
            f" ({record.error}: {error})" if error else "",
        )
        if self.recorder is None:
            return
        try:
            self.recorder(record)
        except Exception:
            # A broken call log must not turn a successful Kaizala call into a failure.
            log.exception("kaizala call recorder failed")


def _describe_request(data: str | None, upload: Upload | None) -> str | None:
    if upload is not None:
        return f"<multipart {upload.field_name}={upload.filename!r} {upload.content_type} {len(upload.data)} bytes>"
    return data


def decode(response: requests.Response) -> tuple[Any, bool]:
    """(the JSON body, True), or (None, False) when the body is empty or not JSON."""
    if not response.text.strip():
        return None, False
    try:
        return response.json(), True
    except ValueError:
        return None, False


def classify(response: requests.Response, body: Any, parsed: bool) -> Any:
    """The decoded body of a successful response, or the KaizalaError it stands for (raised)."""
    status = response.status_code
    text = response.text
    error_code = message = category = None
    if isinstance(body, dict):
        error_code = body.get("errorCode")
        message = body.get("message")
        category = body.get("errorCategoryKey")
    kwargs = {"status": status, "error_code": error_code, "error_category": category}
    message = message if isinstance(message, str) else ""

    if 200 <= status < 300:
        if not text.strip():
            return {}
        if not parsed:
            raise errors.MalformedResponse("body is not JSON", body_start=text[:_BODY_PREVIEW], **kwargs)
        if error_code:
            # A 200 carrying an error body: the reference client treats `errorCode` as failure,
            # and so do we; it is permanent unless the code says the token is bad.
            cls = errors.InvalidToken if error_code in _TOKEN_ERROR_CODES else errors.PermanentError
            raise cls(message or error_code, **kwargs)
        return body

    if status == 308:
        location = response.headers.get("Location")
        if not location:
            raise errors.MalformedResponse("308 without Location", body_start=text[:_BODY_PREVIEW], **kwargs)
        raise errors.EndpointMoved(message or "endpoint moved", location=location, url=response.url, **kwargs)
    if status == 401:
        raise errors.InvalidToken(message or "unauthorized", **kwargs)
    if status == 429:
        raise errors.RateLimited(
            message or "rate limited", retry_after=parse_retry_after(response.headers.get("Retry-After")), **kwargs
        )
    if status >= 500:
        raise errors.ServerError(message or f"server error {status}", **kwargs)
    if 400 <= status < 500 or 300 <= status < 400:
        cls = _PERMANENT_BY_STATUS.get(status, errors.PermanentError)
        if not message and not parsed and text.strip():
            message = text[:_BODY_PREVIEW]
        raise cls(message or f"HTTP {status}", **kwargs)
    raise errors.MalformedResponse(f"unexpected status {status}", body_start=text[:_BODY_PREVIEW], **kwargs)


_TOKEN_ERROR_CODES = frozenset({"InvalidToken", "Unauthenticated"})
_PERMANENT_BY_STATUS: dict[int, type[errors.PermanentError]] = {
    400: errors.BadRequest,
    403: errors.PermissionDenied,
    404: errors.NotFound,
    415: errors.BadRequest,
    422: errors.BadRequest,
}


def parse_retry_after(value: str | None) -> float:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return DEFAULT_RETRY_AFTER
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def transport_error(exc: requests.RequestException) -> errors.KaizalaError:
    """ConnectError when the request provably never left, AmbiguousError otherwise."""
    never_left = (
        requests.ConnectTimeout,
        requests.exceptions.SSLError,
        requests.exceptions.InvalidURL,
        requests.exceptions.MissingSchema,
        requests.exceptions.InvalidSchema,
    )
    if isinstance(exc, never_left):
        return errors.ConnectError(f"could not connect: {exc}")
    if isinstance(exc, requests.ReadTimeout):
        return errors.AmbiguousError(f"no answer in time: {exc}")
    if isinstance(exc, requests.ConnectionError) and _never_sent(exc):
        return errors.ConnectError(f"could not connect: {exc}")
    return errors.AmbiguousError(f"connection lost after sending: {exc}")


def _never_sent(exc: BaseException) -> bool:
    # requests wraps urllib3's MaxRetryError whose `reason` is the real cause; walk the chain.
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NewConnectionError | NameResolutionError | ConnectTimeoutError):
            return True
        reason = getattr(current, "reason", None)
        nxt = reason if isinstance(reason, BaseException) else None
        if nxt is None and current.args and isinstance(current.args[0], BaseException):
            nxt = current.args[0]
        current = nxt or current.__cause__ or current.__context__
    return False


# `@` is legal in a path segment (RFC 3986 pchar) and Kaizala's clients sent it literally in group
# ids (`/v1/groups/abc@1/messages`); a server routing on the raw path answers 404 to `%40`.
_SEGMENT_SAFE = "@"


def api_url(base_url: str, *segments: str) -> str:
    """`{base}/v1/{segments}`: each segment percent-encoded except `@` (ids may contain `/`, `?`, `%`)."""
    base = base_url.rstrip("/")
    base = base.removesuffix("/v1")  # accept the API root as well as the host
    return base + "/v1/" + "/".join(quote(str(segment), safe=_SEGMENT_SAFE) for segment in segments)
