"""What the API shows and takes. Output never includes a secret or a token. Input is checked by the
same forms the pages use (`checked`), so one rule holds for both; these serializers give its shape."""

import copy
import zoneinfo

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.callbacks import EVENT_TYPES
from connectors.models import Connector, PhoneUser
from groups.models import Group, GroupMember
from messaging.models import MAX_TEXT, Attempt, Message, Schedule


def checked(form_class, data: dict, **kwargs):
    """The page's form, filled from the JSON body: its cleaned data, or a 400 with its errors by field."""
    form = form_class(data=data, **kwargs)
    if not form.is_valid():
        raise serializers.ValidationError({field: list(errors) for field, errors in form.errors.items()})
    return form


class ModelSerializer(serializers.ModelSerializer):
    """DRF builds a model serializer's fields from the model again for every instance (every answer); they come
    out the same each time, so each class builds them once and copies them, as DRF copies declared fields."""

    def get_fields(self):
        built = type(self).__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()
            type(self)._built_fields = built  # two threads may both build it: the same fields either way
        return copy.deepcopy(built)


@extend_schema_field({"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9](:[0-5][0-9])?$", "example": "09:30"})
class WallClockTime(serializers.TimeField):
    """A time of day without a zone (the zone is a field of its own): "09:30"."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class ConnectorSerializer(ModelSerializer):
    class Meta:
        model = Connector
        fields = ["id", "name", "description", "application_id", "permissions", "status", "status_detail",
                  "is_active", "created_at"]


class PhoneUserSerializer(ModelSerializer):
    class Meta:
        model = PhoneUser
        fields = ["id", "connector", "mobile_number", "label", "token_kind", "state", "last_error",
                  "refresh_token_expires_at", "created_at"]


class MemberSerializer(ModelSerializer):
    class Meta:
        model = GroupMember
        fields = ["id", "mobile_number", "name", "role", "state", "last_error"]


class GroupSerializer(ModelSerializer):
    class Meta:
        model = Group
        fields = ["id", "name", "kaizala_id", "group_type", "state", "phone_user", "parent", "member_count",
                  "welcome_message", "last_error", "missing_since", "created_at"]


class GroupDetailSerializer(GroupSerializer):
    members = MemberSerializer(many=True, read_only=True)

    class Meta(GroupSerializer.Meta):
        fields = [*GroupSerializer.Meta.fields, "members"]


class MobileNumbers(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(max_length=40), max_length=10_000, **kwargs)


class GroupCreateSerializer(serializers.Serializer):
    phone_user = serializers.IntegerField(help_text="The phone user that creates the group and becomes its admin.")
    name = serializers.CharField(max_length=100)
    welcome_message = serializers.CharField(max_length=500)
    group_type = serializers.ChoiceField(choices=Group.Type.choices, default=Group.Type.GROUP)
    members = MobileNumbers(required=False, default=list, help_text="Mobile numbers with the country code.")


class MembersAddSerializer(serializers.Serializer):
    members = MobileNumbers(help_text="Mobile numbers with the country code.")


class MembersAddedSerializer(serializers.Serializer):
    requested = serializers.IntegerField(help_text="Numbers marked pending; a worker adds them at Kaizala.")


class AttemptSerializer(ModelSerializer):
    class Meta:
        model = Attempt
        fields = ["started_at", "finished_at", "outcome", "http_status", "detail"]


class MessageSerializer(ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "group", "text", "status", "broadcast_id", "schedule", "scheduled_for", "due_at",
                  "attempt_count", "sent_at", "reference_id", "last_error", "to_all_subscribers", "created_at"]


class MessageDetailSerializer(MessageSerializer):
    attempts = AttemptSerializer(many=True, read_only=True)
    subscribers = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta(MessageSerializer.Meta):
        fields = [*MessageSerializer.Meta.fields, "subscribers", "attempts"]


class ScheduleSerializer(ModelSerializer):
    groups = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    local_time = WallClockTime(read_only=True)

    class Meta:
        model = Schedule
        fields = ["id", "groups", "text", "frequency", "weekdays", "day_of_month", "local_time", "time_zone",
                  "start_date", "end_date", "state", "next_fire_at", "fire_count", "created_at"]


class RecurrenceSerializer(serializers.Serializer):
    frequency = serializers.ChoiceField(choices=Schedule.Frequency.choices)
    local_time = WallClockTime(help_text="Wall-clock time in `time_zone`.")
    time_zone = serializers.CharField(max_length=64, help_text="An IANA zone, e.g. Asia/Kolkata.")
    weekdays = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6), required=False,
                                     max_length=7, help_text="0 = Monday … 6 = Sunday (weekly).")
    day_of_month = serializers.IntegerField(min_value=1, max_value=31, required=False, allow_null=True)
    start_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(required=False, allow_null=True)

    def validate_time_zone(self, value):
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise serializers.ValidationError("Not a time zone name (IANA, e.g. Asia/Kolkata).") from None
        return value


class MessageCreateSerializer(serializers.Serializer):
    groups = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**62), min_length=1,
                                   max_length=1000, help_text="Several groups make one broadcast: a message each.")
    text = serializers.CharField(max_length=MAX_TEXT, trim_whitespace=False)
    send_at = serializers.DateTimeField(required=False, allow_null=True,
                                        help_text="ISO 8601 with an offset. Absent: now (unless `recurrence`).")
    recurrence = RecurrenceSerializer(required=False, allow_null=True, help_text="A recurring schedule instead.")
    to_all_subscribers = serializers.BooleanField(default=False)
    subscribers = MobileNumbers(required=False, default=list)


class MessageCreatedSerializer(serializers.Serializer):
    messages = MessageSerializer(many=True, help_text="One per group (empty for a recurring schedule).")
    schedule = ScheduleSerializer(allow_null=True)


class CallbackSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500, source="callback_url")
    events = serializers.ListField(child=serializers.ChoiceField(choices=sorted(EVENT_TYPES)), required=False,
                                   default=list, source="callback_events",
                                   help_text="Event types to receive; empty: every type.")
    disabled_at = serializers.DateTimeField(read_only=True, source="callback_disabled_at", allow_null=True,
                                            help_text="Set when deliveries kept failing; register again to re-enable.")


class CallbackRegisteredSerializer(CallbackSerializer):
    secret = serializers.CharField(read_only=True, help_text="Signs every delivery. Shown only in this answer.")
