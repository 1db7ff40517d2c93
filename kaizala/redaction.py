"""Redaction of secrets in bodies, headers and log text.

Reusable outside the client (the console redacts its logs with it). Two mechanisms, because
neither alone is enough:

* by key: any JSON key or header named like a secret (case-insensitive, at any depth) has
  its value replaced;
* by value: any known secret string is replaced wherever it appears, which covers non-JSON
  bodies, URLs and free text (e.g. an error message quoting a token).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"

# Lower-case names; matching is case-insensitive with "-" and "_" ignored, so the header
# `kz-callback-token` and the form field `client_secret` match too.
SECRET_KEYS = frozenset(
    {
        "applicationsecret",
        "clientsecret",
        "refreshtoken",
        "accesstoken",
        "pin",
        "code",  # the OAuth authorization code
        "callbacktoken",
        "kzcallbacktoken",
        "authorization",
        "cookie",
        "setcookie",
    }
)

# Values shorter than this are not replaced by value (a 1-character "secret" would shred the text);
# PINs are 4+ digits, so they stay covered.
_MIN_SECRET_LEN = 4


def is_secret_key(name: str) -> bool:
    return name.replace("-", "").replace("_", "").lower() in SECRET_KEYS


def collect_secrets(data: Any) -> set[str]:
    """The string values stored under secret keys anywhere in a JSON-like value or a header mapping."""
    found: set[str] = set()
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(key, str) and is_secret_key(key) and isinstance(value, str | int) and value != "":
                found.add(str(value))
            else:
                found |= collect_secrets(value)
    elif isinstance(data, list | tuple):
        for item in data:
            found |= collect_secrets(item)
    return found


def _usable(secrets: Iterable[str]) -> list[str]:
    # Longest first, so a secret that contains another is replaced whole.
    return sorted({s for s in secrets if s and len(s) >= _MIN_SECRET_LEN}, key=len, reverse=True)


def _replace_values(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def redact_data(data: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of a JSON-like value with secret keys redacted and known secret values replaced."""
    return _redact_data(data, _usable(secrets))


def _redact_data(data: Any, secrets: list[str]) -> Any:
    if isinstance(data, Mapping):
        return {
            key: REDACTED if isinstance(key, str) and is_secret_key(key) else _redact_data(value, secrets)
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [_redact_data(item, secrets) for item in data]
    if isinstance(data, str):
        return _replace_values(data, secrets)
    return data


def redact_text(text: str | None, secrets: Iterable[str] = ()) -> str | None:
    """Redact a body or a log line: by key when it parses as JSON, by known values in any case."""
    if text is None:
        return None
    usable = _usable(secrets)
    try:
        parsed = json.loads(text)
    except ValueError:
        return _replace_values(text, usable)
    if isinstance(parsed, dict | list):
        return json.dumps(_redact_data(parsed, usable), ensure_ascii=False)
    return _replace_values(text, usable)


def redact_headers(headers: Mapping[str, str] | None, secrets: Iterable[str] = ()) -> dict[str, str]:
    usable = _usable(secrets)
    return {
        name: REDACTED if is_secret_key(name) else _replace_values(str(value), usable)
        for name, value in (headers or {}).items()
    }
