"""Console-wide HTTP rules: a HEAD answer carries no body, no dynamic page may be cached, and a form body
the console cannot read is refused with 400 before anything reads it."""

import codecs
import logging
import time

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import HttpResponseBadRequest
from django.http.multipartparser import MultiPartParserError
from django.utils.cache import add_never_cache_headers

logger = logging.getLogger(__name__)

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Browsers send the console's forms in UTF-8 (the pages are UTF-8); ASCII is a subset of it.
READABLE_CHARSETS = {"utf-8", "ascii"}


def request_metrics(get_response):
    """Count and time every answer, labelled by the view's name (a bounded set), not by its URL."""
    from kaizala_console import metrics

    def middleware(request):
        started = time.perf_counter()
        response = get_response(request)
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match else "unmatched"
        metrics.http_answered(view=view, method=request.method if request.method in _METHODS else "other",
                              status=response.status_code, seconds=time.perf_counter() - started)
        return response

    return middleware


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def head_without_body(get_response):
    """Drop the body of every answer to HEAD (the headers stay, Content-Length included).

    Django leaves that to the server and gunicorn sends what it is given: a keep-alive client would read
    the body as the next answer's status line. First in MIDDLEWARE, so it covers every other layer.
    """

    def middleware(request):
        response = get_response(request)
        if request.method == "HEAD":
            if response.streaming:
                response.streaming_content = []
            else:
                response.content = b""
        return response

    return middleware


def no_store(get_response):
    """Every page the console renders is personal (behind login, or the login form with its CSRF token):
    no browser or proxy keeps a copy. Static files are served before this layer and keep their caching."""

    def middleware(request):
        response = get_response(request)
        add_never_cache_headers(response)
        return response

    return middleware


def _unreadable_form(request) -> str:
    """Why the form body of `request` cannot be read, or "" when it can (then it is parsed)."""
    charset = request.content_params.get("charset")
    if charset is not None:
        try:
            name = codecs.lookup(charset).name
        except LookupError:
            return f"The form was sent in an unknown character set ({charset[:40]}). Send it as UTF-8."
        if name not in READABLE_CHARSETS:
            return f"The form was sent as {charset[:40]}; the console reads forms in UTF-8 only."
        if request.content_type == FORM_TYPES[0]:
            request.encoding = "utf-8"  # "utf8", "UTF-8" or "ascii": Django accepts only the one spelling
    try:
        request.POST  # noqa: B018 - parse now, where a failure can still be answered with 400
    except (BadRequest, MultiPartParserError, SuspiciousOperation) as exc:
        return f"The form could not be read: {exc}"
    return ""


def unreadable_form_refused(get_response):
    """Answer 400 with a sentence to a form body in a character set the console does not read, or that does
    not parse. Left to Django, the CSRF check reads it first and, with DEBUG on, the error page reads it
    again while reporting the first failure: the server's bare "Internal Server Error"."""

    def middleware(request):
        if request.method == "POST" and request.content_type in FORM_TYPES:
            problem = _unreadable_form(request)
            if problem:
                logger.warning("Bad request (unreadable form): %s %s", request.path, problem)
                return HttpResponseBadRequest(problem, content_type="text/plain; charset=utf-8")
        return get_response(request)

    return middleware
