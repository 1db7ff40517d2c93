from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import PasswordChangeForm

from accounts.models import Profile
from accounts.timezones import time_zone_choices


class PreferencesForm(forms.ModelForm):
    # A text box with the zones as its datalist: the browser searches them as one types (no script).
    time_zone = forms.CharField(
        label="Time zone", required=False, max_length=64,
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off", "spellcheck": "false"}),
    )

    class Meta:
        model = Profile
        fields = ["time_zone"]

    def __init__(self, *args, default_zone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].help_text = (
            "Times you type and read in the console are in this zone: type part of its name (a city, a region) "
            f"and choose. Empty: the console's default ({default_zone}).")
        self.zones = time_zone_choices()
        # A zone saved before the list was canonical (a link such as Asia/Calcutta) stays allowed until changed.
        self.allowed = {name for name, _ in self.zones} | {self.instance.time_zone}

    def clean_time_zone(self):
        value = self.cleaned_data["time_zone"].strip().replace(" ", "_")
        if value and value not in self.allowed:
            raise forms.ValidationError(f"“{value[:64]}” is not a time zone in the list; type part of a city or "
                                        "region name and choose one of the suggestions.")
        return value


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """The current password is checked through authenticate(), so django-axes counts a wrong one with the
    failed logins of that username and address, and refuses it (the lockout page) once the limit is reached."""

    def __init__(self, user, *args, request, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        checked = authenticate(self.request, username=self.user.get_username(), password=old_password)
        if checked is None or checked.pk != self.user.pk:
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password
