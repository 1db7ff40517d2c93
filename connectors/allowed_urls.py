"""Where the console may send a connector's secret and a phone user's token.

A connector's auth base URL must be one of `allowed_auth_urls()`; a phone user's endpoint (the
`endpointUrl` Kaizala returns, or a 308's `Location`) must be on one of `allowed_endpoint_hosts()`.
Without this, an Admin could point a connector elsewhere and receive its secret, or make the workers
call any URL. The form checks it, and the worker checks it again before every call (kaizala_access),
so a URL stored before the rule existed is refused too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

# Kaizala's own hosts (kaizala-api.md §1: api.kaiza.la, kms*.kaiza.la, *.KaizalaMessaging.osi.office.net).
KAIZALA_HOSTS = ("*.kaiza.la", "*.kaizalamessaging.osi.office.net")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _normal(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def allowed_auth_urls() -> list[str]:
    urls = list(settings.KAIZALA_AUTH_URLS) or [settings.KAIZALA_AUTH_URL]
    if settings.KAIZALA_SANDBOX_URL and not settings.KAIZALA_AUTH_URLS:
        urls.append(settings.KAIZALA_SANDBOX_URL)
    return list(dict.fromkeys(url.rstrip("/") for url in urls if url))


def auth_url_allowed(url: str) -> bool:
    return bool(url) and _normal(url) in {_normal(allowed) for allowed in allowed_auth_urls()}


def _scheme_host_port(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    return scheme, parts.hostname.lower(), port


def allowed_endpoint_hosts() -> list[str]:
    if settings.KAIZALA_ENDPOINT_HOSTS:
        return list(settings.KAIZALA_ENDPOINT_HOSTS)
    hosts = [urlsplit(url).netloc.lower() for url in allowed_auth_urls()]
    return list(dict.fromkeys([*hosts, *KAIZALA_HOSTS]))


def endpoint_url_allowed(url: str) -> bool:
    """An entry is `host`, `host:port` or `*.domain`; without a port only the scheme's default port matches."""
    found = _scheme_host_port(url)
    if found is None:
        return False
    scheme, host, port = found
    for entry in allowed_endpoint_hosts():
        try:
            allowed = urlsplit(f"//{entry.strip().lower()}")
            name, entry_port = allowed.hostname or "", allowed.port
        except ValueError:
            continue
        if port != (entry_port or _DEFAULT_PORTS[scheme]):
            continue
        if host == name or (name.startswith("*.") and host.endswith(name[1:])):
            return True
    return False


def url_host(url: str) -> str:
    """The host a person may be told about (never a path, which can hold an id)."""
    try:
        return urlsplit(url).netloc or url[:60]
    except ValueError:
        return url[:60]
