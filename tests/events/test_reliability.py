"""Every event delivered is stored exactly once: redelivery under 20 concurrent senders, the worker down
while events arrive, the database unreachable for seconds. Real HTTP, a real worker, a real outage."""

import json
import os
import signal
import threading
import uuid

import psycopg
import pytest
import requests
from django.db import connection

from audit.actor import SYSTEM
from events import services
from events.models import Event, InboundPost, Subscription
from kaizala_console.celery import app as celery_app
from tests.events.conftest import TOKEN, text_event
from tests.fixtures.celery_worker import wait_for
from tests.fixtures.console import MOBILE

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_concurrent_senders_with_redeliveries_store_each_event_once(live_server, django_db_blocker):
    from tests.events.conftest import make_subscription

    subscription = make_subscription()
    url = f"{live_server.url}/events/hook/{subscription.key}/"
    ids = [f"c-{uuid.uuid4()}" for _ in range(100)]
    statuses, barrier = [], threading.Barrier(20, timeout=30)

    def sender(n):
        session = requests.Session()
        barrier.wait()
        # Every event is sent by two senders (a redelivery racing the first delivery).
        for event_id in ids[(n % 10) * 10:(n % 10) * 10 + 10]:
            reply = session.post(url, data=json.dumps(text_event(event_id)), timeout=30,
                                 headers={"Content-Type": "application/json", "kz-callback-token": TOKEN})
            statuses.append(reply.status_code)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(200) == 200, sorted(set(statuses))
    assert Event.objects.filter(event_id__in=ids).count() == 100
    wait_for(lambda: InboundPost.objects.filter(event__event_id__in=ids).count() == 100,
             message="every event to be processed into one post")


@pytest.fixture
def listening(live_server, settings, sandbox, group):
    settings.PUBLIC_BASE_URL = live_server.url
    subscription = services.subscription_create(group=group, actor=SYSTEM)
    subscription.refresh_from_db()
    assert subscription.state == Subscription.State.ACTIVE, subscription.last_error
    return subscription


def _post(sandbox, group, text):
    sandbox._control("POST", f"groups/{group.kaizala_id}/inbound", json={"from": MOBILE, "text": text})


def test_events_arriving_while_the_worker_is_down_wait_then_process(listening, sandbox, group, celery_worker):
    """The worker is stopped (SIGSTOP) while ten events arrive: each is stored and acknowledged, none is
    processed; once it runs again, every one is processed, once."""
    celery_app.conf.task_always_eager = False  # the receiver enqueues through Redis to the real worker
    os.kill(celery_worker.pid, signal.SIGSTOP)
    try:
        for k in range(10):
            _post(sandbox, group, f"while down {k}")
        wait_for(lambda: Event.objects.filter(subscription=listening).count() == 10, message="ten stored events")
        deliveries = sandbox._control("GET", "deliveries", params={"webhookId": listening.webhook_id})["deliveries"]
        assert [d["status"] for d in deliveries] == [200] * 10  # acknowledged at once, no retry needed
        assert Event.objects.filter(subscription=listening, processed_at__isnull=True).count() == 10
    finally:
        os.kill(celery_worker.pid, signal.SIGCONT)
    wait_for(lambda: InboundPost.objects.filter(group=group).count() == 10, timeout=60,
             message="the worker to process the ten waiting events")
    assert not Event.objects.filter(subscription=listening, processed_at__isnull=True).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a refused connection needs a database server")
def test_the_database_unreachable_for_seconds_answers_503_and_nothing_is_lost_or_half_stored(listening, sandbox,
                                                                                           group):
    # Kaizala's retries come back after 0.3, 0.6, 1.2, 2.4 … s: well past a 3 s outage.
    sandbox._control("POST", "settings", json={"webhookBackoffSeconds": 0.3, "webhookMaxRetries": 6})
    db = connection.settings_dict
    admin = psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                            password=db["PASSWORD"] or None, dbname="postgres", autocommit=True)
    # New connections to the test database are refused and the existing ones cut: what a restart does.
    admin.execute(f'ALTER DATABASE "{db["NAME"]}" WITH ALLOW_CONNECTIONS false')
    try:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [db["NAME"]])
        for k in range(10):
            _post(sandbox, group, f"during the outage {k}")
        wait_for(lambda: sum(d["status"] == 503 for d in sandbox._control(
            "GET", "deliveries", params={"webhookId": listening.webhook_id})["deliveries"]) >= 10,
            message="the receiver to answer 503 to the deliveries during the outage")
    finally:
        admin.execute(f'ALTER DATABASE "{db["NAME"]}" WITH ALLOW_CONNECTIONS true')
        admin.close()
    connection.close()  # this test's own connection was cut too
    wait_for(lambda: InboundPost.objects.filter(group=group).count() == 10, timeout=30,
             message="Kaizala's retries to be stored and processed after the outage")
    # Each answered 503 at least once, then stored once: no row from a failed delivery, no second copy.
    events = Event.objects.filter(subscription=listening)
    assert events.count() == 10 == len({e.event_id for e in events})
    assert all(e.processed_at and not e.error for e in events)
    hook = next(w for w in sandbox._control("GET", "webhooks")["webhooks"] if w["id"] == listening.webhook_id)
    assert hook["active"] is True
