"""Reads for the connector, phone-user and API-call pages."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from connectors.models import ApiCall, Connector, PhoneUser


def connector_list() -> QuerySet[Connector]:
    return Connector.objects.annotate(
        phone_user_count=Count("phone_users"),
        active_phone_user_count=Count("phone_users", filter=Q(phone_users__state=PhoneUser.State.ACTIVE)),
    )


def phone_user_list(*, connector_id=None, state=None) -> QuerySet[PhoneUser]:
    users = PhoneUser.objects.select_related("connector").order_by("connector__name", "mobile_number")
    if connector_id:
        users = users.filter(connector_id=connector_id)
    if state:
        users = users.filter(state=state)
    return users


def refresh_token_warning_horizon():
    return timezone.now() + timedelta(days=settings.REFRESH_TOKEN_WARNING_DAYS)


def phone_users_needing_attention() -> QuerySet[PhoneUser]:
    # Stuck in a failed login step too: nothing will move it until an admin does.
    return PhoneUser.objects.select_related("connector").filter(
        Q(state__in=[PhoneUser.State.REAUTH_REQUIRED, PhoneUser.State.PIN_FAILED, PhoneUser.State.LOGIN_FAILED])
        | Q(state=PhoneUser.State.ACTIVE, refresh_token_expires_at__lte=refresh_token_warning_horizon())
    )


STATUS_FILTERS = {
    "ok": Q(status__gte=200, status__lt=300),
    "4xx": Q(status__gte=400, status__lt=500),
    "5xx": Q(status__gte=500),
    "error": ~Q(error_class=""),
}


def api_call_list(*, connector_id=None, phone_user_id=None, status=None, method=None) -> QuerySet[ApiCall]:
    # Bodies stay out of the list query: they can be large and only the detail page shows them.
    calls = ApiCall.objects.select_related("connector", "phone_user").defer("request_body", "response_body")
    if connector_id:
        calls = calls.filter(connector_id=connector_id)
    if phone_user_id:
        calls = calls.filter(phone_user_id=phone_user_id)
    if status in STATUS_FILTERS:
        calls = calls.filter(STATUS_FILTERS[status])
    if method:
        calls = calls.filter(method=method.upper())
    return calls
