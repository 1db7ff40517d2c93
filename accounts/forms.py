from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.validators import UnicodeUsernameValidator

from accounts.models import Profile
from accounts.roles import Role
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


ROLE_CHOICES = [(role.value, role.group_name) for role in reversed(Role)]


class RoleField(forms.TypedChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=ROLE_CHOICES, coerce=lambda v: Role(int(v)), **kwargs)


class InviteForm(forms.Form):
    username = forms.CharField(max_length=150, validators=[UnicodeUsernameValidator()],
                               help_text="Letters, digits and @ . + - _ only; what they log in with.")
    email = forms.EmailField(required=False, help_text="The invitation is mailed here when mail is configured.")
    role = RoleField(initial=Role.VIEWER.value)


class RoleForm(forms.Form):
    role = RoleField()


class CodeForm(forms.Form):
    code = forms.CharField(label="Code", max_length=16, widget=forms.TextInput(attrs={
        "autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
        help_text="The six digits your authenticator app shows now, or one of your recovery codes.")
