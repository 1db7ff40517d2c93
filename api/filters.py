"""The deliveries page's filters (kaizala_console.filters.filter_list drops a bad value with a note)."""

from datetime import UTC

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

from actions.models import ActionResponse
from api.models import ApiKey, Delivery
from connectors.models import PhoneUser
from events.models import InboundPost
from groups.models import Group
from messaging.models import Message, Schedule

MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """A row id: a whole number in the database's range (anything else is a validation error, not a 500)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=MAX_ID, **kwargs)


class UtcDateTimeField(IsoDateTimeField):
    def clean(self, value):
        value = super().clean(value)
        try:
            # In UTC: PostgreSQL refuses offsets past ±15:59, which ISO 8601 allows.
            return value.astimezone(UTC) if value is not None else None
        except OverflowError:
            raise ValidationError("That date and time is out of range.") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class DeliveryFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(label="State", choices=Delivery.State.choices)
    key = django_filters.ModelChoiceFilter(label="Key", field_name="api_key",
                                           queryset=ApiKey.objects.only("id", "name", "prefix"))
    event = django_filters.UUIDFilter(label="Event id", field_name="event_id")

    class Meta:
        model = Delivery
        fields = []


# The REST API's list filters (a bad value is a 400 there, with the field named).


class PhoneUserFilter(django_filters.FilterSet):
    connector = IdFilter(field_name="connector_id")
    state = django_filters.ChoiceFilter(choices=PhoneUser.State.choices)

    class Meta:
        model = PhoneUser
        fields = []


class GroupFilter(django_filters.FilterSet):
    phone_user = IdFilter(field_name="phone_user_id")
    state = django_filters.ChoiceFilter(choices=Group.State.choices)
    group_type = django_filters.ChoiceFilter(choices=Group.Type.choices)

    class Meta:
        model = Group
        fields = []


class MessageFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Message.Status.choices)
    group = IdFilter(field_name="group_id")
    broadcast = django_filters.UUIDFilter(field_name="broadcast_id")
    schedule = IdFilter(field_name="schedule_id")
    due_after = UtcDateTimeFilter(field_name="due_at", lookup_expr="gte")
    due_before = UtcDateTimeFilter(field_name="due_at", lookup_expr="lt")

    class Meta:
        model = Message
        fields = []


class ScheduleFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=Schedule.State.choices)

    class Meta:
        model = Schedule
        fields = []


class PostFilter(django_filters.FilterSet):
    group = IdFilter(field_name="group_id")
    kind = django_filters.ChoiceFilter(choices=InboundPost.Kind.choices)

    class Meta:
        model = InboundPost
        fields = []


class ResponseFilter(django_filters.FilterSet):
    message = IdFilter(method="of_message", help_text="The responses to the action this message posted.")

    class Meta:
        model = ActionResponse
        fields = []

    def of_message(self, queryset, name, value):
        action_id = Message.objects.filter(pk=value).exclude(action_id="").values_list("action_id", flat=True).first()
        return queryset.filter(action_id=action_id) if action_id else queryset.none()
