"""Every write about connectors and phone users: registration, the PIN login, and the token lifecycle.

State changes are compare-and-set updates (`filter(pk=…, state=…).update(…)`), so two workers never
both move one phone user; work is enqueued after commit, so a worker never looks for a row that is not
there yet. Functions ending in `_run` make the Kaizala calls and are called from Celery tasks only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

import kaizala
from audit.actor import Actor
from audit.models import Kind
from audit.services import audit_record
from connectors import kaizala_access, sandbox_control
from connectors.models import ApiCall, Connector, Permission, PhoneUser
from kaizala_console import metrics
from kaizala_console.wake import dispatcher_wake_on_commit

log = logging.getLogger(__name__)
State = PhoneUser.State

# What a person sees for each kind of Kaizala failure during onboarding.
UNREACHABLE = "Kaizala could not be reached ({detail}). Try again in a moment."


CONNECTOR_DEACTIVATED = "This connector is deactivated; activate it before onboarding phones."


class OnboardingError(ValidationError):
    """A request the wizard refuses: shown in the page, nothing changed."""


class PhoneUserAlreadyActive(OnboardingError):
    """Onboarding a phone that is active on this connector would stop it until the new PIN login ends:
    the caller asks the person first, then calls again with `replace_active=True`."""

    def __init__(self, phone_user: PhoneUser):
        super().__init__(f"{phone_user.mobile_number} is already active on this connector.")
        self.phone_user = phone_user


# --- connectors ---------------------------------------------------------------------------------------


CREDENTIAL_FIELDS = {"application_id", "application_secret", "auth_base_url"}


def connector_save(*, connector: Connector, changed: set[str] | None = None, actor: Actor) -> Connector:
    """Create a connector, or save only the `changed` fields of one (a status a worker has just set stays).
    New credentials make its status unknown again."""
    if not connector.pk:
        with transaction.atomic():
            connector.save()
            audit_record(actor=actor, kind=Kind.CONNECTOR_REGISTERED, obj=connector,
                         summary=f"Connector “{connector.name}” registered ({connector.application_id})")
        return connector
    fields = set(changed or ())
    # Before → after for the record; the secret only as "replaced", never its value.
    shown = sorted(fields - {"application_secret"})
    before = Connector.objects.filter(pk=connector.pk).values(*shown).first() or {} if shown else {}
    changes = {f: (before.get(f, ""), getattr(connector, f)) for f in shown}
    if "application_secret" in fields:
        changes["application secret"] = ("(hidden)", "replaced")
    if fields & CREDENTIAL_FIELDS:
        connector.status = Connector.Status.UNVERIFIED
        connector.status_checked_at = None
        connector.status_detail = ""
        fields |= {"status", "status_checked_at", "status_detail"}
    if fields:
        with transaction.atomic():
            connector.save(update_fields=[*sorted(fields), "updated_at"])
            audit_record(actor=actor, kind=Kind.CONNECTOR_EDITED, obj=connector,
                         summary=f"Connector “{connector.name}” edited", changes=changes)
    return connector


def connector_create_in_sandbox(*, name: str, permissions: list[str], actor: Actor) -> Connector:
    """Register a new connector at the sandbox and here in one step, so its secret never reaches a page.
    Raises SandboxUnavailable (describe_error says it in a sentence)."""
    labels = dict(Permission.choices)
    permissions = [p for p in permissions if p in labels]
    created = sandbox_control.create_connector(name=name, permissions=[labels[p] for p in permissions])
    return connector_save(
        connector=Connector(
            name=name, description="Created in the Kaizala sandbox.", application_id=created["applicationId"],
            application_secret=created["applicationSecret"], permissions=permissions,
            auth_base_url=settings.KAIZALA_SANDBOX_URL.rstrip("/"),
        ),
        actor=actor,
    )


class ConnectorInactive(Exception):
    """The connector is deactivated: nothing is sent or changed at Kaizala through it."""


# What deactivating (or reactivating) a connector does beyond this app, said by the apps above it
# (messaging holds the sends), which register here from their AppConfig.ready(): connectors imports none
# of them. Each entry: (connector, active) → sentences for the confirmation page.
ACTIVATION_EFFECTS: list[Callable[[Connector, bool], list[str]]] = []


def connector_activation_effects(*, connector: Connector, active: bool) -> list[str]:
    """What setting the connector (in)active will affect, for the page that asks first."""
    effects = [sentence for describe in ACTIVATION_EFFECTS for sentence in describe(connector, active)]
    if not active:
        effects.append("No token of its phone users is refreshed, and its phone users cannot be chosen for new "
                       "groups or messages.")
    return effects


def connector_set_active(*, connector: Connector, active: bool, actor: Actor) -> bool:
    """Compare-and-set; False when it already was. Deactivated: the workers refuse to act through it."""
    with transaction.atomic():
        if not Connector.objects.filter(pk=connector.pk, is_active=not active).update(
                is_active=active, updated_at=timezone.now()):
            return False
        if active:  # its held messages can go out: the dispatcher releases them
            dispatcher_wake_on_commit()
        what = "activated" if active else "deactivated"
        audit_record(actor=actor, kind=Kind.CONNECTOR_ACTIVATED if active else Kind.CONNECTOR_DEACTIVATED,
                     obj=connector, summary=f"Connector “{connector.name}” {what}",
                     changes={"active": (not active, active)})
    return True


def _connector_checked(connector: Connector, status: str, detail: str = "") -> None:
    Connector.objects.filter(pk=connector.pk).update(
        status=status, status_checked_at=timezone.now(), status_detail=detail[:500]
    )


# --- onboarding: the PIN login ------------------------------------------------------------------------


def _transition(phone_user_id: int, from_states, to_state: str, **fields) -> bool:
    """Compare-and-set: move the row only if it is still in one of `from_states`."""
    updated = PhoneUser.objects.filter(pk=phone_user_id, state__in=list(from_states)).update(
        state=to_state, state_changed_at=timezone.now(), updated_at=timezone.now(), **fields
    )
    return updated == 1


def phone_user_start_onboarding(
    *, connector: Connector, mobile_number: str, replace_active: bool = False, actor: Actor
) -> PhoneUser:
    """Ask Kaizala to send a PIN to `mobile_number` (re-onboarding an existing phone user keeps its row).
    An active phone user is sent back to the PIN step only with `replace_active`: else PhoneUserAlreadyActive."""
    from connectors.tasks import request_pin

    _refuse_inactive(connector.pk)
    with transaction.atomic():
        phone_user, created = PhoneUser.objects.get_or_create(
            connector=connector, mobile_number=mobile_number, token_kind=PhoneUser.TokenKind.USER,
            token_group_id="",
        )
        if not created and phone_user.state in (State.PIN_REQUESTED, State.VERIFYING) and not _pin_step_stale(
            phone_user
        ):
            raise OnboardingError("This phone is already being onboarded; continue below.")
        if not created and phone_user.state == State.ACTIVE and not replace_active:
            raise PhoneUserAlreadyActive(phone_user)
        # Compare-and-set on the state just read: a worker that moved it meanwhile wins, and we say so.
        if not _transition(
            phone_user.pk, [phone_user.state], State.PIN_REQUESTED, pin="", pin_sent_at=None,
            pin_requested_at=timezone.now(), last_error="", last_error_code="",
        ):
            raise OnboardingError("This phone user changed meanwhile; look at its page and try again.")
        _onboarding_record(actor, phone_user, "onboarding started: a PIN was asked for")
        transaction.on_commit(lambda: request_pin.delay(phone_user.pk))
    phone_user.refresh_from_db()
    return phone_user


# A step of the PIN login in flight this long lost its worker or its task (a flushed broker, say).
PIN_STEP_TIMEOUT = timedelta(minutes=5)


def _pin_step_stale(phone_user: PhoneUser) -> bool:
    # A request whose worker died must not block the wizard for ever.
    return phone_user.state_changed_at < timezone.now() - PIN_STEP_TIMEOUT


def phone_users_sweep(now=None) -> int:
    """End PIN-login steps whose task was lost (the broker holds nothing the database cannot replace): the
    phone user lands where the page offers the next move, with a sentence. Compare-and-set on the state
    and its time, so a step that finished meanwhile is left alone."""
    now = now or timezone.now()
    stuck = PhoneUser.objects.filter(state_changed_at__lt=now - PIN_STEP_TIMEOUT).filter(
        Q(state=State.PIN_REQUESTED, pin_sent_at__isnull=True) | Q(state=State.VERIFYING))
    ended = 0
    for phone_user in stuck.only("pk", "state", "state_changed_at", "refresh_token")[:500]:
        if phone_user.state == State.PIN_REQUESTED:
            to_state, said = State.PIN_FAILED, ("The PIN request did not finish (the worker stopped); send the "
                                                "PIN again.")
        elif phone_user.refresh_token:
            to_state, said = State.LOGIN_FAILED, ("Getting the first access token did not finish (the worker "
                                                  "stopped); retry.")
        else:
            to_state, said = State.PIN_FAILED, "The PIN check did not finish (the worker stopped); send a new PIN."
        ended += PhoneUser.objects.filter(
            pk=phone_user.pk, state=phone_user.state, state_changed_at=phone_user.state_changed_at
        ).update(state=to_state, state_changed_at=now, updated_at=now, pin="", last_error=said, last_error_code="")
    return ended


def _refuse_inactive(connector_id: int) -> None:
    """Read afresh: nothing is asked of Kaizala through a deactivated connector."""
    if not Connector.objects.filter(pk=connector_id, is_active=True).exists():
        raise OnboardingError(CONNECTOR_DEACTIVATED)


def _onboarding_record(actor: Actor, phone_user: PhoneUser, what: str) -> None:
    audit_record(actor=actor, kind=Kind.PHONE_USER_ONBOARDED, obj=phone_user,
                 summary=f"Phone user {phone_user.mobile_number}: {what}")


def phone_user_resend_pin(*, phone_user: PhoneUser, actor: Actor) -> PhoneUser:
    from connectors.tasks import request_pin

    phone_user.refresh_from_db()
    _refuse_inactive(phone_user.connector_id)
    wait = pin_resend_wait(phone_user)
    if wait:
        raise OnboardingError(f"A PIN was sent moments ago; you can ask for another in {wait} seconds.")
    with transaction.atomic():
        if not _transition(
            phone_user.pk, [State.PIN_REQUESTED, State.PIN_FAILED, State.LOGIN_FAILED, State.REAUTH_REQUIRED],
            State.PIN_REQUESTED, pin="", pin_sent_at=None, pin_requested_at=timezone.now(), last_error="",
            last_error_code="",
        ):
            raise OnboardingError("This phone user is not waiting for a PIN.")
        _onboarding_record(actor, phone_user, "another PIN was asked for")
        transaction.on_commit(lambda: request_pin.delay(phone_user.pk))
    phone_user.refresh_from_db()
    return phone_user


def pin_resend_wait(phone_user: PhoneUser) -> int:
    """Seconds left before another PIN may be requested (0: now). Only a PIN that was sent counts."""
    if phone_user.pin_sent_at is None:
        return 0
    ready_at = phone_user.pin_sent_at + timedelta(seconds=settings.PIN_RESEND_COOLDOWN)
    return max(0, int((ready_at - timezone.now()).total_seconds() + 0.999))


def phone_user_submit_pin(*, phone_user: PhoneUser, pin: str, actor: Actor) -> PhoneUser:
    """Keep the PIN (encrypted) for the login task; the PIN never travels as a task argument."""
    from connectors.tasks import login_with_pin

    _refuse_inactive(phone_user.connector_id)
    with transaction.atomic():
        if not _transition(
            phone_user.pk, [State.PIN_REQUESTED, State.PIN_FAILED, State.LOGIN_FAILED], State.VERIFYING, pin=pin,
            last_error="", last_error_code="",
        ):
            raise OnboardingError("This phone user is not waiting for a PIN; request a new one.")
        _onboarding_record(actor, phone_user, "the PIN was typed in")  # never the PIN itself
        transaction.on_commit(lambda: login_with_pin.delay(phone_user.pk))
    phone_user.refresh_from_db()
    return phone_user


def phone_user_retry_token(*, phone_user: PhoneUser, actor: Actor) -> PhoneUser:
    """After a failed access-token fetch (Kaizala down, say): try again with the refresh token we hold."""
    from connectors.tasks import fetch_access_token

    _refuse_inactive(phone_user.connector_id)
    with transaction.atomic():
        if not phone_user.refresh_token or not _transition(
            phone_user.pk, [State.LOGIN_FAILED, State.REAUTH_REQUIRED], State.VERIFYING, last_error="",
            last_error_code="",
        ):
            raise OnboardingError("There is no token to retry with; onboard the phone again.")
        _onboarding_record(actor, phone_user, "the access token was asked for again")
        transaction.on_commit(lambda: fetch_access_token.delay(phone_user.pk))
    phone_user.refresh_from_db()
    return phone_user


def phone_user_add_portal_token(
    *, connector: Connector, token_kind: str, mobile_number: str, refresh_token: str, group_id: str = "",
    actor: Actor,
) -> PhoneUser:
    """Keep a group-level or tenant-admin refresh token from the management portal, then validate it
    by fetching an access token."""
    from connectors.tasks import fetch_access_token

    _refuse_inactive(connector.pk)
    token_fields = {
        "refresh_token": refresh_token, "refresh_token_expires_at": None, "access_token": "",
        "access_token_expires_at": None, "last_error": "", "last_error_code": "",
    }
    with transaction.atomic():
        phone_user, created = PhoneUser.objects.get_or_create(
            connector=connector, mobile_number=mobile_number, token_kind=token_kind,
            token_group_id=group_id.strip() if token_kind == PhoneUser.TokenKind.GROUP else "",
            defaults={"state": State.VERIFYING, "state_changed_at": timezone.now(), **token_fields},
        )
        # A token being checked right now is not replaced under its worker (unless that worker died).
        replaceable = [s for s in State if s != State.VERIFYING or _pin_step_stale(phone_user)]
        if not created and not _transition(phone_user.pk, replaceable, State.VERIFYING, **token_fields):
            raise OnboardingError("A token for this phone is being checked right now; wait for the result.")
        _onboarding_record(actor, phone_user, f"a {phone_user.get_token_kind_display()} token was added from the "
                                              "portal")
        transaction.on_commit(lambda: fetch_access_token.delay(phone_user.pk))
    phone_user.refresh_from_db()
    return phone_user


def phone_user_remove(*, phone_user: PhoneUser, actor: Actor) -> None:
    # Its groups (and their messages) need it to reach Kaizala: refuse rather than fail on the protected key.
    count = phone_user.groups.count()
    if count:
        raise OnboardingError(
            f"This phone user owns {count} group{'s' if count != 1 else ''} in the console; it cannot be removed "
            "while they need it. Onboard it again instead if its token is no longer valid."
        )
    with transaction.atomic():
        audit_record(actor=actor, kind=Kind.PHONE_USER_REMOVED, obj=phone_user,
                     summary=f"Phone user {phone_user.mobile_number} removed")
        phone_user.delete()


def _fail(phone_user_id: int, from_states, to_state: str, error: kaizala.KaizalaError | str) -> None:
    if isinstance(error, kaizala.KaizalaError):
        message, code = describe_error(error), error.error_code or type(error).__name__
    else:
        message, code = error, ""
    _transition(phone_user_id, from_states, to_state, pin="", last_error=message[:500], last_error_code=code[:100])


SANDBOX_FAILURES = {
    "unreachable": "The Kaizala sandbox could not be reached; is it running (python3 dev.py start)? Try again "
                   "in a moment.",
    "refused": "The Kaizala sandbox refused to create the connector ({status}); nothing was registered.",
    "garbled": "The Kaizala sandbox answered something that is not its control API; nothing was registered.",
}


def describe_error(error: kaizala.KaizalaError | sandbox_control.SandboxUnavailable) -> str:
    """One sentence for the page: what went wrong and, where we know it, what to do. The only place the
    app turns an outside failure into words: an exception's own text (URLs, library detail) never shows."""
    if isinstance(error, sandbox_control.SandboxUnavailable):
        return SANDBOX_FAILURES[error.reason].format(status=error.status)
    detail = error.message or type(error).__name__
    if isinstance(error, kaizala_access.UrlNotAllowed):
        return error.message
    if isinstance(error, kaizala.ConnectError):
        return UNREACHABLE.format(detail="no connection")
    if isinstance(error, kaizala.AmbiguousError):
        return UNREACHABLE.format(detail="no answer in time")
    if isinstance(error, kaizala.RateLimited):
        return f"Kaizala is limiting calls for this connector; try again in {round(error.retry_after)} s."
    if isinstance(error, kaizala.ServerError):
        return f"Kaizala failed ({error.status}): {detail}. Try again in a moment."
    if isinstance(error, kaizala.MalformedResponse):
        return "Kaizala answered something that is not its API (is the auth URL right?)."
    if not error.error_code and ("<" in detail or "\n" in detail):
        # An error page that is not Kaizala's JSON (a proxy's HTML, say): its text is no sentence.
        return f"Kaizala refused the call ({error.status}) with a page that is not its API (is the auth URL right?)."
    return f"Kaizala said: {detail}"


def _is_connector_rejection(error: kaizala.KaizalaError) -> bool:
    return "applicationid" in (error.message or "").replace(" ", "").lower() or error.error_code in (
        "InvalidConnector", "InvalidApplication", "Unauthenticated"
    )


def request_pin_run(phone_user_id: int) -> None:
    phone_user = PhoneUser.objects.select_related("connector").filter(pk=phone_user_id).first()
    if phone_user is None or phone_user.state != State.PIN_REQUESTED:
        return
    if not phone_user.connector.is_active:  # deactivated after the request was queued
        _fail(phone_user_id, [State.PIN_REQUESTED], State.PIN_FAILED, CONNECTOR_DEACTIVATED)
        return
    try:
        kaizala_access.auth_client(phone_user.connector, phone_user).generate_pin(phone_user.mobile_number)
    except kaizala.KaizalaError as error:
        if isinstance(error, kaizala.InvalidToken | kaizala.PermanentError) and _is_connector_rejection(error):
            _connector_checked(phone_user.connector, Connector.Status.REJECTED, describe_error(error))
        _fail(phone_user_id, [State.PIN_REQUESTED], State.PIN_FAILED, error)
        return
    PhoneUser.objects.filter(pk=phone_user_id, state=State.PIN_REQUESTED).update(pin_sent_at=timezone.now())


def login_with_pin_run(phone_user_id: int) -> None:
    from connectors.tasks import fetch_access_token

    phone_user = PhoneUser.objects.select_related("connector").filter(pk=phone_user_id).first()
    if phone_user is None or phone_user.state != State.VERIFYING or not phone_user.pin:
        return
    if not phone_user.connector.is_active:  # deactivated after the PIN was typed (_fail wipes the PIN)
        _fail(phone_user_id, [State.VERIFYING], State.PIN_FAILED, CONNECTOR_DEACTIVATED)
        return
    # Take the PIN off the row first: it is used once, whatever happens next.
    PhoneUser.objects.filter(pk=phone_user_id).update(pin="")
    try:
        result = kaizala_access.auth_client(phone_user.connector, phone_user).login_with_pin(
            phone_user.mobile_number, phone_user.pin
        )
    except kaizala.KaizalaError as error:
        # Wrong, expired or burnt PIN: back to the PIN step with Kaizala's reason.
        to_state = State.LOGIN_FAILED if error.retryable and not isinstance(error, kaizala.InvalidToken) else (
            State.PIN_FAILED
        )
        _fail(phone_user_id, [State.VERIFYING], to_state, error)
        return
    with transaction.atomic():
        PhoneUser.objects.filter(pk=phone_user_id, state=State.VERIFYING).update(
            refresh_token=result.refresh_token,
            refresh_token_expires_at=result.refresh_token_expiry,
            granted_scope=", ".join(result.granted_scope),
        )
        transaction.on_commit(lambda: fetch_access_token.delay(phone_user_id))


def fetch_access_token_run(phone_user_id: int) -> None:
    """The first access token after a login or a pasted portal token: success makes the user active."""
    phone_user = PhoneUser.objects.select_related("connector").filter(pk=phone_user_id).first()
    if phone_user is None or phone_user.state != State.VERIFYING or not phone_user.refresh_token:
        return
    if not phone_user.connector.is_active:
        _fail(phone_user_id, [State.VERIFYING], State.LOGIN_FAILED, CONNECTOR_DEACTIVATED)
        return
    try:
        token = kaizala_access.auth_client(phone_user.connector, phone_user).access_token(phone_user.refresh_token)
        kaizala_access.check_endpoint_url(token.endpoint_url)
    except kaizala.KaizalaError as error:
        if isinstance(error, kaizala.InvalidToken | kaizala.PermanentError) and _is_connector_rejection(error):
            _connector_checked(phone_user.connector, Connector.Status.REJECTED, describe_error(error))
        _fail(phone_user_id, [State.VERIFYING], State.LOGIN_FAILED, error)
        return
    _connector_checked(phone_user.connector, Connector.Status.VERIFIED)
    _transition(phone_user_id, [State.VERIFYING], State.ACTIVE, **_token_fields(token))


def _token_fields(token: kaizala.AccessToken) -> dict:
    fields = {
        "access_token": token.access_token,
        "access_token_expires_at": token.expires_at or timezone.now() + timedelta(hours=24),
        "endpoint_url": token.endpoint_url,
        "token_refreshed_at": timezone.now(),
        "last_error": "",
        "last_error_code": "",
    }
    if token.refresh_token:
        # Kaizala rotates the refresh token in the last 10 % of its life: the new one replaces the old.
        fields["refresh_token"] = token.refresh_token
        fields["refresh_token_expires_at"] = timezone.now() + timedelta(days=365)
    return fields


# --- the token lifecycle ------------------------------------------------------------------------------


class ReauthRequired(Exception):
    """The phone user's refresh token was rejected: an admin must onboard it again."""


def phone_user_refresh_access_token(*, phone_user_id: int, failed_token: str | None = None) -> PhoneUser:
    """Fetch a new access token, one refresh at a time per phone user across every worker.

    `failed_token` is the access token a call was refused with: when the stored one differs, another
    worker has refreshed meanwhile and its token is used without a second call.
    """
    with kaizala_access.refresh_lock(phone_user_id):
        phone_user = PhoneUser.objects.select_related("connector").get(pk=phone_user_id)
        if not phone_user.connector.is_active:
            raise ConnectorInactive(f"Connector “{phone_user.connector.name}” is deactivated.")
        if phone_user.state != State.ACTIVE:
            raise ReauthRequired(phone_user.last_error or f"phone user is {phone_user.get_state_display()}")
        if failed_token is not None and phone_user.access_token != failed_token:
            return phone_user
        if failed_token is None and not _expires_soon(phone_user):
            return phone_user
        try:
            token = kaizala_access.auth_client(phone_user.connector, phone_user).access_token(
                phone_user.refresh_token
            )
            kaizala_access.check_endpoint_url(token.endpoint_url)
        except (kaizala.InvalidToken, kaizala.PermanentError) as error:
            if _is_connector_rejection(error):
                _connector_checked(phone_user.connector, Connector.Status.REJECTED, describe_error(error))
            _fail(phone_user_id, [State.ACTIVE], State.REAUTH_REQUIRED, error)
            metrics.token_refreshed("rejected")
            raise ReauthRequired(describe_error(error)) from error
        _transition(phone_user_id, [State.ACTIVE], State.ACTIVE, **_token_fields(token))
        metrics.token_refreshed("ok")
        phone_user.refresh_from_db()
        return phone_user


def _expires_soon(phone_user: PhoneUser) -> bool:
    margin = timedelta(seconds=settings.TOKEN_REFRESH_MARGIN)
    return phone_user.access_token_expires_at is None or phone_user.access_token_expires_at <= timezone.now() + margin


def phone_user_move_endpoint(*, phone_user: PhoneUser, endpoint_url: str) -> PhoneUser:
    """Follow a 308, only to a host Kaizala is known to use (else UrlNotAllowed, and nothing stored)."""
    kaizala_access.check_endpoint_url(endpoint_url)
    PhoneUser.objects.filter(pk=phone_user.pk).update(endpoint_url=endpoint_url, updated_at=timezone.now())
    phone_user.refresh_from_db()
    return phone_user


def tokens_refresh_expiring() -> int:
    """Enqueue a refresh for every active phone user whose access token expires within the margin."""
    from connectors.tasks import refresh_access_token

    horizon = timezone.now() + timedelta(seconds=settings.TOKEN_REFRESH_MARGIN)
    ids = list(
        PhoneUser.objects.filter(state=State.ACTIVE, access_token_expires_at__lte=horizon, connector__is_active=True)
        .values_list("pk", flat=True)
    )
    for pk in ids:
        refresh_access_token.delay(pk)
    return len(ids)


def api_calls_trim() -> int:
    cutoff = timezone.now() - timedelta(days=settings.API_CALL_RETENTION_DAYS)
    deleted, _ = ApiCall.objects.filter(created_at__lt=cutoff).delete()
    return deleted
