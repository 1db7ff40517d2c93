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
