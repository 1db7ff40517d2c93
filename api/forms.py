from django import forms
from django.contrib.auth import get_user_model

from kaizala_console.text import NameField
from messaging.forms import DATETIME_FORMATS, DATETIME_WIDGET


class ApiKeyForm(forms.Form):
    name = NameField(max_length=100, help_text="What uses it, e.g. “HR system”.")
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"), empty_label=None,
        help_text="The key acts with this user's role (a Viewer's key can only read).",
    )
    expires_at = forms.DateTimeField(label="Expires (optional)", required=False, input_formats=DATETIME_FORMATS,
                                     widget=DATETIME_WIDGET)
