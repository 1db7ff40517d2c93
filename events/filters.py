"""The events list's filters and its cursor: one validated layer (filter_list drops a bad value with a note)."""

import django_filters
from django.core.validators import RegexValidator
from django.db.models import Q

from events.models import Event, InboundPost
from events.selectors import from_micros, micros
from groups.models import Group

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


class InboxFilter(django_filters.FilterSet):
    group = django_filters.ModelChoiceFilter(label="Group", queryset=Group.objects.only("id", "name"))
    since = django_filters.IsoDateTimeFilter(label="From", field_name="posted_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(label="Until", field_name="posted_at", lookup_expr="lt")
    q = django_filters.CharFilter(label="Search in text", method="search", max_length=200)
    # Keyset paging on (posted_at, id), newest first: "<microseconds>:<id>" of the last row of the page before.
    before = django_filters.CharFilter(method="older", validators=[RegexValidator(r"^\d{1,17}:\d{1,18}$")])

    class Meta:
        model = InboundPost
        fields = []

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(text__icontains=value) | Q(title__icontains=value)) if value else queryset

    def older(self, queryset, name, value):
        when, pk = (int(part) for part in value.split(":"))
        at = from_micros(when)
        # posted_at <= cursor at the top level too: PostgreSQL starts the index scan there, where the OR alone made
        # it read (and throw away) every newer post first, as OFFSET did (kaizala_console/keyset.py).
        return queryset.filter(Q(posted_at__lte=at), Q(posted_at__lt=at) | Q(posted_at=at, id__lt=pk))


def inbox_cursor(post: InboundPost) -> str:
    return f"{micros(post.posted_at)}:{post.pk}"
