"""The group list's filters: one validated layer (kaizala_console.filters.filter_list drops a bad value
with a note)."""

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q

from connectors.models import PhoneUser
from groups.models import Group, GroupAccess
from kaizala_console.filters import SearchFilter


class GroupFilter(django_filters.FilterSet):
    q = SearchFilter(fields=["name"], exact=("kaizala_id",))
    phone_user = django_filters.ModelChoiceFilter(
        label="Phone user", queryset=PhoneUser.objects.only("id", "mobile_number"), method="reached_by")
    type = django_filters.ChoiceFilter(label="Type", choices=Group.Type.choices, field_name="group_type")
    created_by = django_filters.ModelChoiceFilter(label="Created by", queryset=get_user_model().objects.only("id"))

    class Meta:
        model = Group
        fields = []

    def reached_by(self, queryset, name, value):
        """The groups a phone user sends through or reaches."""
        return queryset.filter(Q(phone_user=value) | Exists(GroupAccess.objects.filter(group=OuterRef("pk"),
                                                                                       phone_user=value)))
