"""Every URL of the console × anonymous, Viewer, Operator, Admin × GET and POST, against one table.

The URL conf is walked, so a new page fails `test_every_url_has_a_row` until someone decides who may
use it. POSTs carry no form data: a role that may act gets the form back with errors (200/400) or is
redirected after the action; one that may not gets 403 before anything runs.
"""

import pytest
from django.test import Client

from accounts.roles import Role
from tests.security.world import all_routes, concrete, make_world

ANON, VIEWER, OPERATOR, ADMIN = "anonymous", Role.VIEWER, Role.OPERATOR, Role.ADMIN
WHO = (ANON, VIEWER, OPERATOR, ADMIN)

# Shorthands: the four statuses for (anonymous, Viewer, Operator, Admin).
L = 302  # anonymous → the login page
READ = (L, 200, 200, 200)  # a read-only page, for every role
NO_POST = (L, 405, 405, 405)  # ... which answers any other method with 405
OPERATOR_FORM = (L, 403, 200, 200)
ADMIN_FORM = (L, 403, 403, 200)
KEY_ONLY = (401, 401, 401, 401)


def post_only(who: str, ok: int) -> dict:
    """A POST-only action: GET is 405 for the roles allowed, 403 for the others."""
    allowed = {"operator": (L, 403, 405, 405), "admin": (L, 403, 403, 405)}[who]
    done = {"operator": (L, 403, ok, ok), "admin": (L, 403, 403, ok)}[who]
    return {"GET": allowed, "POST": done}


# URL name → {method: (anonymous, Viewer, Operator, Admin)}
MATRIX = {
    "dashboard": {"GET": READ, "POST": NO_POST},
    # health probes: no login (documented exceptions); readiness is 503 here, as no beat ticks in a test
    "healthz": {"GET": (200, 200, 200, 200), "POST": (405, 405, 405, 405)},
    "readyz": {"GET": (503, 503, 503, 503), "POST": (405, 405, 405, 405)},
    # Prometheus' scrape: a bearer token or an allowed address, never a session; neither set here → 403
    "metrics": {"GET": (403, 403, 403, 403), "POST": (405, 405, 405, 405)},
    "login": {"GET": (200, 302, 302, 302), "POST": (200, 302, 302, 302)},  # logged in → sent on
    "logout": {"GET": (L, 405, 405, 405), "POST": (L, 302, 302, 302)},
    "password_change": {"GET": READ, "POST": READ},  # anyone logged in, for themselves; empty POST → errors
    "password_change_done": {"GET": READ, "POST": (L, 405, 405, 405)},
    "preferences": {"GET": READ, "POST": READ},
    # the one-time set-password link (a made-up token here: the "link does not work" page) and its end
    "password_set": {"GET": (200, 200, 200, 200), "POST": (200, 200, 200, 200)},
    "password_set_done": {"GET": (200, 200, 200, 200), "POST": (405, 405, 405, 405)},
    # users and roles: Admins only
    "accounts:users": {"GET": ADMIN_FORM, "POST": (L, 403, 403, 405)},
    "accounts:invite": {"GET": ADMIN_FORM, "POST": ADMIN_FORM},
    "accounts:role": post_only("admin", 302),
    "accounts:deactivate": {"GET": ADMIN_FORM, "POST": ADMIN_FORM},  # unconfirmed: the confirmation page
    "accounts:activate": post_only("admin", 302),
    "accounts:reset_password": {"GET": ADMIN_FORM, "POST": ADMIN_FORM},
    "accounts:reset_two_step": {"GET": ADMIN_FORM, "POST": ADMIN_FORM},
    # two-step login, for oneself. The Admins here have typed their code (tests/fixtures/users.py), so the
    # code page and enrolment send them on; the Viewer and Operator have no authenticator yet.
    "two_step_verify": {"GET": (L, 200, 200, 302), "POST": (L, 200, 200, 302)},
    "two_step_enrol": {"GET": (L, 200, 200, 302), "POST": READ},
    "two_step_status": {"GET": READ, "POST": NO_POST},
    # the audit trail: Admins read and export it; nothing edits or deletes a record
    "audit:list": {"GET": ADMIN_FORM, "POST": (L, 403, 403, 405)},
    "audit:export": {"GET": ADMIN_FORM, "POST": (L, 403, 403, 405)},
    # connectors and phone users: read by all roles, changed by Admins only
    "connectors:list": {"GET": READ, "POST": NO_POST},
    "connectors:detail": {"GET": READ, "POST": NO_POST},
    "connectors:create": {"GET": ADMIN_FORM, "POST": ADMIN_FORM},
    "connectors:create_in_sandbox": post_only("admin", 302),
    "connectors:edit": {"GET": ADMIN_FORM, "POST": ADMIN_FORM},
    # asks first: GET, or a POST without confirmed=1, shows what it will affect
    "connectors:activate": {"GET": ADMIN_FORM, "POST": ADMIN_FORM},
    "connectors:deactivate": {"GET": ADMIN_FORM, "POST": ADMIN_FORM},
    "connectors:phone_users": {"GET": READ, "POST": NO_POST},
    "connectors:onboard": {"GET": ADMIN_FORM, "POST": ADMIN_FORM},
    "connectors:add_token": {"GET": ADMIN_FORM, "POST": ADMIN_FORM},
    "connectors:phone_user": {"GET": READ, "POST": NO_POST},
    "connectors:phone_user_status": {"GET": READ, "POST": NO_POST},
    "connectors:submit_pin": post_only("admin", 400),  # an empty PIN: the form again, with its error
    "connectors:resend_pin": post_only("admin", 302),
    "connectors:retry": post_only("admin", 302),
    # destructive: GET (or a POST without confirmed=1) shows what it will affect and asks first
    "connectors:reonboard": {"GET": ADMIN_FORM, "POST": ADMIN_FORM},
    "connectors:remove": {"GET": ADMIN_FORM, "POST": ADMIN_FORM},
    "connectors:calls": {"GET": READ, "POST": NO_POST},
    "connectors:calls_export": {"GET": READ, "POST": NO_POST},
    "connectors:call": {"GET": READ, "POST": NO_POST},
    # groups: read by all roles, changed by Operators and Admins
    "groups:list": {"GET": READ, "POST": NO_POST},
    "groups:menu": {"GET": READ, "POST": NO_POST},  # a filter menu's options (htmx)
    "connectors:phone_user_menu": {"GET": READ, "POST": NO_POST},  # a filter menu's options (htmx)
    "groups:create": {"GET": OPERATOR_FORM, "POST": OPERATOR_FORM},
    "groups:sync": post_only("operator", 302),  # no phone user named in the POST: back to the list, with a message
    "groups:sync_status": {"GET": READ, "POST": NO_POST},
    "groups:detail": {"GET": READ, "POST": NO_POST},
    "groups:members_export": {"GET": READ, "POST": NO_POST},
    "groups:status": {"GET": READ, "POST": NO_POST},
    "groups:refresh": post_only("operator", 302),
    "groups:retry": post_only("operator", 302),
    "groups:members_add": post_only("operator", 400),
    "groups:member_remove": {"GET": OPERATOR_FORM, "POST": OPERATOR_FORM},  # unconfirmed: the confirmation page
    "groups:members_remove": post_only("operator", 302),  # nothing chosen: back to the group with a note
    "groups:member_role": post_only("operator", 302),
    "groups:subgroup_create": {"GET": OPERATOR_FORM, "POST": OPERATOR_FORM},
    "groups:subscribers_add": post_only("operator", 400),
    "groups:subscriber_remove": {"GET": OPERATOR_FORM, "POST": OPERATOR_FORM},
    "groups:sender": post_only("operator", 302),  # no phone user named: back to the group, with a message
    # messages and schedules: read by all roles, changed by Operators and Admins
    "messaging:list": {"GET": READ, "POST": NO_POST},
    "messaging:export": {"GET": READ, "POST": NO_POST},
    "messaging:schedule_edit": {"GET": OPERATOR_FORM, "POST": OPERATOR_FORM},
    "messaging:compose": {"GET": OPERATOR_FORM, "POST": OPERATOR_FORM},
    "messaging:preview": post_only("operator", 200),  # an empty form: the preview says what is missing
    "messaging:media": {"GET": READ, "POST": NO_POST},  # a stored file: to logged-in users only
    "messaging:detail": {"GET": READ, "POST": NO_POST},
    "messaging:edit": {"GET": OPERATOR_FORM, "POST": OPERATOR_FORM},
    "messaging:action": {"GET": OPERATOR_FORM, "POST": OPERATOR_FORM},  # cancel: asks first
    "messaging:cancel_held": {"GET": OPERATOR_FORM, "POST": OPERATOR_FORM},  # asks first
    "messaging:bulk": post_only("operator", 302),  # nothing chosen: back to the list with a note
    "messaging:schedules": {"GET": READ, "POST": NO_POST},
    "messaging:schedule": {"GET": READ, "POST": NO_POST},
    "messaging:schedule_action": {"GET": OPERATOR_FORM, "POST": OPERATOR_FORM},  # pause: asks first
    # events: read by all roles, processed again by Operators and Admins
    "events:list": {"GET": READ, "POST": NO_POST},
    "events:detail": {"GET": READ, "POST": NO_POST},
    "events:process_again": post_only("operator", 302),
    "events:listen": post_only("operator", 302),  # the world's group is listened to: back, with a message
    "events:stop": {"GET": OPERATOR_FORM, "POST": OPERATOR_FORM},  # unconfirmed: the confirmation page
    "events:reenable": post_only("operator", 302),
    "events:conversation": {"GET": READ, "POST": NO_POST},
    "events:conversation_items": {"GET": READ, "POST": NO_POST},
    "events:reply": post_only("operator", 302),  # nothing chosen to answer: back to the conversation, with a message
    "events:inbox": {"GET": READ, "POST": NO_POST},
    # an action's results: read by all roles; refresh and reminders by Operators and Admins (the world's
    # message is no sent action: back to its page, with the reason)
    "actions:results": {"GET": READ, "POST": NO_POST},
    "actions:live": {"GET": READ, "POST": NO_POST},
    "actions:export": {"GET": (L, 302, 302, 302), "POST": NO_POST},
    "actions:refresh": post_only("operator", 302),
    "actions:remind": post_only("operator", 302),
    "actions:reminder_schedule": post_only("operator", 302),
    "actions:reminder_stop": post_only("operator", 302),
    "events:inbox_read": {"GET": (L, 405, 405, 405), "POST": (L, 302, 302, 302)},  # one's own read marker
    # Kaizala's webhook: no login for anyone; a GET without ?validationToken is 400, a POST without the
    # subscription's kz-callback-token 403, whoever is logged in
    "events:receiver": {"GET": (400, 400, 400, 400), "POST": (403, 403, 403, 403)},
    # API keys: Admins only. The world has no key: an Admin's revoke of key 1 reaches the lookup (404).
    "api:keys": {"GET": (L, 403, 403, 200), "POST": NO_POST},
    "api:key_create": {"GET": ADMIN_FORM, "POST": ADMIN_FORM},
    "api:key_revoke": {"GET": (L, 403, 403, 404), "POST": (L, 403, 403, 404)},
    "api:deliveries": {"GET": (L, 403, 403, 200), "POST": NO_POST},
    "api:delivery_replay": {"GET": (L, 403, 403, 405), "POST": (L, 403, 403, 404)},  # the world has no delivery
    "api:docs": {"GET": READ, "POST": NO_POST},
    "api:schema": {"GET": (200, 200, 200, 200), "POST": (405, 405, 405, 405)},
    # The REST API: a session opens nothing there (key only; the API's own matrix is tests/api/test_matrix.py).
    **{f"api:{name}": {"GET": KEY_ONLY, "POST": KEY_ONLY} for name in (
        "connectors", "connector", "phone_users", "phone_user", "groups", "group", "group_members", "group_member",
        "messages", "message", "message_cancel", "message_retry", "message_results", "posts", "responses",
        "schedules", "schedule", "schedule_pause", "schedule_resume", "schedule_end", "callback", "not_found")},
}
# The Django admin (users and roles): only staff get in, and no test user here is staff, so every one of
# its URLs sends everybody to a login page (the console's or the admin's) — never a 200.
ADMIN_SITE = "admin:"

ROUTES = all_routes()
CONSOLE = [(name, route) for name, route in ROUTES if not name.startswith(ADMIN_SITE)]


def test_every_url_has_a_row():
    missing = sorted(name for name, _ in CONSOLE if name not in MATRIX)
    assert not missing, f"add these URLs to MATRIX (who may GET and POST them): {missing}"
    stale = sorted(set(MATRIX) - {name for name, _ in CONSOLE})
    assert not stale, f"MATRIX names URLs that no longer exist: {stale}"
    assert {"groups:list", "groups:create", "groups:detail"} <= set(MATRIX)


@pytest.fixture
def users(make_user, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed: 4 users per test
    return {role: make_user(f"matrix-{role.name.lower()}", role) for role in Role}


@pytest.mark.django_db
@pytest.mark.parametrize("who", WHO, ids=lambda w: getattr(w, "name", w).lower())
@pytest.mark.parametrize(("name", "route"), CONSOLE, ids=[n for n, _ in CONSOLE])
def test_access(name, route, who, users):
    expected = MATRIX[name]
    for method in ("GET", "POST"):
        world = make_world()  # a POST may delete or change objects: each request gets its own
        client = Client()
        if who != ANON:
            client.force_login(users[who])
        url = concrete(name, route, world)
        response = client.generic(method, url)
        want = expected[method][WHO.index(who)]
        assert response.status_code == want, f"{method} {url} as {who}: {response.status_code}, table says {want}"
        if who == ANON and want == 302 and name != "login":
            assert response["Location"].startswith("/login/"), response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("who", WHO, ids=lambda w: getattr(w, "name", w).lower())
def test_the_django_admin_lets_no_console_role_in_without_staff(who, users):
    world = make_world()
    admin_urls = [concrete(name, route, world).replace("/x/", "/auth/") for name, route in ROUTES
                  if name.startswith(ADMIN_SITE) and name != "admin:login"]
    assert len(admin_urls) > 10
    client = Client()
    if who != ANON:
        client.force_login(users[who])
    for url in admin_urls:
        for method in ("GET", "POST"):
            response = client.generic(method, url)
            assert response.status_code in (302, 404), f"{method} {url} as {who}: {response.status_code}"
            if response.status_code == 302:
                # The admin's catch-all sends an unknown admin path to the admin index, which asks for login.
                assert "login" in response["Location"] or response["Location"] == "/admin/", response["Location"]


@pytest.mark.django_db
def test_a_viewer_post_changes_nothing(users):
    """The 403s above are not just a status: a Viewer's POST to every action leaves every row as it was."""
    from connectors.models import Connector, PhoneUser
    from groups.models import Group, GroupMember, GroupSubscriber
    from messaging.models import Message, Schedule

    world = make_world()
    models = [Connector, PhoneUser, Group, GroupMember, GroupSubscriber, Message, Schedule]
    before = {m: list(m.objects.order_by("pk").values()) for m in models}
    client = Client()
    client.force_login(users[VIEWER])
    for name, route in CONSOLE:
        if MATRIX[name]["POST"][1] == 403:
            assert client.post(concrete(name, route, world), {"name": "x", "text": "x"}).status_code == 403
    assert {m: list(m.objects.order_by("pk").values()) for m in models} == before
