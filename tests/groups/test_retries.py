"""Failures that outlast the retries, and answers that may have been applied (tasks run eagerly: the
retries happen at once)."""

import pytest

from audit.actor import SYSTEM
from groups import services
from groups.kaizala_calls import RETRY_DELAYS
from groups.models import Group

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_retries")]


@pytest.fixture
def eager_retries():
    """Eager tasks propagate exceptions by default, and a retry is one: let Celery run it inline instead."""
    from kaizala_console.celery import app

    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = True


def create(phone_user, capture, **fields) -> Group:
    with capture(execute=True):
        group = services.group_create(actor=SYSTEM, phone_user=phone_user, name="Field staff", welcome_message="Hi",
                                      **fields)
    group.refresh_from_db()
    return group


def test_a_500_that_lasts_fails_the_group_after_the_retries(phone_user, sandbox, django_capture_on_commit_callbacks):
    sandbox.inject_fault(method="POST", path="/v1/groups", status=500)
    group = create(phone_user, django_capture_on_commit_callbacks)
    assert group.state == Group.State.FAILED
    assert group.last_error.startswith("Kaizala failed (500)") and "Try again in a moment" in group.last_error
    assert len(sandbox.calls(path="/v1/groups")) == len(RETRY_DELAYS) + 1

    sandbox.clear_faults()  # "Try again" after Kaizala recovered
    with django_capture_on_commit_callbacks(execute=True):
        services.group_retry_create(actor=SYSTEM, group=group)
    group.refresh_from_db()
    assert group.state == Group.State.ACTIVE and group.last_error == ""


def test_a_lost_answer_is_never_sent_twice(phone_user, sandbox, django_capture_on_commit_callbacks):
    sandbox.inject_fault(method="POST", path="/v1/groups", drop=True, count=1)
    group = create(phone_user, django_capture_on_commit_callbacks)
    assert group.state == Group.State.FAILED
    assert "Kaizala may have done it anyway: refresh from Kaizala to see." in group.last_error
    assert len(sandbox.calls(path="/v1/groups")) == 1


def test_a_sync_that_kaizala_refuses_says_why(phone_user, sandbox, django_capture_on_commit_callbacks):
    sandbox.inject_fault(method="GET", path="/v1/groups", status=403)
    with django_capture_on_commit_callbacks(execute=True):
        sync = services.groups_sync_request(actor=SYSTEM, phone_user=phone_user)
    sync.refresh_from_db()
    assert sync.state == "failed" and sync.last_error.startswith("Kaizala said")
