"""The audit page's filters (read through kaizala_console.filters.filter_list: a bad value is dropped with a
note, never a 500)."""

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from audit.models import AuditRecord, Kind

DATE = forms.DateInput(attrs={"type": "date"})
OBJECT_TYPES = [("connector", "Connector"), ("phoneuser", "Phone user"), ("group", "Group"), ("message", "Message"),
                ("schedule", "Schedule"), ("user", "Console user"), ("apikey", "API key")]


class AuditFilter(django_filters.FilterSet):
    person = django_filters.ModelChoiceFilter(field_name="user", queryset=get_user_model().objects.order_by("username"),
                                              label="Person")
    kind = django_filters.ChoiceFilter(choices=Kind.choices, label="Kind")
    object_type = django_filters.ChoiceFilter(choices=OBJECT_TYPES, label="Object")
    object_id = django_filters.CharFilter(label="Object id", max_length=64)
    since = django_filters.DateFilter(field_name="at", lookup_expr="date__gte", label="From", widget=DATE)
    until = django_filters.DateFilter(field_name="at", lookup_expr="date__lte", label="Until", widget=DATE)
    q = django_filters.CharFilter(method="search", label="Search", max_length=200)

    class Meta:
        model = AuditRecord
        fields = ["person", "kind", "object_type", "object_id", "since", "until", "q"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(summary__icontains=value) | Q(actor_name__icontains=value)
                               | Q(address__icontains=value))
