from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F

from connectors.models import PhoneUser
from groups import member_input, selectors, services
from groups.models import Group, GroupMember
from kaizala_console.text import NameField, validate_visible

MEMBERS_HELP = (
    "One mobile number a line, with the country code (+91…). Repeated numbers count once; "
    "a bad line is reported by its number and nothing is sent until it is fixed."
)
CSV_HELP = (
    "UTF-8, up to 1 MB and 10,000 rows; its first row names a “mobile” (or “mobile_number”, “phone”) "
    "column and optionally a “name” column."
)


class MembersForm(forms.Form):
    """Numbers typed one a line and/or an uploaded CSV; `cleaned_data["entries"]` is the folded list."""

    members = forms.CharField(
        label="Mobile numbers", required=False, help_text=MEMBERS_HELP,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "+919876543210\n+919812345678"}),
    )
    members_csv = forms.FileField(label="Or a CSV file", required=False, help_text=CSV_HELP,
                                  widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}))
    members_required = True

    def clean(self):
        data = super().clean()
        lists = []
        for field, parse in (("members", member_input.parse_lines), ("members_csv", member_input.parse_csv)):
            if data.get(field):
                try:
                    lists.append(parse(data[field]))
                except ValidationError as exc:
                    self.add_error(field, exc)
        data["entries"] = member_input.merge(*lists)
        if self.members_required and not data["entries"] and not self.errors:
            self.add_error("members", "Enter at least one mobile number, or upload a CSV file.")
        return data


class GroupCreateForm(MembersForm):
    phone_user = forms.ModelChoiceField(
        label="Through phone user", queryset=selectors.active_phone_users(), empty_label=None,
        help_text="The Kaizala identity that creates the group and becomes its admin.",
    )
    name = NameField(max_length=Group._meta.get_field("name").max_length)
    welcome_message = forms.CharField(
        max_length=Group._meta.get_field("welcome_message").max_length,
        widget=forms.Textarea(attrs={"rows": 2}), help_text="Shown to every member who joins.",
        validators=[validate_visible],
    )
    group_type = forms.ChoiceField(
        label="Type", choices=Group.Type.choices, initial=Group.Type.GROUP,
        help_text="A public group (ConnectGroup) needs a tenant-admin token.",
    )
    members_required = False
    field_order = ["phone_user", "name", "welcome_message", "group_type", "members", "members_csv"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].label = "Members"
        self.fields["members"].help_text = (
            f"{MEMBERS_HELP} Optional: without members, the phone user is the only member. Over 100, the "
            "group is created with the first 100 and the rest are added in batches of 100."
        )

    def clean(self):
        data = super().clean()
        phone_user, group_type = data.get("phone_user"), data.get("group_type")
        if phone_user and group_type:
            refusal = services.group_type_refusal(phone_user=phone_user, group_type=group_type)
            if refusal:
                self.add_error("group_type", refusal)
        return data


class SubGroupForm(MembersForm):
    name = NameField(max_length=Group._meta.get_field("name").max_length)
    welcome_message = forms.CharField(
        max_length=Group._meta.get_field("welcome_message").max_length, widget=forms.Textarea(attrs={"rows": 2}),
        validators=[validate_visible],
    )
    members_required = False
    field_order = ["name", "welcome_message", "members", "members_csv"]


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=GroupMember.Role.choices)


class SyncForm(forms.Form):
    phone_user = forms.ModelChoiceField(
        queryset=PhoneUser.objects.only("id", "mobile_number", "state"),
        error_messages={"required": "Choose the phone user whose groups to fetch.",
                        "invalid_choice": "That phone user does not exist; choose one from the list."},
    )


class SenderForm(forms.Form):
    """The phone user a group sends through: one of those that reach it."""

    phone_user = forms.ModelChoiceField(
        queryset=PhoneUser.objects.none(), label="Send through",
        error_messages={"required": "Choose the phone user to send through.",
                        "invalid_choice": "That phone user does not reach this group; choose one from the list."},
    )

    def __init__(self, *args, group: Group, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["phone_user"]
        field.queryset = (PhoneUser.objects.filter(group_accesses__group=group, connector__is_active=True)
                          .annotate(role=F("group_accesses__caller_role")).only("id", "mobile_number")
                          .order_by("mobile_number"))
        field.label_from_instance = lambda p: f"{p.mobile_number} ({p.role or 'role not known yet'})"
