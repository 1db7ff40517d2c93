"""Every write about API keys and idempotency records.

A key's raw value exists only in the answer to its creation; it is never stored, logged or shown again.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from api.models import ApiKey, IdempotencyRecord
from audit.actor import Actor
from audit.models import Kind
from audit.services import audit_record

KEY_PREFIX = "kc_"
# A key's last-used time is written at most this often (seconds): not one write per request.
LAST_USED_RESOLUTION = 60


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_key_create(*, owner, name: str, expires_at: datetime | None = None, created_by=None,
                   actor: Actor) -> tuple[ApiKey, str]:
    """A new key for `owner`: returns the row and the raw key (shown once, then only its hash remains)."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError("That expiry is in the past; choose a future date or none.")
    if not owner.is_active:
        raise ValidationError("That user is inactive; a key of theirs could not be used.")
    visible = secrets.token_hex(4)
    raw = f"{KEY_PREFIX}{visible}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        api_key = ApiKey.objects.create(owner=owner, name=name, prefix=f"{KEY_PREFIX}{visible}",
                                        key_hash=key_hash(raw), expires_at=expires_at, created_by=created_by)
        audit_record(actor=actor, kind=Kind.KEY_CREATED, obj=api_key,
                     summary=f"API key “{name}” ({api_key.prefix}…) created for {owner.get_username()}")
    return api_key, raw


def api_key_revoke(*, api_key: ApiKey, actor: Actor) -> None:
    with transaction.atomic():
        if not ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()):
            raise ValidationError("This key is already revoked.")
        audit_record(actor=actor, kind=Kind.KEY_REVOKED, obj=api_key,
                     summary=f"API key “{api_key.name}” ({api_key.prefix}…) revoked")


def api_key_touch(*, api_key: ApiKey) -> None:
    """Record a use, at most once per LAST_USED_RESOLUTION seconds (a compare-and-set on the old time)."""
    now = timezone.now()
    if api_key.last_used_at is None or api_key.last_used_at < now - timedelta(seconds=LAST_USED_RESOLUTION):
        ApiKey.objects.filter(pk=api_key.pk, last_used_at=api_key.last_used_at).update(last_used_at=now)


def idempotency_records_trim() -> int:
    """Forget idempotency keys older than API_IDEMPOTENCY_HOURS: a replay after that creates anew."""
    cutoff = timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
