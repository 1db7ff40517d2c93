"""Writing the audit trail. `audit_record` is called by every write service, inside its transaction, so a
change and its record commit together or not at all."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from audit.actor import Actor
from audit.models import AuditRecord


def audit_record(*, actor: Actor, kind: str, summary: str, obj=None, object_type: str = "",
                 object_id: str = "", changes: dict | None = None) -> AuditRecord:
    """`obj` (a model instance) names the object; `object_type`/`object_id` do for anything else.
    `changes` is {field: (before, after)}: pass only fields that are not secret."""
    if obj is not None:
        object_type, object_id = obj._meta.model_name, str(obj.pk)
    return AuditRecord.objects.create(
        kind=kind, user=actor.user, actor_name=actor.name, api_key=actor.api_key, address=actor.address,
        object_type=object_type, object_id=object_id, summary=summary,
        changes={field: [str(before), str(after)] for field, (before, after) in (changes or {}).items()},
    )


def audit_record_many(*, actor: Actor, kind: str, objects: list[tuple[object, str]]) -> None:
    """One record per (object, summary), written in one INSERT: a bulk action's query count does not grow
    with its rows, and each object's page still shows its own history."""
    AuditRecord.objects.bulk_create([
        AuditRecord(kind=kind, user=actor.user, actor_name=actor.name, api_key=actor.api_key,
                    address=actor.address, object_type=obj._meta.model_name, object_id=str(obj.pk), summary=summary)
        for obj, summary in objects
    ])


def audit_trim(now=None) -> int:
    """Delete records older than AUDIT_RETENTION_DAYS (the periodic task). Returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    return AuditRecord.objects.filter(at__lt=cutoff).delete()[0]
