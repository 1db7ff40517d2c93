"""The REST API's access matrix: every API URL × a key of (no role, Viewer, Operator, Admin) × GET, POST,
DELETE, against one table. The URL conf is walked: a new API URL fails until it has a row.

Writes carry an empty JSON body: a role that may write gets past the permission check (400 for a create
with no fields, the action's own answer otherwise); one that may not gets 403 before anything runs.
"""

import pytest
from django.urls import reverse

from accounts.roles import Role
from tests.api.conftest import ApiClient
from tests.security.world import all_routes, make_world

WHO = (None, Role.VIEWER, Role.OPERATOR, Role.ADMIN)
READ = (403, 200, 200, 200)
NO_WRITE = (403, 403, 405, 405)  # a write method where there is none: the permission check comes first
NO_READ = (403, 405, 405, 405)


def write(ok: int) -> tuple:
    return (403, 403, ok, ok)


MATRIX = {
    "connectors": {"GET": READ},
    "connector": {"GET": READ},
    "phone_users": {"GET": READ},
    "phone_user": {"GET": READ},
    "groups": {"GET": READ, "POST": write(400)},
    "group": {"GET": READ},
    "group_members": {"GET": NO_READ, "POST": write(400)},
    "group_member": {"GET": NO_READ, "DELETE": write(202)},  # accepted: a worker removes it at Kaizala
    "messages": {"GET": READ, "POST": write(400)},
    "message": {"GET": READ},
    "message_cancel": {"GET": NO_READ, "POST": write(200)},  # the world's message is scheduled
    "message_retry": {"GET": NO_READ, "POST": write(409)},  # ... so it cannot be retried
    "message_results": {"GET": (403, 409, 409, 409)},  # ... and it is no action: it has no results
    "posts": {"GET": READ},
    "responses": {"GET": READ},
    "schedules": {"GET": READ},
    "schedule": {"GET": READ},
    "schedule_pause": {"GET": NO_READ, "POST": write(200)},
    "schedule_resume": {"GET": NO_READ, "POST": write(409)},  # the world's schedule is active
    "schedule_end": {"GET": NO_READ, "POST": write(200)},
    "callback": {"GET": (403, 404, 404, 404), "DELETE": write(204)},  # no callback registered yet: 404
}
API_ROUTES = sorted(name.removeprefix("api:") for name, route in all_routes() if route.startswith("api/v1/"))


def test_every_api_url_has_a_row():
    assert set(API_ROUTES) == set(MATRIX), set(API_ROUTES) ^ set(MATRIX)


def _url(name: str, world: dict) -> str:
    target = {"connector": "connector", "phone_user": "phone_user", "group": "group", "group_members": "group",
              "message": "message", "message_cancel": "message", "message_retry": "message",
              "message_results": "message",
              "schedule": "schedule", "schedule_pause": "schedule", "schedule_resume": "schedule",
              "schedule_end": "schedule"}.get(name)
    if name == "callback":
        return reverse("api:callback")
    if name == "group_member":
        return reverse("api:group_member", args=[world["group"].pk, world["member"].pk])
    return reverse(f"api:{name}", args=[world[target].pk] if target else [])


@pytest.mark.django_db
@pytest.mark.parametrize("who", WHO, ids=lambda w: w.name.lower() if w else "no-role")
@pytest.mark.parametrize("name", API_ROUTES)
def test_api_access(name, who, api_key_for):
    client = ApiClient(api_key_for(who))
    for method in ("GET", "POST", "DELETE"):
        world = make_world()  # a write may change the world: each request gets its own
        url = _url(name, world)
        want = MATRIX[name].get(method, NO_WRITE if method != "GET" else NO_READ)[WHO.index(who)]
        response = client.post(url) if method == "POST" else client.request(method, url)
        assert response.status_code == want, f"{method} {url} as {who}: {response.status_code} {response.content}"
