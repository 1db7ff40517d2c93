"""The audit trail (Admins): read and export only; no URL edits or deletes a record."""

import csv
from datetime import UTC

from django.conf import settings
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.roles import Role, role_required
from audit import selectors
from audit.filters import AuditFilter
from kaizala_console.filters import filter_list

# A spreadsheet runs a cell that starts like a formula: such cells get a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ["when (UTC)", "who", "API key", "address", "kind", "object", "object id", "what", "changes"]


@role_required(Role.ADMIN)
@require_safe
def record_list(request):
    listing = filter_list(AuditFilter, request, selectors.record_list())
    notes = list(listing.notes)
    cursor = None
    if request.GET.get("after"):
        cursor = selectors.parse_cursor(request.GET["after"])
        if cursor is None:
            notes.append("The page position in the address is not valid; showing the newest records.")
    records, next_cursor = selectors.page_after(listing.qs, cursor)
    query = request.GET.copy()
    query.pop("after", None)
    return render(request, "audit/record_list.html", {
        "records": records, "filter": listing, "notes": notes, "next_cursor": next_cursor,
        "query": query.urlencode(), "first_page": cursor is None, "retention_days": settings.AUDIT_RETENTION_DAYS,
    })


def _safe(value) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value):
        return value


def _rows(queryset):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for r in queryset.iterator(chunk_size=2000):
        changes = "; ".join(f"{field}: {before} → {after}" for field, (before, after) in r.changes.items())
        yield writer.writerow([_safe(v) for v in (
            r.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), r.actor_name, r.api_key, r.address or "",
            r.get_kind_display(), r.object_type, r.object_id, r.summary, changes)])


@role_required(Role.ADMIN)
@require_safe
def record_export(request):
    """The filtered trail as CSV, streamed (it may be long)."""
    listing = filter_list(AuditFilter, request, selectors.record_list())
    response = StreamingHttpResponse(_rows(listing.qs), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.now():%Y%m%d-%H%M}.csv"'
    return response
