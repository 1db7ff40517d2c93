"""The query-string filters of the phone-user and API-call lists (read through kaizala_console.filters.filter_list:
a bad value is dropped with a note, never a 500)."""

import django_filters
from django.db.models import Q

from connectors.models import ApiCall, Connector, PhoneUser
from kaizala_console.filters import SearchFilter

STATUS_FILTERS = {
    "ok": ("2xx", Q(status__gte=200, status__lt=300)),
    "4xx": ("4xx", Q(status__gte=400, status__lt=500)),
    "5xx": ("5xx", Q(status__gte=500)),
    "error": ("Any error", ~Q(error_class="")),
}
METHODS = ["GET", "POST", "PUT", "DELETE"]


class PhoneUserFilter(django_filters.FilterSet):
    q = SearchFilter(fields=["mobile_number"])
    connector = django_filters.ModelChoiceFilter(queryset=Connector.objects.all(), label="Connector")
    state = django_filters.ChoiceFilter(choices=PhoneUser.State.choices, label="State")

    class Meta:
        model = PhoneUser
        fields = ["q", "connector", "state"]


class ApiCallFilter(django_filters.FilterSet):
    q = SearchFilter(fields=["url"])
    connector = django_filters.ModelChoiceFilter(queryset=Connector.objects.all(), label="Connector")
    phone_user = django_filters.ModelChoiceFilter(queryset=PhoneUser.objects.all(), label="Phone user")
    status = django_filters.ChoiceFilter(
        choices=[(key, label) for key, (label, _) in STATUS_FILTERS.items()], label="Status", method="by_status"
    )
    method = django_filters.ChoiceFilter(choices=[(m, m) for m in METHODS], label="Method")

    class Meta:
        model = ApiCall
        fields = ["q", "connector", "phone_user", "status", "method"]

    def by_status(self, queryset, name, value):
        return queryset.filter(STATUS_FILTERS[value][1])
