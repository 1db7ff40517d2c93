"""The deliveries page's filters (kaizala_console.filters.filter_list drops a bad value with a note)."""

import django_filters

from api.models import ApiKey, Delivery


class DeliveryFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(label="State", choices=Delivery.State.choices)
    key = django_filters.ModelChoiceFilter(label="Key", field_name="api_key",
                                           queryset=ApiKey.objects.only("id", "name", "prefix"))
    event = django_filters.UUIDFilter(label="Event id", field_name="event_id")

    class Meta:
        model = Delivery
        fields = []
