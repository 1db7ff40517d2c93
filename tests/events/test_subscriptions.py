"""Listening to a group through a worker (tasks eager), against the sandbox over real HTTP, with the console
served by pytest-django's live server so the sandbox's handshake and deliveries reach the real receiver."""

import pytest

from audit.actor import SYSTEM
from events import services
from events.models import GROUP_EVENT_TYPES, Event, Subscription
from tests.fixtures.celery_worker import wait_for
from tests.fixtures.console import MOBILE

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listening(live_server, settings, sandbox):
    settings.PUBLIC_BASE_URL = live_server.url
    # Quick retries and a disable after the first failed retry, so the tests see Kaizala's auto-disable.
    sandbox._control("POST", "settings", json={"webhookBackoffSeconds": 0.05, "webhookMaxRetries": 1})
    return live_server


def sandbox_webhook(sandbox, webhook_id):
    return next((w for w in sandbox._control("GET", "webhooks")["webhooks"] if w["id"] == webhook_id), None)


def post_as_member(sandbox, group, text):
    sandbox._control("POST", f"groups/{group.kaizala_id}/inbound", json={"from": MOBILE, "text": text})


def test_listen_creates_the_webhook_and_events_arrive(listening, sandbox, group):
    subscription = services.subscription_create(group=group, actor=SYSTEM)
    subscription.refresh_from_db()
    assert subscription.state == Subscription.State.ACTIVE, subscription.last_error
    hook = sandbox_webhook(sandbox, subscription.webhook_id)
    assert hook["objectId"] == group.kaizala_id and hook["objectType"] == "Group"
    assert str(subscription.key) in hook["callbackUrl"] and hook["callbackUrl"].startswith(listening.url)
    assert hook["callBackContext"] == f"kaizala-console subscription {subscription.key}"
    assert sorted(hook["events"]) == sorted(GROUP_EVENT_TYPES)
    assert hook["callbackToken"] == subscription.callback_token and len(subscription.callback_token) >= 32

    post_as_member(sandbox, group, "Hello console")
    wait_for(lambda: Event.objects.filter(subscription=subscription, processed_at__isnull=False).exists(),
             message="the member's post to be stored and processed")
    event = Event.objects.get(subscription=subscription)
    assert event.event_type == "TextMessageCreated" and event.raw["data"]["text"] == "Hello console"


def test_a_group_is_listened_to_once(listening, group):
    services.subscription_create(group=group, actor=SYSTEM)
    with pytest.raises(services.EventError):
        services.subscription_create(group=group, actor=SYSTEM)
    assert Subscription.objects.filter(group=group).count() == 1


def test_stop_listening_deletes_the_webhook(listening, sandbox, group):
    subscription = services.subscription_create(group=group, actor=SYSTEM)
    subscription.refresh_from_db()
    services.subscription_remove(actor=SYSTEM, subscription=subscription)
    subscription.refresh_from_db()
    assert subscription.state == Subscription.State.REMOVED and subscription.removed_at
    assert sandbox_webhook(sandbox, subscription.webhook_id) is None
    # And the group may be listened to again.
    assert services.subscription_create(group=group, actor=SYSTEM).pk != subscription.pk


def test_a_failed_handshake_is_failed_with_kaizalas_reason(live_server, settings, sandbox, group):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"  # nothing answers there
    subscription = services.subscription_create(group=group, actor=SYSTEM)
    subscription.refresh_from_db()
    assert subscription.state == Subscription.State.FAILED
    assert subscription.last_error and "validation" in subscription.last_error.lower()


def _make_deliveries_fail(monkeypatch, sandbox, group, subscription):
    from django.db import OperationalError

    def down(**kwargs):
        raise OperationalError("the database is down")

    monkeypatch.setattr(services, "event_receive", down)
    post_as_member(sandbox, group, "lost for now")
    wait_for(lambda: sandbox_webhook(sandbox, subscription.webhook_id)["active"] is False,
             message="the sandbox to disable the webhook after failed deliveries")
    monkeypatch.undo()


def test_a_webhook_disabled_after_the_console_failed_is_re_enabled_by_the_check(listening, sandbox, group,
                                                                                  monkeypatch):
    subscription = services.subscription_create(group=group, actor=SYSTEM)
    subscription.refresh_from_db()
    _make_deliveries_fail(monkeypatch, sandbox, group, subscription)
    assert services.subscriptions_check()["checked"] == 1
    subscription.refresh_from_db()
    assert subscription.state == Subscription.State.ACTIVE and subscription.disabled_at
    assert sandbox_webhook(sandbox, subscription.webhook_id)["active"] is True


def test_a_webhook_disabled_after_refusals_waits_for_the_button(listening, sandbox, group, settings):
    subscription = services.subscription_create(group=group, actor=SYSTEM)
    subscription.refresh_from_db()
    real = subscription.callback_token
    Subscription.objects.filter(pk=subscription.pk).update(callback_token="not-what-kaizala-sends")
    post_as_member(sandbox, group, "refused")
    wait_for(lambda: sandbox_webhook(sandbox, subscription.webhook_id)["active"] is False,
             message="the sandbox to disable the webhook after refused deliveries")
    Subscription.objects.filter(pk=subscription.pk).update(callback_token=real)
    services.subscriptions_check()
    subscription.refresh_from_db()
    assert subscription.state == Subscription.State.DISABLED
    assert sandbox_webhook(sandbox, subscription.webhook_id)["active"] is False

    services.subscription_reenable(actor=SYSTEM, subscription=subscription)
    subscription.refresh_from_db()
    assert subscription.state == Subscription.State.ACTIVE
    assert sandbox_webhook(sandbox, subscription.webhook_id)["active"] is True


def test_listen_to_every_active_group_automatically(listening, settings, make_group):
    settings.EVENTS_LISTEN_TO_ALL_GROUPS = True
    groups = [make_group(name) for name in ("North", "South")]
    assert services.subscriptions_check()["created"] == 2
    assert services.subscriptions_check()["created"] == 0
    assert {s.group_id for s in Subscription.objects.filter(state=Subscription.State.ACTIVE)} == {
        g.pk for g in groups}
