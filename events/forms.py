"""Forms of the conversation page: its cursor, and a reply."""

from datetime import datetime

from django import forms
from django.core.validators import RegexValidator

from kaizala_console.text import validate_visible
from messaging.models import MAX_TEXT


class CursorForm(forms.Form):
    """`before`: the cursor of an older page (microseconds since the epoch); a bad one is dropped."""

    before = forms.IntegerField(required=False, min_value=0, max_value=10**17)
    reply_to = forms.CharField(required=False, validators=[RegexValidator(r"^(post|message)-\d{1,18}$")])

    def before_time(self) -> datetime | None:
        from events.selectors import from_micros

        self.is_valid()  # a bad field is dropped; the good ones stay in cleaned_data
        value = self.cleaned_data.get("before")
        return from_micros(value) if value else None

    def reply_target(self) -> str:
        self.is_valid()
        return self.cleaned_data.get("reply_to") or ""


class ReplyForm(forms.Form):
    target = forms.CharField(widget=forms.HiddenInput, validators=[RegexValidator(r"^(post|message)-\d{1,18}$")])
    text = forms.CharField(label="Reply", max_length=MAX_TEXT, validators=[validate_visible],
                           widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}))

    def original(self) -> tuple[str, int]:
        kind, pk = self.cleaned_data["target"].split("-")
        return kind, int(pk)
