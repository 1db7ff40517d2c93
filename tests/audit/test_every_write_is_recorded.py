"""Every write service records who did it: a public function of a services module that writes to the
database takes the actor (keyword-only, required) and writes an audit record, or is a worker's or a
periodic task's step listed in NOT_A_PERSONS_WRITE with the reason. A new service that writes without a
record fails here until it does one or the other."""

import inspect
import re

import pytest

import accounts.services
import accounts.two_step
import actions.services
import api.callbacks
import api.services
import connectors.services
import events.services
import groups.membership
import groups.services
import messaging.services

MODULES = [accounts.services, accounts.two_step, connectors.services, groups.services, groups.membership,
           messaging.services, events.services, api.services, api.callbacks, actions.services]
WRITES = re.compile(r"\.(save|create|bulk_create|update|delete|get_or_create|update_or_create|set_password|"
                    r"set_unusable_password)\(|\b_(move|transition|set_role)\(|\.groups\.(set|add|remove)\(|"
                    r"\"(INSERT INTO|UPDATE|DELETE FROM) ")

# Writes no person asks for at that moment: the workers' steps (what they do follows from a recorded
# request), the periodic tasks, and the demo admin made from the command line.
NOT_A_PERSONS_WRITE = {
    "accounts.services.demo_admin_ensure": "the command line's demo admin (manage.py ensure_demo_admin)",
    "accounts.two_step.two_step_enrol_start": "a pending authenticator, unused until confirmed (recorded then)",
    "accounts.two_step.two_step_reset": "a step of user_two_step_reset, which records it",
    "connectors.services.request_pin_run": "worker step of a recorded onboarding",
    "connectors.services.login_with_pin_run": "worker step of a recorded onboarding",
    "connectors.services.fetch_access_token_run": "worker step of a recorded onboarding or token retry",
    "connectors.services.phone_user_refresh_access_token": "a worker refreshing a token",
    "connectors.services.phone_user_move_endpoint": "a worker following Kaizala's redirect",
    "connectors.services.api_calls_trim": "periodic task (retention)",
    "groups.services.group_create_run": "worker step of a recorded group creation",
    "groups.services.groups_sync_run": "worker step of a sync",
    "groups.services.group_refresh_run": "worker step of a recorded refresh",
    "groups.services.groups_sweep": "periodic task",
    "groups.membership.read_back_done": "worker step",
    "groups.membership.members_add_run": "worker step of a recorded member change",
    "groups.membership.add_pending_members": "worker step of a recorded member change",
    "groups.membership.reconcile_members": "worker step of a recorded member change",
    "groups.membership.member_remove_run": "worker step of a recorded member change",
    "groups.membership.member_set_role_run": "worker step of a recorded member change",
    "groups.membership.subscribers_add_run": "worker step of a recorded subscriber change",
    "groups.membership.subscribers_remove_run": "worker step of a recorded subscriber change",
    "groups.membership.reconcile_subscribers": "worker step of a recorded subscriber change",
    "groups.membership.rows_sweep": "periodic task",
    "messaging.services.schedules_fire_due": "periodic task: the fires of a recorded schedule",
    "messaging.services.messages_claim_due": "the dispatcher",
    "messaging.services.message_send_run": "worker step of a recorded message",
    "messaging.services.messages_send_run": "worker step of several recorded messages (message_send_run each)",
    "messaging.services.messages_sweep": "periodic task",
    "messaging.services.media_orphans_delete": "periodic task: files of composes that rolled back",
    "messaging.services.messages_hold_and_release": "the dispatcher: held by a recorded deactivation",
    "connectors.services.phone_users_sweep": "periodic task",
    "groups.membership.member_joined": "Kaizala reported it (a webhook event), no person here",
    "groups.membership.member_left": "Kaizala reported it (a webhook event), no person here",
    "events.services.event_receive": "Kaizala's delivery to the receiver",
    "api.services.api_key_touch": "a key's last-used time, written by its own requests",
    "api.services.idempotency_records_trim": "periodic task (retention)",
    "api.callbacks.events_record_many": "a send's outcome or a processed event (worker steps) noted for the callbacks",
    "api.callbacks.delivery_send_run": "worker step of a callback delivery",
    "api.callbacks.deliveries_sweep": "periodic task",
    "events.services.event_process": "worker step of a received event",
    "events.services.events_process_waiting": "worker step: the drain of received events",
    "events.services.subscription_create_run": "worker step of a recorded subscription",
    "events.services.subscription_remove_run": "worker step of a recorded stop",
    "events.services.subscription_reenable_run": "worker step of a recorded re-enable",
    "events.services.subscription_check_run": "periodic check of Kaizala's webhook list",
    "events.services.subscription_note_refusal": "the receiver noting a refused delivery",
    "events.services.inbox_mark_read": "a person's own read marker: no shared data changes",
    "actions.services.counts_apply": "a step of storing what Kaizala reported: the running counts",
    "actions.services.response_store": "Kaizala reported it (a webhook event or a recorded refresh)",
    "actions.services.responses_tally_pending": "worker step: counting stored responses",
    "actions.services.action_refresh_run": "worker step of a recorded refresh",
    "actions.services.action_counts_rebuild": "maintenance: a recount from the stored responses (after a bulk load)",
    "actions.services.action_remind_run": "worker step of a recorded reminder",
    "actions.services.reminders_fire": "periodic task: the fires of a recorded reminder schedule",
}


def _public_functions():
    for module in MODULES:
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and not name.startswith("_"):
                yield f"{module.__name__}.{name}", function


def _records(function, module) -> bool:
    """The function calls audit_record, itself or through a private helper of its module that does."""
    source = inspect.getsource(function)
    if re.search(r"\baudit_record(_many)?\(", source):
        return True
    helpers = re.findall(r"\b(_\w+)\(", source)
    return any(re.search(r"\baudit_record(_many)?\(", inspect.getsource(getattr(module, h))) for h in helpers
               if inspect.isfunction(getattr(module, h, None)))


def _writes(function) -> bool:
    """The function writes, itself or through a private helper of its module (a raw INSERT, say)."""
    source = inspect.getsource(function)
    if WRITES.search(source):
        return True
    module = inspect.getmodule(function)
    return any(WRITES.search(inspect.getsource(getattr(module, h))) for h in set(re.findall(r"\b(_\w+)\(", source))
               if inspect.isfunction(getattr(module, h, None)))


FUNCTIONS = [(name, f) for name, f in _public_functions() if _writes(f)]


def test_the_walk_finds_the_write_services():
    names = {name for name, _ in FUNCTIONS}
    assert {"messaging.services.message_create", "groups.membership.members_add",
            "connectors.services.connector_save", "accounts.services.user_role_change"} <= names
    assert set(NOT_A_PERSONS_WRITE) <= names, "stale names in NOT_A_PERSONS_WRITE"


@pytest.mark.parametrize(("name", "function"), FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
def test_a_write_service_takes_the_actor_and_records(name, function):
    if name in NOT_A_PERSONS_WRITE:
        return
    actor = inspect.signature(function).parameters.get("actor")
    assert actor is not None and actor.kind is inspect.Parameter.KEYWORD_ONLY, f"{name} takes no actor= argument"
    assert actor.default is inspect.Parameter.empty, f"{name}: actor= must be required, so no caller forgets it"
    assert _records(function, inspect.getmodule(function)), f"{name} writes without an audit record"
