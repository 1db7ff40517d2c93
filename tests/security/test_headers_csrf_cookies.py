"""CSRF on every form, cookie flags and `check --deploy` in production settings, and the security headers
(CSP without inline script, frame denial, nosniff, referrer policy) on every page."""

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.test import Client

from accounts.roles import Role
from connectors.models import PhoneUser
from tests.fixtures.celery_worker import ROOT, celery_env
from tests.fixtures.users import PASSWORD
from tests.security.test_access_matrix import CONSOLE, KEY_ONLY, MATRIX
from tests.security.world import concrete, make_world

PRODUCTION = {
    "DEBUG": "false", "SECRET_KEY": "prod-" + "k" * 60, "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "console.example.org,testserver",
}


@pytest.fixture
def admin_client(make_user, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("csrf-admin", Role.ADMIN))
    return client


@pytest.mark.django_db
def test_every_post_without_a_csrf_token_is_refused_and_changes_nothing(admin_client):
    world = make_world()
    posted = 0
    for name, route in CONSOLE:
        if MATRIX[name]["POST"][3] == 405 or MATRIX[name]["POST"] == KEY_ONLY or name == "events:receiver":
            continue  # KEY_ONLY: the REST API takes no cookie (tests/api); the receiver: Kaizala's token, not CSRF
        url = concrete(name, route, world)
        response = admin_client.post(url, {"name": "x", "text": "x", "mobile_number": "+919812345678", "pin": "1234"})
        assert response.status_code == 403, f"POST {url} without a CSRF token: {response.status_code}"
        assert b"CSRF" in response.content
        posted += 1
    assert posted >= 25  # the walk found the console's forms and actions
    assert PhoneUser.objects.get(pk=world["phone_user"].pk).state == PhoneUser.State.ACTIVE


@pytest.mark.django_db
def test_the_login_form_needs_its_csrf_token(make_user):
    make_user("csrf-login", Role.VIEWER)
    client = Client(enforce_csrf_checks=True)
    assert client.post("/login/", {"username": "csrf-login", "password": PASSWORD}).status_code == 403
    page = client.get("/login/")
    token = page.cookies["csrftoken"].value
    ok = client.post("/login/", {"username": "csrf-login", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert ok.status_code == 302


def test_check_deploy_is_clean_in_production_settings():
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process (Playwright's event loop); a
    # deployment would not have it, and check --deploy rightly warns about it.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env={**env, **PRODUCTION}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


PRODUCTION_COOKIES = """
import django, json
django.setup()
from django.test import Client
from django.contrib.auth import get_user_model
client = Client()
login = client.get("/login/", secure=True, HTTP_HOST="console.example.org")
token = login.cookies["csrftoken"].value
after = client.post("/login/", {"username": "cookie-user", "password": %r, "csrfmiddlewaretoken": token},
                    secure=True, HTTP_HOST="console.example.org", HTTP_REFERER="https://console.example.org/login/")
plain = Client().get("/login/", HTTP_HOST="console.example.org")
out = {"status": after.status_code, "plain": [plain.status_code, plain.get("Location", "")],
       "hsts": login.get("Strict-Transport-Security", "")}
for name, morsel in [*login.cookies.items(), *after.cookies.items()]:
    out[name] = {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"]), "samesite": morsel["samesite"]}
print(json.dumps(out))
"""


@pytest.mark.django_db(transaction=True)
def test_session_and_csrf_cookies_are_secure_and_httponly_in_production(make_user, tmp_path):
    import json

    make_user("cookie-user", Role.VIEWER)
    # Production serves hashed static files from a manifest: collect them first, as a release does.
    env = {**celery_env(), **PRODUCTION, "DJANGO_SETTINGS_MODULE": "kaizala_console.settings",
           "STATIC_ROOT": str(tmp_path / "static")}
    collected = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT,
                               env=env, capture_output=True, text=True, timeout=180)
    assert collected.returncode == 0, collected.stderr
    result = subprocess.run([sys.executable, "-c", PRODUCTION_COOKIES % PASSWORD], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["status"] == 302, seen  # logged in
    for cookie in ("sessionid", "csrftoken"):
        assert seen[cookie]["secure"] and seen[cookie]["httponly"], (cookie, seen[cookie])
        assert seen[cookie]["samesite"] in ("Lax", "Strict")
    assert seen["plain"] == [301, "https://console.example.org/login/"], "plain HTTP is not sent to HTTPS"
    assert "max-age=31536000" in seen["hsts"]


@pytest.mark.django_db
def test_every_page_sends_the_security_headers(admin_client):
    world = make_world()
    pages = 0
    for name, route in [*CONSOLE, ("login", "login/")]:
        client = Client() if name == "login" else admin_client
        response = client.get(concrete(name, route, world))
        if response.status_code == 405:
            continue
        pages += 1
        csp = response.headers.get("Content-Security-Policy", "")
        directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
        assert directives.get("script-src") == ["'self'"], f"{name}: {csp!r}"
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, f"{name}: {csp!r}"
        assert directives.get("frame-ancestors") == ["'none'"], f"{name}: {csp!r}"
        assert directives.get("object-src") == ["'none'"]
        assert response.headers.get("X-Frame-Options") == "DENY", name
        assert response.headers.get("X-Content-Type-Options") == "nosniff", name
        assert response.headers.get("Referrer-Policy") == "same-origin", name
    assert pages >= 25


@pytest.mark.django_db
def test_no_console_template_has_inline_script_or_style():
    import re

    offenders = []
    for path in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]:
        text = re.sub(r"\{#.*?#\}", "", path.read_text())  # template comments are never sent
        for match in re.finditer(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style|javascript:", text):
            offenders.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert not offenders, offenders
