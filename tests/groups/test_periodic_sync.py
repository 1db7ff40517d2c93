"""The periodic sync (beat entry "sync-groups") syncs every active phone user, eagerly here."""

import pytest
from django.conf import settings

from connectors.models import PhoneUser
from groups import tasks
from groups.models import Group, GroupSync
from tests.fixtures.console import MOBILE

pytestmark = pytest.mark.django_db


def test_every_active_phone_user_is_synced(phone_user, make_phone_user, sandbox, django_capture_on_commit_callbacks):
    stale = make_phone_user(mobile="+919800000005")
    PhoneUser.objects.filter(pk=stale.pk).update(state=PhoneUser.State.REAUTH_REQUIRED)
    sandbox._control("POST", "groups", json={"name": "Made in the app", "admin": MOBILE})
    assert settings.CELERY_BEAT_SCHEDULE["sync-groups"]["task"] == "groups.tasks.sync_all_groups"
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sync_all_groups.delay().get() == 1
    assert list(GroupSync.objects.values_list("phone_user__mobile_number", "state")) == [(MOBILE, "done")]
    assert list(Group.objects.values_list("name", flat=True)) == ["Made in the app"]
