"""CSV exports of the lists: streamed in keyset chunks (kaizala_console.keyset.keyset_chunks), so 200k rows
take the memory of one chunk, with the list's filters applied by the view.

A cell that a spreadsheet would read as a formula (starting =, +, -, @, tab or CR) is prefixed with ',
as OWASP advises against CSV injection: outside text (message text, names, URLs) is written as text.
Times are written in the reader's time zone with their offset, ISO 8601: the zone is taken in the view,
because the response is streamed after the middleware has put the request's zone away.
"""

import csv
from collections.abc import Iterable
from datetime import datetime, tzinfo

from django.http import StreamingHttpResponse
from django.utils import timezone

from kaizala_console.keyset import keyset_chunks

CHUNK = 2000  # rows per query: measured in bench/bench_pages.py (export of 200k messages)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value, zone: tzinfo) -> str | int:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat(timespec="seconds")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


class _Line:
    """csv.writer writes into this and gets the line back, to be yielded."""

    def write(self, line: str) -> str:
        return line


def csv_response(*, filename: str, columns: list[tuple[str, str]], queryset, order: tuple[str, ...]
                 ) -> StreamingHttpResponse:
    """`columns`: (header, field name of the `.values()` row) per column. The queryset is read in keyset
    chunks in `order`; the order fields are read with the columns."""
    zone = timezone.get_current_timezone()
    fields = list(dict.fromkeys([field for _, field in columns] + [name.lstrip("-") for name in order]))
    writer = csv.writer(_Line())

    def lines() -> Iterable[str]:
        yield "\ufeff" + writer.writerow([header for header, _ in columns])  # the BOM: Excel reads UTF-8
        for chunk in keyset_chunks(queryset.values(*fields), order=order, size=CHUNK):
            yield "".join(writer.writerow([safe_cell(row[field], zone) for _, field in columns]) for row in chunk)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
