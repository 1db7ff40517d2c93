"""A feed another system follows: oldest first, from after the last id it has seen.

`?after=<id>` gives the rows with a greater id, oldest first; the answer's `next` is the URL to ask next
time, also when the page is empty (then it asks again from the same place). Ids only grow, so a row is
never skipped or repeated by a client that keeps following `next` (unlike a cursor that ends at null).
"""

from django import forms
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from api.filters import MAX_ID

MAX_PAGE_SIZE = 500


class _FeedParams(forms.Form):
    after = forms.IntegerField(min_value=0, max_value=MAX_ID, required=False)
    page_size = forms.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, required=False)


class FollowFeed(BasePagination):
    page_size = 100
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        params = _FeedParams(data={name: request.query_params.get(name) for name in ("after", "page_size")})
        if not params.is_valid():
            raise ValidationError({field: list(errors) for field, errors in params.errors.items()})
        self.after = params.cleaned_data["after"] or 0
        size = params.cleaned_data["page_size"] or self.page_size
        # One more than a page says whether more are waiting.
        rows = list(queryset.filter(pk__gt=self.after).order_by("pk")[:size + 1])
        self.has_more = len(rows) > size
        rows = rows[:size]
        self.last = rows[-1].pk if rows else self.after
        self.request = request
        return rows

    def get_paginated_response(self, data):
        url = replace_query_param(self.request.build_absolute_uri(), "after", self.last)
        return Response({"next": url, "has_more": self.has_more, "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "has_more", "results"],
            "properties": {
                "next": {"type": "string", "format": "uri",
                         "description": "Ask this next (also when `results` is empty: nothing new yet)."},
                "has_more": {"type": "boolean", "description": "More rows are waiting now: ask `next` at once."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "after", "required": False, "in": "query", "schema": {"type": "integer", "minimum": 0},
             "description": "Rows with a greater id, oldest first (0 or absent: from the first)."},
            {"name": "page_size", "required": False, "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
             "description": f"At most {self.max_page_size} (default {self.page_size})."},
        ]
