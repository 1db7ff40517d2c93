"""Keyset (cursor) pages for the lists that grow without bound: a page is found from the sort key of the
row it starts after, so the last page costs what the first does (OFFSET read and threw away every row
before it: 692 ms for the last page of the call log at 500k rows, issue 19).

Usage in a view:

    page = keyset_page(request, listing.qs, order=("-due_at", "-id"), size=50, date_field="due_at")

and in the template: `{% include "partials/keyset.html" %}` (or `with page=other_page`).

The cursor in a link is opaque (URL-safe base64 of the key values) and checked on the way in: a cursor
that does not decode to values of the sort fields' types is ignored with a note and the first page shown.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date

MAX_CURSOR = 1000  # characters; a real cursor is well under 200


@dataclass
class KeysetPage:
    object_list: list
    newer_url: str | None
    older_url: str | None
    # Back to the start of the list (None on the first page).
    first_url: str | None = None
    notes: list[str] = field(default_factory=list)
    # Link words: "Newer"/"Older" for lists in time order, "Previous"/"Next" for lists in name order.
    labels: tuple[str, str] = ("Newer", "Older")
    # The jump-to-date box (None when the list has none), its current value and the other query values
    # the box must keep.
    date_param: str | None = None
    date_value: str = ""
    kept: list[tuple[str, str]] = field(default_factory=list)

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)

    @property
    def has_other_pages(self) -> bool:
        return bool(self.newer_url or self.older_url)


def _sort_field(model, path: str):
    """The model field at the end of a (possibly related, `a__b`) path."""
    *relations, last = path.split("__")
    for name in relations:
        model = model._meta.get_field(name).related_model
    return model._meta.get_field(last)


def _value(row, path: str):
    for name in path.split("__"):
        row = getattr(row, name)
    return row


def encode_cursor(values) -> str:
    text = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, fields) -> list | None:
    """The key values in `cursor`, each converted by its sort field, or None when it is not a cursor for
    these fields."""
    if len(cursor) > MAX_CURSOR:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):  # ValueError covers UnicodeDecodeError and JSONDecodeError
        return None
    if not isinstance(values, list) or len(values) != len(fields):
        return None
    converted = []
    for value, model_field in zip(values, fields, strict=True):
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            return None
        try:
            value = model_field.to_python(value)
        except ValidationError:
            return None
        if isinstance(value, datetime) and timezone.is_naive(value):
            return None
        converted.append(value)
    return converted


def _beyond(order, values, *, forward: bool) -> Q:
    """Rows after (forward) or before the key `values` in the list's order: for keys (a, b) descending,
    a < x OR (a = x AND b < y)."""
    condition = Q()
    equal = Q()
    for (name, descending), value in zip(order, values, strict=True):
        op = "lt" if descending == forward else "gt"
        condition |= equal & Q(**{f"{name}__{op}": value})
        equal &= Q(**{name: value})
    # The first key again, inclusive, at the top level: PostgreSQL starts the index scan there instead of
    # filtering from the list's beginning (the OR alone is not an index range).
    name, descending = order[0]
    return Q(**{f"{name}__{'lte' if descending == forward else 'gte'}": values[0]}) & condition


def keyset_page(request, queryset, *, order: tuple[str, ...], size: int, prefix: str = "",
                date_field: str | None = None, labels: tuple[str, str] = ("Newer", "Older")) -> KeysetPage:
    """One page of `queryset` in `order` (which must end in a unique field, e.g. "-id"), from the cursor in
    the request's `<prefix>after` / `<prefix>before` (or the day in `<prefix>date` when `date_field` is
    given, for a list in descending time order)."""
    parsed = [(name.lstrip("-"), name.startswith("-")) for name in order]
    try:
        fields = [_sort_field(queryset.model, name) for name, _ in parsed]
    except FieldDoesNotExist:
        raise ValueError(f"Cannot sort {queryset.model.__name__} by {order}") from None
    after_param, before_param, date_param = f"{prefix}after", f"{prefix}before", f"{prefix}date"
    notes = []

    def cursor(name):
        raw = request.GET.get(name)
        if raw is None:
            return None
        values = decode_cursor(raw, fields)
        if values is None:
            notes.append("The page link was not valid and was ignored: showing the first page.")
        return values

    after, before = cursor(after_param), cursor(before_param)
    day_text = (request.GET.get(date_param) or "").strip() if date_field else ""
    day = None
    if day_text and not (after or before):
        try:
            day = parse_date(day_text)
        except ValueError:
            day = None
        if day is None:
            notes.append(f"The date “{day_text[:40]}” is not valid (use YYYY-MM-DD) and was ignored.")
    if after and before:
        before = None  # a hand-made link with both: the older direction wins, one page is shown

    forward = before is None
    rows = queryset.order_by(*order) if forward else queryset.order_by(
        *(name if descending else f"-{name}" for name, descending in parsed))
    if after:
        rows = rows.filter(_beyond(parsed, after, forward=True))
    elif before:
        rows = rows.filter(_beyond(parsed, before, forward=False))
    elif day:
        start_of_next = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
        rows = rows.filter(**{f"{date_field}__lt": start_of_next})
    rows = list(rows[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if not forward:
        rows.reverse()

    def start():
        query = request.GET.copy()
        for name in (after_param, before_param, date_param):
            query.pop(name, None)
        return query

    def link(param, row):
        query = start()
        query[param] = encode_cursor([_value(row, name) for name, _ in parsed])
        return "?" + query.urlencode()

    # Going back (before) from a page, there are rows after it; a page reached by a cursor or a date has
    # rows before it (the cursor's own row at least), so the link is offered and may lead to fewer rows.
    has_newer = (more if not forward else bool(after or day)) and bool(rows)
    has_older = (more if forward else True) and bool(rows)
    kept = [(key, value) for key, values in request.GET.lists()
            for value in values if key not in (after_param, before_param, date_param)]
    return KeysetPage(
        object_list=rows,
        newer_url=link(before_param, rows[0]) if has_newer else None,
        older_url=link(after_param, rows[-1]) if has_older else None,
        first_url="?" + start().urlencode() if (after or before or day) else None,
        notes=notes, labels=labels, date_param=date_param if date_field else None,
        date_value=day.isoformat() if day else "", kept=kept,
    )


def keyset_chunks(queryset, *, order: tuple[str, ...], size: int):
    """Every row of `queryset` (a `.values()` query naming the `order` fields) in `order`, `size` rows per
    query, each query found from the last row of the one before: an export streams a table of any size in
    flat memory, and its last chunk costs what its first does."""
    parsed = [(name.lstrip("-"), name.startswith("-")) for name in order]
    rows = queryset.order_by(*order)
    last = None
    while True:
        chunk = list((rows.filter(_beyond(parsed, last, forward=True)) if last else rows)[:size])
        if chunk:
            yield chunk
        if len(chunk) < size:
            return
        last = [chunk[-1][name] for name, _ in parsed]
