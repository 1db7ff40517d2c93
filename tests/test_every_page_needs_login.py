"""Walk the whole URL conf: every page, requested anonymously, sends the visitor to a login page.

New pages are covered automatically; the only exceptions are the login page itself and the
static files, listed here with the reason.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

PUBLIC = {
    "login": "the login page itself",
    "admin:login": "the admin's own login page",
    "healthz": "the liveness probe: a load balancer has no session (it says only that the process answers)",
    "metrics": "Prometheus' scrape: METRICS_TOKEN (Bearer) or METRICS_ALLOWED_IPS instead of a session",
    "readyz": "the readiness probe: a load balancer has no session (it names failed checks, nothing secret)",
    "events:receiver": "Kaizala's webhook callbacks: a random key per subscription and its token, no login",
    "password_set": "the one-time link of an invitation or a forced reset: its token is the credential",
    "password_set_done": "the page after that link says the password is set",
    "api:schema": "the REST API's schema: its shape, no data",
}
# The REST API authenticates by key, never by session: without one it answers 401 in JSON (tests/api).
API_BY_KEY = "/api/v1/"
# A value that fits each converter, so patterns with parameters can be requested too.
SAMPLE_BY_CONVERTER = {"int": "1", "slug": "x", "uuid": "00000000-0000-0000-0000-000000000000", "str": "x",
                       "path": "x"}


def _walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}" if entry.name else None, prefix + str(entry.pattern)


def _concrete(route: str) -> str:
    route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE_BY_CONVERTER[m.group(1) or "str"], route)
    # Regex routes (the admin's): drop anchors and fill groups with a sample value.
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "x", route).replace("^", "").replace("$", "")
    return "/" + route


ROUTES = sorted(
    {(name, _concrete(route)) for name, route in _walk(get_resolver().url_patterns) if name not in PUBLIC},
    key=lambda r: r[1],
)


def test_the_walk_finds_the_console_pages():
    names = {name for name, _ in ROUTES}
    assert {"dashboard", "logout", "password_change"} <= names


@pytest.mark.django_db
def test_the_login_page_is_public(client):
    assert client.get("/login/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "url"), ROUTES, ids=[url for _, url in ROUTES])
def test_anonymous_request_goes_to_login(client, name, url):
    for method in (client.get, client.post):
        response = method(url)
        if url.startswith(API_BY_KEY):
            assert response.status_code == 401, f"{method.__name__.upper()} {url} → {response.status_code}"
            continue
        if response.status_code == 404:
            # A parameterised admin URL whose sample object does not exist still had to pass login first.
            assert url.startswith("/admin/"), f"{url} answered 404 before asking for login"
            continue
        assert response.status_code == 302, f"{method.__name__.upper()} {url} → {response.status_code}"
        assert "/login/" in response["Location"], f"{url} redirected to {response['Location']}"
