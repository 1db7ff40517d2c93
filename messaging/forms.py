from datetime import UTC, date, datetime, timedelta

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import SimpleLazyObject, cached_property

from connectors.models import Connector
from groups.member_input import parse_lines
from groups.models import Group, GroupMember
from kaizala_console.text import has_visible_text
from messaging import cards
from messaging.media import EXTENSIONS, check_upload
from messaging.models import MAX_TEXT, MessageKind, Schedule
from messaging.recurrence import Rule, next_fire
from messaging.services import Audience, Upload

WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]
# Further ahead than this is almost surely a typo (year 9999), and far past any token's life.
MAX_AHEAD = timedelta(days=366 * 2)
# The browser's datetime-local sends minutes, or seconds when the person typed them (step=1).
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local", "step": 1}, format="%Y-%m-%dT%H:%M:%S")
# A date input reads only ISO dates: without the format the locale's (en-gb: 29/11/2026) shows as blank.
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def sendable_groups():
    # Not through a deactivated connector: nothing may be sent through it. Only what the checklist shows and the
    # form checks (a group's name, its type, its phone user's number): the phone user's secrets would each be
    # decrypted.
    return Group.objects.filter(state=Group.State.ACTIVE, missing_since__isnull=True,
                                phone_user__connector__is_active=True).select_related("phone_user").only(
        "name", "group_type", "phone_user__mobile_number")


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


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class AnyChoiceField(forms.MultipleChoiceField):
    """Offers the listed choices, takes any value: the form checks it and says what is wrong in its own words."""

    def valid_value(self, value):
        return True


class MemberCheckboxes(forms.CheckboxSelectMultiple):
    """Each member's box names the groups it belongs to (data-groups), so the page shows those of the chosen
    groups."""

    member_groups: dict = {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex=subindex, attrs=attrs)
        option["attrs"]["data-groups"] = self.member_groups.get(value, "")
        return option


class SurveyQuestionForm(forms.Form):
    title = forms.CharField(max_length=500, required=False, label="Question")
    type = forms.ChoiceField(choices=cards.QUESTION_TYPES, initial="SingleOption", label="Answer")
    options = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Options",
                              help_text="One a line (choice questions).")
    required = forms.BooleanField(required=False, initial=True, label="Required",
                                  widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))


SurveyQuestionFormSet = forms.formset_factory(SurveyQuestionForm, extra=1, max_num=30, absolute_max=30)
TEXT_LABEL = forms.Textarea(attrs={"rows": 3})


class ComposeForm(forms.Form):
    NOW, ONCE, RECURRING = "now", "once", "recurring"
    # The kind's own fields (compose.html shows a kind's section only when it is chosen).
    KIND_FIELDS = {
        MessageKind.ANNOUNCEMENT: ("ann_title", "ann_message", "media_file"),
        MessageKind.POLL: ("poll_question", "poll_choices", "due_at"),
        MessageKind.SURVEY: ("survey_title", "survey_anonymous", "survey_multiple", "due_at"),
        MessageKind.JOB: ("job_title", "job_assignees", "due_at"),
        MessageKind.LETS_MEET: ("meet_title", "meet_start", "meet_duration", "meet_place", "meet_latitude",
                                "meet_longitude", "meet_agenda"),
        **{kind: ("media_file", "caption") for kind in cards.MEDIA_KINDS},
    }

    kind = forms.ChoiceField(choices=MessageKind.choices, initial=MessageKind.TEXT, required=False, label="Post",
                             widget=forms.RadioSelect)

    # A checklist (compose.html renders each box with the group's sending phone user), searched by compose.js.
    # Its queryset is built once, here: each form's copy of the field clones it, and reads afresh.
    groups = forms.ModelMultipleChoiceField(
        queryset=sendable_groups(), widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
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
    # --- the kinds' fields (all optional here; `_clean_card` requires what the chosen kind needs) ---
    ann_title = forms.CharField(max_length=200, required=False, label="Title")
    ann_message = forms.CharField(max_length=MAX_TEXT, required=False, widget=TEXT_LABEL, label="Message")
    poll_question = forms.CharField(max_length=500, required=False, label="Question")
    poll_choices = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}), label="Choices",
                                   help_text=f"One a line, {cards.MIN_CHOICES} to {cards.MAX_CHOICES}.")
    survey_title = forms.CharField(max_length=200, required=False, label="Title")
    survey_anonymous = forms.BooleanField(required=False, label="Anonymous answers",
                                          widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))
    survey_multiple = forms.BooleanField(required=False, label="A member may answer more than once",
                                         widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))
    job_title = forms.CharField(max_length=200, required=False, label="Title")
    job_assignees = AnyChoiceField(required=False, label="Assigned to",
                                   widget=MemberCheckboxes(attrs={"class": "form-check-input"}))
    due_at = forms.DateTimeField(required=False, input_formats=DATETIME_FORMATS, widget=DATETIME_WIDGET,
                                 label="Due / closes at",
                                 help_text="Empty: a poll stays open 30 days, a survey or a job 24 hours. A recurring "
                                           "post stays open as long as its first one.")
    meet_title = forms.CharField(max_length=200, required=False, label="Title")
    meet_start = forms.DateTimeField(required=False, input_formats=DATETIME_FORMATS, widget=DATETIME_WIDGET,
                                     label="Starts at")
    meet_duration = forms.IntegerField(required=False, min_value=5, max_value=24 * 60, initial=30,
                                       label="Duration (minutes)")
    meet_place = forms.CharField(max_length=200, required=False, label="Place")
    meet_latitude = forms.FloatField(required=False, min_value=-90, max_value=90, label="Latitude (optional)")
    meet_longitude = forms.FloatField(required=False, min_value=-180, max_value=180, label="Longitude (optional)")
    meet_agenda = forms.CharField(max_length=2000, required=False, widget=TEXT_LABEL, label="Agenda")
    media_file = forms.FileField(required=False, label="File")
    caption = forms.CharField(max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              label="Caption")

    def __init__(self, *args, time_zone: str, preview: bool = False, fixed_kind: str | None = None,
                 current_media=None, questions_initial=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone
        # A preview is of the card only: the file (not sent with it) and the groups may still be missing.
        self.preview = preview
        # An edit keeps the post's kind, and its file unless another is chosen.
        self.fixed_kind = fixed_kind
        self.current_media = current_media
        self.fields["start_date"].initial = timezone.localdate()
        kind = fixed_kind or ((self.data.get("kind") or MessageKind.TEXT) if self.is_bound else MessageKind.TEXT)
        # The text box is the text kind's only; a preview shows the text as typed so far.
        if kind != MessageKind.TEXT or preview:
            self.fields["text"] = forms.CharField(required=False, widget=self.fields["text"].widget)
        self.questions = SurveyQuestionFormSet(self.data if self.is_bound and "q-TOTAL_FORMS" in self.data else None,
                                               # Bound, a row the same as its initial would count as empty.
                                               prefix="q", initial=None if self.is_bound else questions_initial)
        if "job_assignees" in self.fields:
            # Read when the boxes are drawn or a job is checked, not for every other post (an API send, say).
            self.fields["job_assignees"].choices = lambda: [(phone, f"{m['name']} {phone}".strip())
                                                            for phone, m in self.members.items()]
            self.fields["job_assignees"].widget.member_groups = SimpleLazyObject(lambda: {
                phone: " ".join(str(pk) for pk in sorted(m["groups"])) for phone, m in self.members.items()})

    @cached_property
    def members(self) -> dict:
        """The members a job can be assigned to: those of every sendable group (compose.js shows those of the
        chosen groups), one query."""
        members = {}
        for group_id, phone, name in GroupMember.objects.filter(
                group__in=self.member_groups(), state=GroupMember.State.ADDED).values_list(
                "group_id", "mobile_number", "name").order_by("mobile_number"):
            entry = members.setdefault(phone, {"name": name, "groups": set()})
            entry["groups"].add(group_id)
        return members

    def member_groups(self):
        return self.fields["groups"].queryset

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
        kind = self.fixed_kind or data.get("kind") or MessageKind.TEXT
        data["kind"] = kind
        if kind == MessageKind.TEXT:
            if not self.preview and "text" not in self.errors and not data.get("text"):
                self.add_error("text", "Write the message text.")
        else:
            self._clean_card(kind, data)
        return data

    def posted_at(self, data):
        """When the post goes out (for "due in hours"): now, the chosen time, or a recurrence's first fire."""
        now = timezone.now()
        if data.get("when") == self.ONCE and data.get("send_at"):
            return data["send_at"]
        if data.get("when") == self.RECURRING and data.get("rule"):
            return next_fire(data["rule"], now) or now
        return now

    def _with_due(self, card: dict, data, what: str, *, hours: str, at: str, default: int) -> dict:
        """`card` with its window in hours from posting (`hours`; `default` without a due date) and, when one
        was chosen, the due date itself (`at`)."""
        due = self._due_hours(data, what)
        card[hours] = due.get("hours", default)
        if due:
            card[at] = due["at"]
        return card

    def _due_hours(self, data, what: str) -> dict:
        due = data.get("due_at")
        if due is None:
            return {}
        posted = self.posted_at(data)
        if due <= timezone.now():
            self.add_error("due_at", f"The {what} is in the past; choose a later one.")
        elif due <= posted:
            self.add_error("due_at", f"The {what} is before the post goes out "
                                     f"({timezone.localtime(posted):%Y-%m-%d %H:%M}); choose a later one.")
        elif due > timezone.now() + MAX_AHEAD:
            self.add_error("due_at", f"The {what} is more than two years ahead; choose an earlier date.")
        else:
            return {"hours": cards.hours_until(due, posted), "at": due.astimezone(UTC).isoformat()}
        return {}

    def _require(self, data, name: str, message: str) -> str:
        value = (data.get(name) or "").strip()
        if not value and name not in self.errors:
            self.add_error(name, message)
        return value

    def _clean_card(self, kind: str, data) -> None:
        """Build `data["card"]` (messaging.cards) and `data["upload"]`, or add the errors of the kind's fields."""
        card: dict = {}
        if kind == MessageKind.ANNOUNCEMENT:
            card = {"title": (data.get("ann_title") or "").strip(),
                    "message": self._require(data, "ann_message", "Write the announcement message.")}
        elif kind == MessageKind.POLL:
            card = self._with_due({"question": self._require(data, "poll_question", "Write the poll question."),
                                   "choices": self._poll_choices(data.get("poll_choices"))},
                                  data, "closing time", hours="expiry_hours", at="expires_at", default=720)
        elif kind == MessageKind.SURVEY:
            card = self._with_due({"title": self._require(data, "survey_title", "Write the survey title."),
                                   "questions": self._survey_questions(),
                                   "anonymous": bool(data.get("survey_anonymous")),
                                   "multiple_responses": bool(data.get("survey_multiple"))},
                                  data, "due date", hours="due_hours", at="due_at", default=24)
        elif kind == MessageKind.JOB:
            card = self._with_due({"title": self._require(data, "job_title", "Write the job title."),
                                   "assignees": self._assignees(data)},
                                  data, "due date", hours="due_hours", at="due_at", default=24)
        elif kind == MessageKind.LETS_MEET:
            card = self._meeting(data)
        else:
            card = {"caption": (data.get("caption") or "").strip()}
        self._clean_file(kind, data, card)
        data["card"] = card

    def _poll_choices(self, raw) -> list[str]:
        choices = _lines(raw)
        seen = set()
        for choice in choices:
            if choice.casefold() in seen:
                self.add_error("poll_choices", f"“{choice}” is there twice: give each choice once.")
                return choices
            seen.add(choice.casefold())
        if len(choices) < cards.MIN_CHOICES:
            self.add_error("poll_choices", f"A poll needs at least {cards.MIN_CHOICES} choices (one a line); it has "
                                           f"{len(choices)}.")
        elif len(choices) > cards.MAX_CHOICES:
            self.add_error("poll_choices", f"A poll has at most {cards.MAX_CHOICES} choices; it has {len(choices)}.")
        elif any(len(c) > 200 for c in choices):
            self.add_error("poll_choices", "A choice has at most 200 characters.")
        return choices

    def _survey_questions(self) -> list[dict]:
        if not self.questions.is_bound or not self.questions.is_valid():
            if self.questions.is_bound and self.questions.non_form_errors():
                self.add_error(None, "The survey questions: " + " ".join(self.questions.non_form_errors()))
            elif self.questions.is_bound:
                self.add_error(None, "Check the survey questions (marked below).")
            else:
                self.add_error(None, "Add at least one question to the survey.")
            return []
        questions = []
        for number, question in enumerate(self.questions.cleaned_data, start=1):
            title = (question.get("title") or "").strip()
            options = _lines(question.get("options"))
            if not title and not options:
                continue  # an empty row: ignored
            if not title:
                self.add_error(None, f"Question {number} has options but no question: write it.")
                continue
            entry = {"title": title, "type": question["type"], "required": bool(question.get("required"))}
            if question["type"] in cards.CHOICE_TYPES:
                if len(options) < 2:
                    self.add_error(None, f"Question {number} (“{title}”) is a choice question: give it at least two "
                                         "options, one a line.")
                elif len({o.casefold() for o in options}) != len(options):
                    self.add_error(None, f"Question {number} (“{title}”) has an option twice.")
                entry["options"] = options
            questions.append(entry)
        if not questions and not self.errors.get("__all__"):
            self.add_error(None, "Add at least one question to the survey.")
        return questions

    def _assignees(self, data) -> list[str]:
        assignees = list(dict.fromkeys(data.get("job_assignees") or []))
        if not assignees:
            self.add_error("job_assignees", "Assign the job to at least one member of the group.")
            return []
        for group in data.get("groups") or []:
            outsiders = [p for p in assignees if group.pk not in self.members.get(p, {}).get("groups", ())]
            if outsiders:
                self.add_error("job_assignees", f"{', '.join(outsiders[:5])} "
                                                f"{'is' if len(outsiders) == 1 else 'are'} not a member of "
                                                f"“{group.name}”: a job goes to the group's members.")
                break
        return assignees

    def _meeting(self, data) -> dict:
        card = {"title": self._require(data, "meet_title", "Write the meeting title."),
                "duration_minutes": data.get("meet_duration") or 30, "place": (data.get("meet_place") or "").strip(),
                "latitude": data.get("meet_latitude"), "longitude": data.get("meet_longitude"),
                "agenda": (data.get("meet_agenda") or "").strip()}
        if (card["latitude"] is None) != (card["longitude"] is None):
            self.add_error("meet_latitude", "Give both the latitude and the longitude, or neither.")
        start = data.get("meet_start")
        if start is None:
            if "meet_start" not in self.errors:
                self.add_error("meet_start", "Choose when the meeting starts.")
        elif start <= timezone.now():
            self.add_error("meet_start", "The meeting start is in the past; choose a later time.")
        elif start > timezone.now() + MAX_AHEAD:
            self.add_error("meet_start", "The meeting start is more than two years ahead; choose an earlier date.")
        else:
            card["starting_time"] = start.astimezone(UTC).isoformat()
        return card

    def _clean_file(self, kind: str, data, card: dict) -> None:
        uploaded = data.get("media_file")
        data["upload"] = None
        file_kind = "image" if kind == MessageKind.ANNOUNCEMENT else kind
        if file_kind not in EXTENSIONS:
            return
        if uploaded is None and self.current_media is not None:
            if kind in cards.MEDIA_KINDS:  # the file it has stays
                media = self.current_media
                card["file"] = {"name": media.name, "size": media.size, "content_type": media.content_type}
            return
        if uploaded is None:
            if kind != MessageKind.ANNOUNCEMENT and not self.preview and "media_file" not in self.errors:
                self.add_error("media_file", f"Choose the {kind} file to post.")
            return
        name = uploaded.name or "file"
        max_bytes = settings.MEDIA_MAX_BYTES
        # Larger than allowed: refused without reading it.
        content = uploaded.read() if uploaded.size <= max_bytes else b""
        try:
            checked = check_upload(kind=file_kind, name=name, data=content, max_bytes=max_bytes, size=uploaded.size)
        except ValidationError as exc:
            self.add_error("media_file", exc)
            return
        data["upload"] = Upload(name=name, data=content, content_type=checked.content_type)
        if kind in cards.MEDIA_KINDS:
            card["file"] = {"name": name, "size": checked.size, "content_type": checked.content_type}

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


def _when(value: str | None):
    return datetime.fromisoformat(value) if value else None


def card_initial(kind: str, card: dict, text: str = "") -> tuple[dict, list[dict]]:
    """The compose form's initial values of a post's kind from its card (what `_clean_card` built from them),
    and its survey questions' rows: an edit starts from what was composed."""
    if kind == MessageKind.TEXT:
        return {"text": text}, []
    if kind == MessageKind.ANNOUNCEMENT:
        return {"ann_title": card.get("title", ""), "ann_message": card.get("message", "")}, []
    if kind == MessageKind.POLL:
        return {"poll_question": card.get("question", ""), "poll_choices": "\n".join(card.get("choices", [])),
                "due_at": _when(card.get("expires_at"))}, []
    if kind == MessageKind.SURVEY:
        questions = [{"title": q.get("title", ""), "type": q.get("type"), "options": "\n".join(q.get("options", [])),
                      "required": q.get("required", False)} for q in card.get("questions", [])]
        return {"survey_title": card.get("title", ""), "survey_anonymous": card.get("anonymous", False),
                "survey_multiple": card.get("multiple_responses", False),
                "due_at": _when(card.get("due_at"))}, questions
    if kind == MessageKind.JOB:
        return {"job_title": card.get("title", ""), "job_assignees": card.get("assignees", []),
                "due_at": _when(card.get("due_at"))}, []
    if kind == MessageKind.LETS_MEET:
        return {"meet_title": card.get("title", ""), "meet_start": _when(card.get("starting_time")),
                "meet_duration": card.get("duration_minutes"), "meet_place": card.get("place", ""),
                "meet_latitude": card.get("latitude"), "meet_longitude": card.get("longitude"),
                "meet_agenda": card.get("agenda", "")}, []
    return {"caption": card.get("caption", "")}, []


def _edit_kwargs(post, data) -> dict:
    """The compose form's arguments for editing `post` (a message or a schedule): its kind and file stay,
    the form starts from its card."""
    initial, questions = card_initial(post.kind, post.card, post.text)
    return {"fixed_kind": post.kind, "current_media": post.media, "questions_initial": questions or None,
            "data": data, "files": None, "initial": initial}


class ScheduleEditForm(ComposeForm):
    """A recurring schedule's content, groups, audience, time, days and end: the compose form, always
    recurring, its kind kept."""

    when = forms.CharField(widget=forms.HiddenInput, required=False, initial=ComposeForm.RECURRING)

    def __init__(self, data=None, files=None, *, schedule: Schedule, **kwargs):
        edit = _edit_kwargs(schedule, data)
        edit["initial"].update({
            "groups": list(schedule.groups.all()), "frequency": schedule.frequency,
            "weekdays": schedule.weekdays, "day_of_month": schedule.day_of_month, "local_time": schedule.local_time,
            "start_date": schedule.start_date, "end_date": schedule.end_date,
            "to_all_subscribers": schedule.to_all_subscribers, "subscribers": "\n".join(schedule.subscribers),
        })
        super().__init__(**{**edit, "files": files}, time_zone=schedule.time_zone, **kwargs)

    def clean_when(self):
        return self.RECURRING


class EditMessageForm(ComposeForm):
    """A scheduled message's content and time: the compose form's rules for its kind; its group, kind and
    audience stay."""

    KEPT = ("groups", "when", "kind", "frequency", "weekdays", "day_of_month", "local_time", "start_date", "end_date",
            "to_all_subscribers", "subscribers")

    def __init__(self, data=None, files=None, *, message, **kwargs):
        self.message = message
        edit = _edit_kwargs(message, data)
        edit["initial"]["send_at"] = message.due_at
        super().__init__(**{**edit, "files": files}, **kwargs)
        for name in self.KEPT:
            del self.fields[name]
        self.fields["send_at"].required = True
        self.fields["send_at"].label = "Send at"

    def member_groups(self):
        return Group.objects.filter(pk=self.message.group_id)

    def clean(self):
        message = self.message
        self.cleaned_data.update(groups=[message.group], when=self.ONCE, subscribers=tuple(message.subscribers),
                                 to_all_subscribers=message.to_all_subscribers)
        return super().clean()


class HeldFilterForm(forms.Form):
    """Which held messages to cancel: those of one deactivated connector, or (none chosen) all."""

    connector = forms.ModelChoiceField(queryset=Connector.objects.filter(is_active=False), required=False)
