from datetime import date, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from connectors.models import Connector
from groups.member_input import parse_lines
from groups.models import Group
from kaizala_console.text import has_visible_text
from messaging.models import MAX_TEXT, Schedule
from messaging.recurrence import Rule, next_fire
from messaging.services import Audience

WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]
# Further ahead than this is almost surely a typo (year 9999), and far past any token's life.
MAX_AHEAD = timedelta(days=366 * 2)
# The browser's datetime-local sends minutes, or seconds when the person typed them (step=1).
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local", "step": 1}, format="%Y-%m-%dT%H:%M:%S")
# A date input reads only ISO dates: without the format the locale's (en-gb: 29/11/2026) shows as blank.
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def sendable_groups():
    # Not through a deactivated connector: nothing may be sent through it.
    return Group.objects.filter(state=Group.State.ACTIVE, missing_since__isnull=True,
                                phone_user__connector__is_active=True).select_related("phone_user__connector")


class MessageTextField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(
            max_length=MAX_TEXT, strip=False,
            widget=forms.Textarea(attrs={"rows": 6, "data-counter": "text-counter"}),
            error_messages={"required": "Write the message text.",
                            "max_length": f"A Kaizala message has at most {MAX_TEXT:,} characters (this one has "
                                          "%(show_value)d)."},
            **kwargs,
        )

    def clean(self, value):
        value = super().clean(value)
        if not has_visible_text(value):
            raise ValidationError("Write the message text; it is only spaces or invisible characters now.")
        return value


def _future(value, what="That time"):
    now = timezone.now()
    if value <= now:
        raise ValidationError(f"{what} is in the past; choose a time in the future, or send now.")
    if value > now + MAX_AHEAD:
        raise ValidationError(f"{what} is more than two years ahead; choose an earlier date.")
    return value


class ComposeForm(forms.Form):
    NOW, ONCE, RECURRING = "now", "once", "recurring"

    # A checklist (compose.html renders each box with the group's sending phone user), searched by compose.js.
    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.none(), widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        help_text="Several groups make one broadcast: a message to each.",
        error_messages={"required": "Choose at least one group."},
    )
    text = MessageTextField()
    when = forms.ChoiceField(
        choices=[(NOW, "Send now"), (ONCE, "At a date and time"), (RECURRING, "Recurring")],
        widget=forms.RadioSelect, initial=NOW,
    )
    send_at = forms.DateTimeField(label="Date and time", required=False, input_formats=DATETIME_FORMATS,
                                  widget=DATETIME_WIDGET)
    frequency = forms.ChoiceField(choices=Schedule.Frequency.choices, required=False)
    weekdays = forms.TypedMultipleChoiceField(choices=WEEKDAYS, coerce=int, required=False,
                                              widget=forms.CheckboxSelectMultiple, label="On")
    day_of_month = forms.IntegerField(min_value=1, max_value=31, required=False, label="Day of the month",
                                      help_text="In a shorter month: its last day.")
    local_time = forms.TimeField(required=False, label="At", widget=forms.TimeInput(attrs={"type": "time"},
                                                                                      format="%H:%M"))
    start_date = forms.DateField(required=False, label="From", widget=DATE_WIDGET)
    end_date = forms.DateField(required=False, label="Until (optional)", widget=DATE_WIDGET)
    to_all_subscribers = forms.BooleanField(required=False, label="To all subscribers",
                                            widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))
    subscribers = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="To chosen subscribers",
        help_text="One mobile number a line.",
    )

    def __init__(self, *args, time_zone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone
        self.fields["groups"].queryset = sendable_groups()
        self.fields["start_date"].initial = timezone.localdate()

    def clean_subscribers(self):
        # The groups' parser: the same limits and error summary as every other box of numbers.
        return tuple(e.mobile_number for e in parse_lines(self.cleaned_data["subscribers"], label="Subscribers"))

    def clean(self):
        data = super().clean()
        when = data.get("when")
        if when == self.ONCE:
            if data.get("send_at") is None:
                if "send_at" not in self.errors:
                    self.add_error("send_at", "Choose the date and time to send at.")
            else:
                try:
                    _future(data["send_at"])
                except ValidationError as exc:
                    self.add_error("send_at", exc)
        elif when == self.RECURRING:
            self._clean_recurrence(data)
        groups = data.get("groups") or []
        if (data.get("to_all_subscribers") or data.get("subscribers")) and any(not g.is_public for g in groups):
            self.add_error("to_all_subscribers", "Subscribers exist only in public groups (ConnectGroup): choose "
                                                 "only public groups, or send to the whole group.")
        if data.get("to_all_subscribers") and data.get("subscribers"):
            self.add_error("subscribers", "Choose all subscribers or a list of them, not both.")
        return data

    def _clean_recurrence(self, data):
        frequency = data.get("frequency")
        if not frequency:
            self.add_error("frequency", "Choose how often.")
            return
        if data.get("local_time") is None:
            self.add_error("local_time", "Choose the time of day.")
        if frequency == Schedule.Frequency.WEEKLY and not data.get("weekdays"):
            self.add_error("weekdays", "Choose at least one weekday.")
        if frequency == Schedule.Frequency.MONTHLY and not data.get("day_of_month"):
            self.add_error("day_of_month", "Choose the day of the month.")
        start = data.get("start_date") or timezone.localdate()
        end = data.get("end_date")
        if end and end < start:
            self.add_error("end_date", "The end date is before the start date.")
        if start > date.today() + MAX_AHEAD:
            self.add_error("start_date", "The start is more than two years ahead; choose an earlier date.")
        if self.errors:
            return
        data["rule"] = Rule(
            frequency=frequency, local_time=data["local_time"], time_zone=self.time_zone, start_date=start,
            end_date=end, weekdays=tuple(data.get("weekdays") or ()), day_of_month=data.get("day_of_month"),
        )
        if next_fire(data["rule"], timezone.now()) is None:
            self.add_error(None, "This recurrence never fires: no day between its start and end matches its rule.")

    def audience(self) -> Audience:
        return Audience(bool(self.cleaned_data.get("to_all_subscribers")), self.cleaned_data.get("subscribers", ()))


class ScheduleEditForm(ComposeForm):
    """A recurring schedule's text, groups, audience, time, days and end: the compose form, always recurring."""

    when = forms.CharField(widget=forms.HiddenInput, required=False, initial=ComposeForm.RECURRING)

    def clean_when(self):
        return self.RECURRING

    @classmethod
    def initial_for(cls, schedule: Schedule) -> dict:
        return {
            "groups": list(schedule.groups.all()), "text": schedule.text, "frequency": schedule.frequency,
            "weekdays": schedule.weekdays, "day_of_month": schedule.day_of_month, "local_time": schedule.local_time,
            "start_date": schedule.start_date, "end_date": schedule.end_date,
            "to_all_subscribers": schedule.to_all_subscribers, "subscribers": "\n".join(schedule.subscribers),
        }


class EditMessageForm(forms.Form):
    text = MessageTextField()
    send_at = forms.DateTimeField(label="Date and time", input_formats=DATETIME_FORMATS, widget=DATETIME_WIDGET)

    def clean_send_at(self):
        return _future(self.cleaned_data["send_at"])


class HeldFilterForm(forms.Form):
    """Which held messages to cancel: those of one deactivated connector, or (none chosen) all."""

    connector = forms.ModelChoiceField(queryset=Connector.objects.filter(is_active=False), required=False)
