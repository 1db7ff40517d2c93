"""One error shape for every API answer that is not a success:

    {"error": {"code": "<stable code>", "message": "<a sentence>", "fields": {...}}}

`fields` only for validation errors (field name → list of sentences). Codes are listed in CODES and in
the schema; a client may rely on them.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler

CODES = {
    "validation_error": "The request has errors; see `fields`.",
    "parse_error": "The body is not valid JSON.",
    "not_authenticated": "Send an API key: Authorization: Bearer <key>.",
    "authentication_failed": "The API key is not valid, revoked or expired.",
    "permission_denied": "The key's user lacks the role this needs.",
    "not_found": "No such object.",
    "method_not_allowed": "This URL does not take that method.",
    "not_acceptable": "The API answers in JSON only.",
    "unsupported_media_type": "Send the body as application/json.",
    "throttled": "Too many requests for this key; wait Retry-After seconds.",
    "conflict": "The object's state does not allow this (or an Idempotency-Key was reused with another body).",
}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = CODES["conflict"]


def _code(exc) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "validation_error"
    if isinstance(exc, exceptions.Throttled):
        return "throttled"
    code = getattr(exc, "default_code", "error")
    return {"invalid": "validation_error"}.get(code, code)


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        # A service refused: the request was well-formed, the state of things does not allow it.
        exc = Conflict(" ".join(exc.messages))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = _code(exc)
    error = {"code": code}
    if code == "validation_error":
        error["message"] = CODES[code]
        detail = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        error["fields"] = detail
    elif code == "throttled":
        error["message"] = f"Too many requests for this key; try again in {exc.wait or 1:.0f} seconds."
    else:
        # DRF's stock sentences are replaced by ours; a sentence a view or service wrote is kept.
        own = isinstance(exc.detail, str) and str(exc.detail) != str(type(exc).default_detail)
        error["message"] = str(exc.detail) if own or code not in CODES else CODES[code]
    response.data = {"error": error}
    return response


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "enum": sorted(CODES)},
            "message": {"type": "string"},
            "fields": {"type": "object", "description": "Field name → its errors (validation_error only)."},
        },
    }},
}

ERROR_STATUSES = {"400": "validation_error or parse_error", "401": "not_authenticated or authentication_failed",
                  "403": "permission_denied", "404": "not_found", "405": "method_not_allowed",
                  "406": "not_acceptable", "409": "conflict", "415": "unsupported_media_type",
                  "429": "throttled (see Retry-After)"}


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation documents the error answers it may give."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            for status_code, what in ERROR_STATUSES.items():
                responses.setdefault(status_code, {"description": what,
                                                   "content": {"application/json": {"schema": ref}}})
    return result
