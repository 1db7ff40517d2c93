"""API test helpers: a key for a user of each role, and a client that sends it."""

import pytest
from django.test import Client

from api import services
from audit.actor import SYSTEM
from tests.security.world import make_world


class ApiClient:
    """The Django test client with `Authorization: Bearer <key>` and JSON bodies."""

    def __init__(self, raw_key: str | None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw_key}"} if raw_key else {}

    def request(self, method: str, url: str, body=None, headers=None):
        kwargs = {"headers": {**self.headers, **(headers or {})}}
        if body is not None:
            kwargs.update(data=body, content_type="application/json")
        return self.client.generic(method, url, **kwargs) if body is None else getattr(
            self.client, method.lower())(url, **kwargs)

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def post(self, url, body=None, **kw):
        return self.request("POST", url, body if body is not None else {}, **kw)

    def delete(self, url, **kw):
        return self.request("DELETE", url, **kw)


@pytest.fixture
def api_key_for(make_user, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    made = {}

    def make(role, **kwargs):
        name = f"api-{getattr(role, 'name', 'norole').lower()}"
        if name not in made:
            made[name] = make_user(name, role)
        _, raw = services.api_key_create(owner=made[name], name=f"key of {name}", actor=SYSTEM, **kwargs)
        return raw

    return make


@pytest.fixture
def api(api_key_for):
    """`api(Role.OPERATOR)` → an ApiClient with a fresh key of a user holding that role."""
    return lambda role, **kwargs: ApiClient(api_key_for(role, **kwargs))


@pytest.fixture
def world(db):
    return make_world()
