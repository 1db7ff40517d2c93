from django import forms

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
