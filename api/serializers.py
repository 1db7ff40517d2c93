"""What the API shows and takes. Output never includes a secret or a token. Input is checked by the
same forms the pages use (`checked`), so one rule holds for both; these serializers give its shape."""

import base64
import binascii
import copy
import zoneinfo

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from actions.models import ActionResponse
from api.callbacks import EVENT_TYPES
from connectors.models import Connector, PhoneUser
from events.models import InboundPost
from groups.models import Group, GroupMember
from messaging import cards
from messaging.models import MAX_TEXT, Attempt, Message, MessageKind, Schedule


def checked(form_class, data: dict, *, files=None, names=None, **kwargs):
    """The page's form, filled from the JSON body: its cleaned data, or a 400 with its errors by field
    (`names`: the API's name of a form field where they differ)."""
    form = form_class(data=data, files=files, **kwargs)
    if not form.is_valid():
        names = names or {}
        raise serializers.ValidationError({names.get(field, field): list(errors)
                                           for field, errors in form.errors.items()})
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
        fields = ["id", "group", "kind", "text", "card", "action_id", "status", "broadcast_id", "schedule",
                  "scheduled_for", "due_at", "attempt_count", "sent_at", "reference_id", "last_error",
                  "to_all_subscribers", "created_at"]


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
        fields = ["id", "groups", "kind", "text", "card", "frequency", "weekdays", "day_of_month", "local_time",
                  "time_zone", "start_date", "end_date", "state", "next_fire_at", "fire_count", "created_at"]


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


class FileSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, help_text="With the extension Kaizala takes for the kind.")
    content_base64 = serializers.CharField(max_length=4 * (settings.MEDIA_MAX_BYTES // 3 + 1),
                                           help_text="The file's bytes, base64 (MEDIA_MAX_BYTES at most).")

    def validate_content_base64(self, value):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError("Not base64.") from None


class DueSerializer(serializers.Serializer):
    due_at = serializers.DateTimeField(required=False, allow_null=True,
                                       help_text="Closes / is due then (absent: the page's default window).")


class PollSerializer(DueSerializer):
    question = serializers.CharField(max_length=500)
    choices = serializers.ListField(child=serializers.CharField(max_length=200), max_length=cards.MAX_CHOICES,
                                    help_text=f"{cards.MIN_CHOICES} to {cards.MAX_CHOICES}, each once.")


class SurveyQuestionSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=500)
    type = serializers.ChoiceField(choices=cards.QUESTION_TYPES)
    options = serializers.ListField(child=serializers.CharField(max_length=200), required=False, default=list,
                                    max_length=50, help_text="Choice questions: two or more.")
    required = serializers.BooleanField(default=True)


class SurveySerializer(DueSerializer):
    title = serializers.CharField(max_length=200)
    questions = SurveyQuestionSerializer(many=True, max_length=30)
    anonymous = serializers.BooleanField(default=False)
    multiple_responses = serializers.BooleanField(default=False, help_text="A member may answer more than once.")


class JobSerializer(DueSerializer):
    title = serializers.CharField(max_length=200)
    assignees = serializers.ListField(child=serializers.CharField(max_length=40), max_length=1000,
                                      help_text="Mobile numbers of members of every chosen group.")


class AnnouncementSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, default="")
    message = serializers.CharField(max_length=MAX_TEXT)
    image = FileSerializer(required=False, allow_null=True)


class MeetingSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    starts_at = serializers.DateTimeField()
    duration_minutes = serializers.IntegerField(min_value=5, max_value=24 * 60, default=30)
    place = serializers.CharField(max_length=200, required=False, default="")
    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True)
    longitude = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True)
    agenda = serializers.CharField(max_length=2000, required=False, default="")


class MessageCreateSerializer(serializers.Serializer):
    groups = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**62), min_length=1,
                                   max_length=1000, help_text="Several groups make one broadcast: a message each.")
    kind = serializers.ChoiceField(choices=MessageKind.choices, default=MessageKind.TEXT,
                                   help_text="What it posts; the kind's object (`poll`, `survey`, …) says the rest.")
    text = serializers.CharField(max_length=MAX_TEXT, trim_whitespace=False, required=False, default="",
                                 help_text="The text kind's message.")
    poll = PollSerializer(required=False)
    survey = SurveySerializer(required=False)
    job = JobSerializer(required=False)
    announcement = AnnouncementSerializer(required=False)
    meeting = MeetingSerializer(required=False, help_text="The letsmeet kind.")
    file = FileSerializer(required=False, help_text="The image, document, audio or video kind's file.")
    caption = serializers.CharField(max_length=1000, required=False, default="", help_text="A media post's caption.")

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            # A text message without text is the form's error, but say it now with the others at once.
            if isinstance(data, dict) and data.get("kind", MessageKind.TEXT) == MessageKind.TEXT and \
                    not data.get("text") and "text" not in exc.detail:
                exc.detail["text"] = ["Write the message text."]
            raise
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


class PostSerializer(ModelSerializer):
    class Meta:
        model = InboundPost
        fields = ["id", "group", "kind", "sender_phone", "sender_name", "title", "text", "media", "reference_id",
                  "posted_at"]


class ResponseSerializer(ModelSerializer):
    message = serializers.IntegerField(source="message_id", read_only=True, allow_null=True,
                                       help_text="The console message that posted the action (null: not known).")
    answers = serializers.JSONField(help_text="One per question, as Kaizala gave them.")

    class Meta:
        model = ActionResponse
        fields = ["id", "message", "action_id", "responder_phone", "responder_name", "answers", "is_completed",
                  "responded_at", "updated_at"]


class OptionResultSerializer(serializers.Serializer):
    title = serializers.CharField()
    count = serializers.IntegerField()
    percent = serializers.IntegerField(help_text="Of all responses.")


class QuestionResultSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="From 0, in the action's order.")
    title = serializers.CharField()
    type = serializers.CharField()
    is_choice = serializers.BooleanField()
    options = OptionResultSerializer(many=True, help_text="Choice questions: the tally of each option.")
    answered = serializers.IntegerField(help_text="Choice questions: options chosen in all.")


class PersonSerializer(serializers.Serializer):
    mobile_number = serializers.CharField()
    name = serializers.CharField()


class AssigneeSerializer(serializers.Serializer):
    mobile_number = serializers.CharField()
    completed = serializers.BooleanField()


class ResultsSerializer(serializers.Serializer):
    responses = serializers.IntegerField(source="total")
    responders = serializers.IntegerField()
    completed = serializers.IntegerField(help_text="Jobs: marked done.")
    member_total = serializers.IntegerField(help_text="Members of the group.")
    members_answered = serializers.IntegerField()
    response_rate = serializers.IntegerField(source="rate", help_text="Percent of the members who answered.")
    last_response_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    is_open = serializers.BooleanField()
    questions = QuestionResultSerializer(many=True)
    answered = PersonSerializer(many=True, help_text="Members who answered (the first 200 by name).")
    not_answered = PersonSerializer(many=True, help_text="Members who have not (the first 200 by name).")
    assignees = AssigneeSerializer(many=True, help_text="Jobs: each assignee and whether they marked it done.")


# The compose form's fields of each kind's object (form field → the object's key).
KIND_FORM_FIELDS = {
    "poll": {"poll_question": "question", "due_at": "due_at"},
    "survey": {"survey_title": "title", "survey_anonymous": "anonymous", "survey_multiple": "multiple_responses",
               "due_at": "due_at"},
    "job": {"job_title": "title", "job_assignees": "assignees", "due_at": "due_at"},
    "announcement": {"ann_title": "title", "ann_message": "message"},
    "meeting": {"meet_title": "title", "meet_start": "starts_at", "meet_duration": "duration_minutes",
                "meet_place": "place", "meet_latitude": "latitude", "meet_longitude": "longitude",
                "meet_agenda": "agenda"},
}
KIND_OBJECT = {MessageKind.POLL: "poll", MessageKind.SURVEY: "survey", MessageKind.JOB: "job",
               MessageKind.ANNOUNCEMENT: "announcement", MessageKind.LETS_MEET: "meeting"}


def compose_fields(data: dict) -> tuple[dict, dict, dict]:
    """The compose form's data and files for a message's kind from the API's body, and the API's name of
    each form field the kind fills (its errors are reported under that name)."""
    kind = data["kind"]
    fields = {"kind": kind, "text": data["text"], "caption": data["caption"]}
    files, names = {}, {}
    name = KIND_OBJECT.get(kind)
    if name is None:  # text, or a media post
        if data.get("file"):
            files["media_file"] = SimpleUploadedFile(data["file"]["name"], data["file"]["content_base64"])
        names["media_file"] = "file"
        return fields, files, names
    given = data.get(name)
    if given is None:
        raise serializers.ValidationError({name: [f"A {kind} needs its “{name}” object."]})
    for form_field, key in KIND_FORM_FIELDS[name].items():
        fields[form_field] = given.get(key)
        names[form_field] = f"{name}.{key}"
    if name == "poll":
        fields["poll_choices"] = "\n".join(given["choices"])
        names["poll_choices"] = "poll.choices"
    elif name == "survey":
        # The page's question formset, filled as the page posts it.
        questions = given["questions"]
        fields.update({"q-TOTAL_FORMS": len(questions), "q-INITIAL_FORMS": 0})
        for number, question in enumerate(questions):
            fields.update({f"q-{number}-title": question["title"], f"q-{number}-type": question["type"],
                           f"q-{number}-options": "\n".join(question["options"])})
            if question["required"]:
                fields[f"q-{number}-required"] = "on"
        names["__all__"] = "survey.questions"
    elif name == "announcement" and given.get("image"):
        files["media_file"] = SimpleUploadedFile(given["image"]["name"], given["image"]["content_base64"])
        names["media_file"] = "announcement.image"
    return fields, files, names
