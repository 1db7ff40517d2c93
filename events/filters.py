"""The events list's filters and its cursor: one validated layer (filter_list drops a bad value with a note)."""

import django_filters
from django.db.models import Q

from events.models import Event

STATES = (("waiting", "Waiting to be processed"), ("failed", "Failed"), ("processed", "Processed"))


class EventFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(label="State", choices=STATES, method="in_state")
    type = django_filters.CharFilter(label="Event type", field_name="event_type", max_length=100)
    # Keyset paging on the list's order (newest first): the id of the last row of the page before.
    before = django_filters.NumberFilter(label="Older than", field_name="id", lookup_expr="lt", min_value=1)

    class Meta:
        model = Event
        fields = []

    def in_state(self, queryset, name, value):
        return queryset.filter({
            "waiting": Q(processed_at__isnull=True, error=""),
            "failed": Q(processed_at__isnull=True) & ~Q(error=""),
            "processed": Q(processed_at__isnull=False),
        }[value])
