"""`Call`: what an API handler gets — the request, the store, the caller and a parsed body."""

import re

from . import lenient_json
from .errors import bad_request

MOBILE_RE = re.compile(r"^\+\d{7,15}$")
TRUE_STRINGS = {"true", "1", "yes"}


class Call:
    def __init__(self, app, request, prefix: str | None):
        self.app = app
        self.store = app.store
        self.request = request
        self.prefix = prefix  # endpoint prefix like "kms", None on the auth host
        # endpointUrl and Location follow the Host the client used (built directly: request.host_url is slow).
        environ = request.environ
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        self.base_url = f"{environ['wsgi.url_scheme']}://{host}/"
        self.principal = None  # the access-token record, once authenticated
        self._body = None

    def body(self) -> lenient_json.CIDict:
        """The request body parsed leniently; an empty body is an empty object."""
        if self._body is None:
            raw = self.request.get_data(cache=True, as_text=True).strip()
            if not raw:
                self._body = lenient_json.CIDict()
            else:
                try:
                    value = lenient_json.loads(raw)
                except (ValueError, IndexError) as exc:
                    raise bad_request(f"The request body is not valid JSON: {exc}") from exc
                if not isinstance(value, dict):
                    raise bad_request("The request body must be a JSON object")
                self._body = value
        return self._body

    def endpoint_url(self, mobile: str) -> str:
        return f"{self.base_url}{self.store.endpoint_prefix(mobile)}/"

    def emit(self, **event):
        self.app.deliverer.enqueue(**event)


# -- validation helpers shared by the handlers -----------------------------------------------
def req_str(body, name: str, *aliases: str, max_len: int | None = None) -> str:
    for key in (name, *aliases):
        value = body.get(key)
        if value is not None:
            break
    if not isinstance(value, str | int) or isinstance(value, bool) or str(value).strip() == "":
        raise bad_request(f"'{name}' is required and must be a non-empty string")
    value = str(value)
    if max_len is not None and len(value) > max_len:
        raise bad_request(f"'{name}' is longer than {max_len} characters ({len(value)})")
    return value


def opt_str(body, name: str, default: str = "") -> str:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise bad_request(f"'{name}' must be a string")
    return value


def opt_bool(value, name: str, default: bool = False) -> bool:
    """Booleans arrive as true/false and, in documented samples, as the strings "true"/"false"."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_STRINGS | {"false", "0", "no"}:
        return value.strip().lower() in TRUE_STRINGS
    raise bad_request(f"'{name}' must be a boolean")


def opt_int(value, name: str, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise bad_request(f"'{name}' must be an integer") from exc


def mobile(value, name: str = "mobileNumber") -> str:
    if not isinstance(value, str) or not MOBILE_RE.match(value.strip()):
        raise bad_request(f"'{name}' must be a phone number in E.164 form like +911199999999, got {value!r}")
    return value.strip()


def mobile_list(body, name: str, required: bool = False, max_items: int | None = None) -> list[str]:
    value = body.get(name)
    if value is None:
        if required:
            raise bad_request(f"'{name}' is required")
        return []
    if not isinstance(value, list):
        raise bad_request(f"'{name}' must be a list of phone numbers")
    if max_items is not None and len(value) > max_items:
        raise bad_request(f"'{name}' has {len(value)} entries; at most {max_items} are allowed")
    return list(dict.fromkeys(mobile(v, name) for v in value))
