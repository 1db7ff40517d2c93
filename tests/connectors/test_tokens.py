"""The token lifecycle: refresh ahead of expiry, after a 401 (once, across threads), rotation, re-auth."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from connectors import kaizala_access, services
from connectors.models import ApiCall, PhoneUser

pytestmark = pytest.mark.django_db(transaction=True)
State = PhoneUser.State


def access_token_calls(sandbox) -> int:
    return len([c for c in sandbox.calls() if c["path"].endswith("/v1/accessToken")])


def test_concurrent_401s_make_exactly_one_refresh(connector, onboard, sandbox):
    phone_user = onboard(connector)
    stale = phone_user.access_token
    before = access_token_calls(sandbox)
    sandbox.advance_clock(25 * 3600)  # every access token has expired at the sandbox
    results, errors = [], []

    def worker():
        try:
            refreshed = services.phone_user_refresh_access_token(phone_user_id=phone_user.pk, failed_token=stale)
            results.append(refreshed.access_token)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(results)) == 1 and results[0] != stale
    assert access_token_calls(sandbox) - before == 1


def test_a_401_on_a_call_refreshes_and_retries_once(connector, onboard, sandbox):
    phone_user = onboard(connector)
    stale = phone_user.access_token
    refreshes_before = access_token_calls(sandbox)
    sandbox.advance_clock(25 * 3600)  # the access token has expired at the sandbox: the first call gets a 401
    groups = kaizala_access.call_as(phone_user, lambda client: client.list_groups())
    assert isinstance(groups, list)
    # What the sandbox saw: the call refused, one refresh, the same call once more, accepted.
    assert [c["status"] for c in sandbox.calls(path="*/v1/groups")] == [401, 200]
    assert access_token_calls(sandbox) - refreshes_before == 1
    # ... and what the console recorded of it, in order.
    recorded = [(c.method, c.url.split("?")[0].rsplit("/", 1)[-1], c.status) for c in ApiCall.objects.filter(
        phone_user=phone_user, created_at__gte=timezone.now() - timedelta(minutes=1)).order_by("id")]
    assert recorded[-3:] == [("GET", "groups", 401), ("GET", "accessToken", 200), ("GET", "groups", 200)]
    phone_user.refresh_from_db()
    assert phone_user.access_token != stale
    assert phone_user.access_token_expires_at > timezone.now()


def test_a_308_moves_the_endpoint_and_retries(connector, onboard, sandbox):
    phone_user = onboard(connector)
    original = phone_user.endpoint_url
    sandbox.inject_fault(method="GET", pathRegex="/v1/groups$", status=308, count=1)
    assert kaizala_access.call_as(phone_user, lambda client: client.list_groups()) == []
    moved = PhoneUser.objects.get(pk=phone_user.pk).endpoint_url
    assert moved != original and moved.startswith(sandbox.base_url)
    assert [c["status"] for c in sandbox.calls(path="*/v1/groups")][-2:] == [308, 200]


def test_the_periodic_task_refreshes_only_tokens_near_expiry(connector, onboard, sandbox, settings):
    soon = onboard(connector, "+919812345678")
    later = onboard(connector, "+919812345679")
    PhoneUser.objects.filter(pk=soon.pk).update(access_token_expires_at=timezone.now() + timedelta(minutes=10))
    before = access_token_calls(sandbox)
    assert services.tokens_refresh_expiring() == 1
    assert access_token_calls(sandbox) - before == 1
    soon.refresh_from_db()
    assert soon.access_token_expires_at > timezone.now() + timedelta(hours=23)
    assert PhoneUser.objects.get(pk=later.pk).access_token == later.access_token


def test_a_revoked_refresh_token_requires_reauthentication(connector, onboard, sandbox):
    phone_user = onboard(connector)
    sandbox.revoke_token(phone_user.refresh_token)
    sandbox.advance_clock(25 * 3600)
    with pytest.raises(services.ReauthRequired):
        kaizala_access.call_as(phone_user, lambda client: client.list_groups())
    phone_user.refresh_from_db()
    assert phone_user.state == State.REAUTH_REQUIRED
    assert phone_user.last_error


def test_a_rotated_refresh_token_replaces_the_stored_one(connector, onboard, sandbox):
    phone_user = onboard(connector)
    old_refresh = phone_user.refresh_token
    sandbox.advance_clock(int(0.92 * 365 * 86400))  # inside the last 10 % of the refresh token's life
    services.phone_user_refresh_access_token(phone_user_id=phone_user.pk, failed_token=phone_user.access_token)
    phone_user.refresh_from_db()
    assert phone_user.refresh_token != old_refresh
    assert phone_user.state == State.ACTIVE
