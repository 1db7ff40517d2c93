"""One validated layer for list filters (django-filter): a bad value in a query string is dropped with a
visible note, never a 500 and never a silently different list.

Usage in a view:

    listing = filter_list(MessageFilter, request, selectors.message_list())
    render(..., {"page": ...listing.qs..., "filter": listing})

and in the template: `{% include "partials/filter_notes.html" with notes=filter.notes %}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import django_filters
from django.db.models import Q


@dataclass
class FilteredList:
    qs: object
    form: object
    # One sentence per ignored filter value.
    notes: list[str] = field(default_factory=list)


def filter_list(filterset_class: type[django_filters.FilterSet], request, queryset) -> FilteredList:
    data = request.GET.copy()
    filterset = filterset_class(data, queryset=queryset, request=request)
    notes = []
    if not filterset.is_valid():
        for name in filterset.errors:
            label = filterset.form.fields[name].label if name in filterset.form.fields else name
            value = data.get(name, "")
            shown = value if len(value) <= 40 else value[:40] + "…"
            notes.append(f"The {str(label).lower()} filter “{shown}” is not valid and was ignored.")
            data.pop(name, None)
        filterset = filterset_class(data, queryset=queryset, request=request)
    return FilteredList(qs=filterset.qs, form=filterset.form, notes=notes)


class SearchFilter(django_filters.CharFilter):
    """`?q=`: the rows where one of `fields` contains the text, case-insensitive (`icontains`: on PostgreSQL
    the trigram GIN indexes on UPPER(field) of kaizala_console/migrations/0002 serve it; SQLite scans), or
    where one of `exact` (indexed) fields equals it."""

    def __init__(self, *, fields: list[str], exact: tuple[str, ...] = (), **kwargs):
        kwargs.setdefault("label", "Search")
        super().__init__(max_length=200, **kwargs)
        self.search_fields, self.exact_fields = fields, exact

    def filter(self, qs, value):
        value = (value or "").strip()
        if not value:
            return qs
        condition = Q()
        for name in self.search_fields:
            condition |= Q(**{f"{name}__icontains": value})
        for name in self.exact_fields:
            condition |= Q(**{name: value})
        return qs.filter(condition)
