"""The error taxonomy of the Kaizala client.

Every failure of a call is a `KaizalaError`; callers act on its attributes instead of on
status codes:

* `retryable` - sending the same request again later may succeed.
* `maybe_applied` - the request may have taken effect on the server although we got no
  answer (do not re-send a message automatically; an operator decides).
"""

from __future__ import annotations

from urllib.parse import urljoin


class KaizalaError(Exception):
    retryable = False
    maybe_applied = False

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        error_code: str | None = None,
        error_category: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.error_category = error_category
        self.method = method
        self.url = url

    def __reduce__(self):
        # Celery pickles task exceptions; the keyword-only constructors cannot be replayed from args.
        return _restore, (type(self), self.message, self.__dict__)

    def __str__(self) -> str:
        parts = [self.message or type(self).__name__]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.error_code:
            parts.append(f"errorCode={self.error_code}")
        if self.method and self.url:
            parts.append(f"{self.method} {self.url}")
        return " | ".join(parts)


def _restore(cls: type[KaizalaError], message: str, state: dict) -> KaizalaError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class InvalidToken(KaizalaError):
    """401 (or an `InvalidToken`/`Unauthenticated` errorCode): refresh the access token and retry once.

    On the auth calls it means the refresh token or the connector credentials were rejected.
    """

    retryable = True


class EndpointMoved(KaizalaError):
    """308: the user's endpoint moved; store `endpoint_url` and retry there."""

    retryable = True

    def __init__(self, message: str = "", *, location: str, **kwargs):
        super().__init__(message, **kwargs)
        # A relative Location is resolved against the URL that was called.
        self.location = urljoin(kwargs.get("url") or "", location)

    @property
    def endpoint_url(self) -> str:
        """The new base URL: the Location up to its `/v1/` path, or the Location itself."""
        head, sep, _ = self.location.partition("/v1/")
        return head + "/" if sep else self.location


class RateLimited(KaizalaError):
    """429 from Kaizala, or the local limiter could not get a token within its bounded wait.

    `retry_after` is the suggested wait in seconds; `from_limiter` tells the two apart
    (the request was not sent when it is True).
    """

    retryable = True

    def __init__(self, message: str = "", *, retry_after: float, from_limiter: bool = False, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.from_limiter = from_limiter


class PermanentError(KaizalaError):
    """A 4xx (other than 401/429) or an error body on a 2xx: the same request will fail again."""


class BadRequest(PermanentError):
    """400/415/422: the request itself is wrong."""


class PermissionDenied(PermanentError):
    """403."""


class NotFound(PermanentError):
    """404."""


class ServerError(KaizalaError):
    """5xx: Kaizala failed; `status` tells which. A 504 came from a gateway and may have been applied."""

    retryable = True

    @property
    def maybe_applied(self) -> bool:  # type: ignore[override]
        return self.status == 504


class ConnectError(KaizalaError):
    """The request never left (DNS, refused, connect timeout, TLS handshake): safe to retry."""

    retryable = True


class AmbiguousError(KaizalaError):
    """Read timeout or a dropped connection after the request was sent: it may have taken effect."""

    retryable = True
    maybe_applied = True


class MalformedResponse(KaizalaError):
    """The body is not JSON, or not the shape the call returns. `body_start` keeps its first bytes.

    Not retryable by default: a server that answers garbage is not expected to heal in seconds,
    and the call may have been applied.
    """

    maybe_applied = True

    def __init__(self, message: str = "", *, body_start: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.body_start = body_start
