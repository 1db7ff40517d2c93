from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from connectors import allowed_urls
from connectors.models import Connector, Permission, PhoneUser
from kaizala_console.phones import normalise_mobile
from kaizala_console.text import NameField


class ConnectorForm(forms.ModelForm):
    """Register or edit a connector. The secret is write-only: never rendered back; empty on edit keeps it."""

    application_secret = forms.CharField(
        label="Application secret",
        required=False,
        strip=True,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    permissions = forms.MultipleChoiceField(
        choices=Permission.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="The permissions this connector was granted in the Kaizala management portal.",
    )

    auth_base_url = forms.URLField(label="Auth base URL", max_length=300, assume_scheme="https")

    class Meta:
        model = Connector
        fields = ["name", "description", "application_id", "application_secret", "permissions", "auth_base_url"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        field_classes = {"name": NameField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = allowed_urls.allowed_auth_urls()
        self.fields["auth_base_url"].help_text = f"Kaizala's fixed auth host: {' or '.join(allowed)}."
        if self.instance.pk:
            self.fields["application_secret"].help_text = (
                "Leave empty to keep the stored secret (type it again when the application id or auth URL changes)."
            )
        else:
            self.fields["application_secret"].required = True
            self.initial.setdefault("auth_base_url", settings.KAIZALA_AUTH_URL)
        self.initial.pop("application_secret", None)

    def clean_application_id(self):
        return self.cleaned_data["application_id"].strip()

    def clean_auth_base_url(self):
        url = self.cleaned_data["auth_base_url"].rstrip("/")
        if not allowed_urls.auth_url_allowed(url):
            raise ValidationError(
                "The console sends the connector's secret to this URL, so it must be one Kaizala uses: "
                f"{', '.join(allowed_urls.allowed_auth_urls())} (the setting KAIZALA_AUTH_URLS)."
            )
        return url

    def clean(self):
        data = super().clean()
        if self.instance.pk and not data.get("application_secret"):
            # The stored secret may only go where it went before, for the application it belongs to.
            moved = {"application_id", "auth_base_url"} & set(self.changed_data)
            if moved:
                self.add_error("application_secret", "Type the secret again: the application id or auth URL changed.")
            else:
                data["application_secret"] = self.instance.application_secret
        return data


class OnboardForm(forms.Form):
    connector = forms.ModelChoiceField(queryset=Connector.objects.filter(is_active=True), empty_label=None)
    mobile_number = forms.CharField(
        max_length=32, help_text="With the country code (+91…); a number without + is read in the default region.",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def clean_mobile_number(self):
        return normalise_mobile(self.cleaned_data["mobile_number"])


class PinForm(forms.Form):
    pin = forms.CharField(
        label="PIN", max_length=12, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )

    def clean_pin(self):
        pin = self.cleaned_data["pin"].replace(" ", "")
        if not pin.isdigit():
            raise ValidationError("The PIN is digits only.")
        if not 4 <= len(pin) <= 8:
            raise ValidationError("The PIN Kaizala sends has 4 to 8 digits.")
        return pin


class PortalTokenForm(forms.Form):
    """A group-level or tenant-admin refresh token issued by the Kaizala management portal."""

    connector = forms.ModelChoiceField(queryset=Connector.objects.filter(is_active=True), empty_label=None)
    token_kind = forms.ChoiceField(
        label="Token kind",
        choices=[(PhoneUser.TokenKind.GROUP, "Group-level token"), (PhoneUser.TokenKind.TENANT, "Tenant-admin token")],
    )
    mobile_number = forms.CharField(max_length=32, help_text="The phone of the admin who generated the token.")
    group_id = forms.CharField(label="Kaizala group id", max_length=200, required=False,
                               help_text="For a group-level token: the group it was issued for.")
    refresh_token = forms.CharField(
        max_length=4000, widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )

    def clean_mobile_number(self):
        return normalise_mobile(self.cleaned_data["mobile_number"])

    def clean(self):
        data = super().clean()
        if data.get("token_kind") == PhoneUser.TokenKind.GROUP and not data.get("group_id", "").strip():
            self.add_error("group_id", "A group-level token belongs to one group: enter its id.")
        return data
