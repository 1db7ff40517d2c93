"""Reads for the API keys page and the key check of every API request."""

from django.db.models import OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.roles import role_known, role_of
from api.models import ApiKey, Delivery
from api.services import key_hash


def api_key_list() -> QuerySet[ApiKey]:
    return ApiKey.objects.select_related("owner")


# Every API request runs the key check: the hash is unique, so no ordering; the callback secret is not
# decrypted (only the delivery worker uses it); the owner's role comes in the same query. The parts that never
# change are built once (this queryset is only ever cloned, never evaluated).
_USABLE = (ApiKey.objects.select_related("owner").defer("callback_secret").order_by()
           .filter(revoked_at__isnull=True, owner__is_active=True).annotate(owner_role=role_of(OuterRef("owner_id"))))


def api_key_usable(raw: str) -> ApiKey | None:
    """The key whose hash matches, if it is neither revoked nor expired and its owner is active."""
    found = list(_USABLE.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()),
                                key_hash=key_hash(raw))[:1])
    if not found:
        return None
    role_known(found[0].owner, found[0].owner_role)
    return found[0]


def delivery_list() -> QuerySet[Delivery]:
    return Delivery.objects.select_related("api_key").defer("payload")
