"""Rows for the list tests, made in bulk (no Kaizala call: the pages only read)."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.models import Connector, PhoneUser
from groups.models import Group
from messaging.models import Message


@pytest.fixture
def group(db):
    connector = Connector.objects.create(name="c", application_id="a", application_secret="s")
    phone_user = PhoneUser.objects.create(connector=connector, mobile_number="+919812345678",
                                          state=PhoneUser.State.ACTIVE)
    return Group.objects.create(phone_user=phone_user, kaizala_id="g@1", name="Ops", state=Group.State.ACTIVE)


@pytest.fixture
def make_messages(group):
    def make(n, *, start=None, step=timedelta(minutes=1), **fields):
        start = start or timezone.now() - timedelta(days=1)
        now = timezone.now()
        return Message.objects.bulk_create(
            Message(group=group, text=f"message {i}", broadcast_id=uuid.uuid4(), due_at=start + step * i,
                    scheduled_for=start + step * i, status_changed_at=now, **fields)
            for i in range(n))

    return make
