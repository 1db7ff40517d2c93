from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import PasswordChangeForm

from accounts.models import Profile
from accounts.timezones import time_zone_choices


class PreferencesForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        label="Time zone", required=False,
        help_text="Times you type and read in the console are in this zone. Empty: the console's default.",
    )

    class Meta:
        model = Profile
        fields = ["time_zone"]

    def __init__(self, *args, default_zone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [("", f"Console default ({default_zone})"), *time_zone_choices()]


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
