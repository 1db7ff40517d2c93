"""Reads of the audit trail: the page (newest first, keyset-paged), the CSV export and one object's history."""

from datetime import datetime

from django.db.models import Q

from audit.models import AuditRecord

PAGE_SIZE = 50
HISTORY_SIZE = 20


def record_list():
    return AuditRecord.objects.order_by("-at", "-id")


def cursor_of(record: AuditRecord) -> str:
    return f"{record.at.isoformat()}_{record.pk}"


def parse_cursor(value: str) -> tuple[datetime, int] | None:
    """The (at, id) a "next page" link carries, or None for a value that is not one."""
    at, _, pk = value.rpartition("_")
    try:
        parsed = datetime.fromisoformat(at), int(pk)
    except ValueError:
        return None
    return parsed if parsed[0].tzinfo is not None else None


def page_after(queryset, cursor: tuple[datetime, int] | None) -> tuple[list[AuditRecord], str | None]:
    """One page of `queryset` (ordered newest first) after `cursor`, and the cursor of the next page."""
    if cursor is not None:
        at, pk = cursor
        # at <= cursor at the top level too: PostgreSQL starts the index scan there, where the OR alone made it
        # read (and throw away) every newer record first, as OFFSET did (kaizala_console/keyset.py).
        queryset = queryset.filter(Q(at__lte=at), Q(at__lt=at) | Q(at=at, id__lt=pk))
    rows = list(queryset[:PAGE_SIZE + 1])
    return rows[:PAGE_SIZE], cursor_of(rows[PAGE_SIZE - 1]) if len(rows) > PAGE_SIZE else None


def history_for(obj) -> list[AuditRecord]:
    """The newest records about one object (a message, a group, a connector)."""
    return list(AuditRecord.objects.filter(object_type=obj._meta.model_name, object_id=str(obj.pk))
                .order_by("-at", "-id")[:HISTORY_SIZE])
