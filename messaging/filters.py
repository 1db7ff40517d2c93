"""The message list's filters, parsed by one validated layer (kaizala_console.filters.filter_list): a value
that is not a status, a group, a phone user, a date, a broadcast id or a console user is dropped with a note."""

import django_filters
from django.contrib.auth import get_user_model

from connectors.models import PhoneUser
from groups.models import Group
from kaizala_console.filters import SearchFilter
from messaging.models import Message


class MessageFilter(django_filters.FilterSet):
    q = SearchFilter(fields=["text"])
    status = django_filters.ChoiceFilter(choices=Message.Status.choices, label="Status")
    group = django_filters.ModelChoiceFilter(queryset=Group.objects.all(), label="Group")
    phone_user = django_filters.ModelChoiceFilter(field_name="group__phone_user", queryset=PhoneUser.objects.all(),
                                                  label="Phone user")
    broadcast = django_filters.UUIDFilter(field_name="broadcast_id", label="Broadcast")
    created_by = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all(), label="Created by")

    class Meta:
        model = Message
        fields = []


# "from" is a Python keyword, so these two cannot be class attributes; the query string keeps its names.
MessageFilter.base_filters["from"] = django_filters.DateFilter(field_name="due_at", lookup_expr="date__gte",
                                                               label="From date")
MessageFilter.base_filters["to"] = django_filters.DateFilter(field_name="due_at", lookup_expr="date__lte",
                                                             label="To date")
