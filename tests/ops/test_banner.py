"""Worker, beat and dispatcher health on the pages: a banner for Admins on every page, and the dashboard's
"Needs attention" for everyone; read from the heartbeats' Redis copies, with no query."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from kaizala_console import health
from kaizala_console.redis_client import redis_client
from tests.fixtures.celery_worker import wait_for

PAGES = ["/", "/messages/", "/groups/", "/connectors/", "/preferences/"]


@pytest.fixture
def clients(make_user):
    made = {}
    for role in (Role.VIEWER, Role.OPERATOR, Role.ADMIN):
        made[role] = Client()
        made[role].force_login(make_user(f"banner-{role.name.lower()}", role))
    return made


def banner(client, url) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    return list(response.context["health_problems"]()) if "health_problems" in response.context else []


def stale(name):
    health.heartbeat_record(name=name, now=timezone.now() - timedelta(minutes=5))


@pytest.mark.django_db
def test_no_worker_for_a_minute_shows_admins_a_banner_on_every_page(clients):
    stale(health.WORKER)
    for url in PAGES:
        page = clients[Role.ADMIN].get(url).content.decode()
        assert page.count(health.PROBLEMS[health.WORKER]) == (2 if url == "/" else 1), url  # dashboard: listed too
        for role in (Role.VIEWER, Role.OPERATOR):
            assert "data-health-banner" not in clients[role].get(url).content.decode(), (url, role)


@pytest.mark.django_db
def test_a_beat_that_has_not_ticked_shows_the_banner_and_a_dashboard_line(clients):
    stale(health.BEAT)
    assert banner(clients[Role.ADMIN], "/groups/") == [health.PROBLEMS[health.BEAT]]
    page = clients[Role.VIEWER].get("/").content.decode()
    assert health.PROBLEMS[health.BEAT] in page.split("Needs attention")[1]
    assert "Nothing needs attention" not in page


@pytest.mark.django_db
def test_heartbeats_never_written_count_as_not_seen(clients):
    redis_client().delete(*(health.redis_key(name) for name in (health.BEAT, health.WORKER, health.DISPATCHER)))
    assert banner(clients[Role.ADMIN], "/messages/") == [health.PROBLEMS[health.BEAT],
                                                         health.PROBLEMS[health.DISPATCHER]]


@pytest.mark.django_db
def test_no_dispatcher_holding_the_lease_shows_the_banner_and_a_dashboard_line(clients, settings):
    # The holder's copy older than a lease and a margin: no dispatcher has held the lease since.
    redis_client().set(health.redis_key(health.DISPATCHER),
                       timezone.now().timestamp() - settings.DISPATCHER_LEASE_SECONDS - 10)
    assert banner(clients[Role.ADMIN], "/groups/") == [health.PROBLEMS[health.DISPATCHER]]
    page = clients[Role.VIEWER].get("/").content.decode()
    assert health.PROBLEMS[health.DISPATCHER] in page.split("Needs attention")[1]
    assert "data-health-banner" not in page


@pytest.mark.django_db
def test_fresh_heartbeats_show_nothing(clients):
    assert banner(clients[Role.ADMIN], "/messages/") == []
    assert "Nothing needs attention" in clients[Role.ADMIN].get("/").content.decode()


@pytest.mark.django_db
def test_the_banner_reads_no_database(clients):
    client = clients[Role.ADMIN]
    client.get(reverse("messaging:list"))  # warm: session and user
    with CaptureQueriesContext(connection) as healthy:
        client.get(reverse("messaging:list"))
    stale(health.WORKER)
    with CaptureQueriesContext(connection) as unhealthy:
        page = client.get(reverse("messaging:list")).content.decode()
    assert health.PROBLEMS[health.WORKER] in page
    assert len(unhealthy) == len(healthy)


@pytest.mark.django_db
def test_with_redis_down_pages_still_render_and_say_so(clients, settings):
    from dev import free_port

    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    assert banner(clients[Role.ADMIN], "/messages/") == [health.PROBLEMS["unknown"]]


def test_a_running_worker_beat_and_dispatcher_clear_the_banner(celery_beat, make_user):
    redis_client().delete(*(health.redis_key(name) for name in (health.BEAT, health.WORKER, health.DISPATCHER)))
    admin = Client()
    admin.force_login(make_user("banner-live", Role.ADMIN))
    wait_for(lambda: banner(admin, "/messages/") == [], timeout=60, message="the banner to clear",
             detail=lambda: banner(admin, "/messages/"))
