"""Reads for the connector, phone-user and API-call pages."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from connectors.models import ApiCall, Connector, Permission, PhoneUser


def connector_list() -> QuerySet[Connector]:
    return Connector.objects.annotate(
        phone_user_count=Count("phone_users"),
        active_phone_user_count=Count("phone_users", filter=Q(phone_users__state=PhoneUser.State.ACTIVE)),
    )


def phone_user_list(*, connector_id=None) -> QuerySet[PhoneUser]:
    users = PhoneUser.objects.select_related("connector").order_by("connector__name", "mobile_number")
    if connector_id:
        users = users.filter(connector_id=connector_id)
    return users


# What a phone user's row holds encrypted: a list that shows none of it leaves it unread (each read field is
# decrypted, for every row).
PHONE_USER_SECRETS = ("pin", "refresh_token", "access_token", "connector__application_secret")


def phone_user_page() -> QuerySet[PhoneUser]:
    """Every phone user, for the list page (its table shows no secret)."""
    return phone_user_list().defer(*PHONE_USER_SECRETS)


def refresh_token_warning_horizon():
    return timezone.now() + timedelta(days=settings.REFRESH_TOKEN_WARNING_DAYS)


def phone_users_needing_attention() -> QuerySet[PhoneUser]:
    """For the dashboard: only the columns it shows, not the tokens and secrets (decrypted for nothing).
    Stuck in a failed login step too: nothing will move it until an admin does."""
    return PhoneUser.objects.select_related("connector").only(
        "mobile_number", "state", "refresh_token_expires_at", "connector__name").filter(
        Q(state__in=[PhoneUser.State.REAUTH_REQUIRED, PhoneUser.State.PIN_FAILED, PhoneUser.State.LOGIN_FAILED])
        | Q(state=PhoneUser.State.ACTIVE, refresh_token_expires_at__lte=refresh_token_warning_horizon())
    )


def api_call_list() -> QuerySet[ApiCall]:
    # Bodies stay out of the list query: they can be large and only the detail page shows them.
    return ApiCall.objects.select_related("connector", "phone_user").defer("request_body", "response_body")


def api_call_page() -> QuerySet[ApiCall]:
    """The call log page: only the columns its table shows, with the phone user's number; not the connector's or
    the phone user's secrets (decrypted for every row, never shown)."""
    return ApiCall.objects.select_related("phone_user").only(
        "id", "created_at", "method", "url", "status", "duration_ms", "error_class", "error_code",
        "phone_user__mobile_number")


def phone_user_menu() -> QuerySet:
    """(pk, number) of every phone user, in number order, for a filter menu."""
    return PhoneUser.objects.order_by("mobile_number", "id").values_list("id", "mobile_number")


def phone_user_chosen(pk) -> tuple[int, str] | None:
    """(pk, number) of the phone user a filter names (a valid pk or ""), for its menu before it is opened."""
    return PhoneUser.objects.filter(pk=pk).values_list("id", "mobile_number").first() if str(pk).isdigit() else None


def connector_menu() -> QuerySet[Connector]:
    """Connectors for a filter menu: name and pk only (not the secret, decrypted for nothing)."""
    return Connector.objects.only("pk", "name")


def phone_user_usage(phone_user: PhoneUser) -> dict:
    """What depends on a phone user: the groups that send through it, and their messages and schedules
    still to come (for the confirmation before it is removed or onboarded again)."""
    from messaging.models import Message, Schedule

    return {
        "groups": phone_user.groups.count(),
        "pending_messages": Message.objects.filter(group__phone_user=phone_user)
        .exclude(status__in=Message.FINAL).count(),
        "schedules": Schedule.objects.filter(groups__phone_user=phone_user, state=Schedule.State.ACTIVE)
        .distinct().count(),
    }


# Each permission's scope family in Kaizala's grantedScope (kaizala-api.md §4: "groupinfo.read", ...).
PERMISSION_SCOPES = {
    Permission.GROUP_INFO: "groupinfo", Permission.GROUP_MEMBERS: "groupmember",
    Permission.TEXT_MESSAGE: "textmessage", Permission.ACTIONS: "action", Permission.USER_PROFILE: "profile",
    Permission.MEDIA: "media", Permission.WEBHOOKS: "webhook", Permission.TENANT_DATA: "tenantdata",
    Permission.REACTIONS: "reactions",
}


def scope_mismatch(phone_user: PhoneUser) -> dict | None:
    """How the scope Kaizala granted `phone_user` disagrees with its connector's recorded permissions:
    {"unrecorded": [labels granted but not recorded], "missing": [labels recorded but not granted]}, or
    None when they agree (or nothing was granted yet)."""
    families = {scope.strip().split(".")[0].lower() for scope in phone_user.granted_scope.split(",") if scope.strip()}
    if not families:
        return None
    granted = {permission for permission, family in PERMISSION_SCOPES.items() if family in families}
    recorded = set(phone_user.connector.permissions)
    labels = dict(Permission.choices)
    unrecorded = [labels[p] for p in PERMISSION_SCOPES if p in granted - recorded]
    missing = [labels[p] for p in PERMISSION_SCOPES if p in recorded - granted]
    return {"unrecorded": unrecorded, "missing": missing} if unrecorded or missing else None


def scope_mismatches(phone_users) -> list[tuple[PhoneUser, dict]]:
    """The phone users (connector selected) whose granted scope disagrees with the connector's permissions."""
    return [(phone_user, mismatch) for phone_user in phone_users if (mismatch := scope_mismatch(phone_user))]
