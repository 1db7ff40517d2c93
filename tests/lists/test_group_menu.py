"""The group filter menus (message list, Inbox) and the message list's phone-user menu carry only the chosen
row; every option comes from groups:menu (connectors:phone_user_menu) when the menu is first opened (htmx), so a
page does not build and send thousands of options."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from groups.models import Group

pytestmark = pytest.mark.django_db


@pytest.fixture
def groups(group):
    return [group, *(Group.objects.create(phone_user=group.phone_user, kaizala_id=f"g@{i}", name=f"Team <{i}>",
                                          state=Group.State.ACTIVE) for i in range(2, 5))]


@pytest.mark.parametrize("url", ["messaging:list", "events:inbox"])
def test_the_page_names_only_the_chosen_group_and_fetches_the_rest(client_for, groups, url):
    client = client_for(Role.VIEWER)
    page = client.get(reverse(url)).content.decode()
    assert "Team &lt;2&gt;" not in page and f'hx-get="{reverse("groups:menu")}?selected="' in page
    chosen = groups[2]
    page = client.get(reverse(url), {"group": chosen.pk}).content.decode()
    assert f'<option value="{chosen.pk}" selected>Team &lt;3&gt;</option>' in page
    assert "Team &lt;2&gt;" not in page


def test_the_menu_lists_every_group_in_name_order_the_chosen_one_selected(client_for, groups):
    body = client_for(Role.VIEWER).get(reverse("groups:menu"), {"selected": groups[1].pk}).content.decode()
    assert body.startswith('<option value="">Any group</option>')
    assert body.index("Ops") < body.index("Team &lt;2&gt;") < body.index("Team &lt;4&gt;")
    assert f'<option value="{groups[1].pk}" selected>Team &lt;2&gt;</option>' in body
    assert body.count("<option") == 5 and body.count(" selected") == 1


def test_a_bad_choice_selects_nothing(client_for, groups):
    client = client_for(Role.VIEWER)
    assert " selected" not in client.get(reverse("groups:menu"), {"selected": "x<1"}).content.decode()
    page = client.get(reverse("messaging:list"), {"group": "999999"}).content.decode()
    assert "is not valid and was ignored" in page and "<option value=\"999999\"" not in page


def test_the_message_lists_phone_user_menu_is_fetched_too(client_for, group):
    from connectors.models import PhoneUser

    other = PhoneUser.objects.create(connector=group.phone_user.connector, mobile_number="+919800000002")
    client = client_for(Role.VIEWER)
    page = client.get(reverse("messaging:list")).content.decode()
    assert "+919800000002" not in page and f'hx-get="{reverse("connectors:phone_user_menu")}?selected="' in page
    page = client.get(reverse("messaging:list"), {"phone_user": other.pk}).content.decode()
    assert f'<option value="{other.pk}" selected>+919800000002</option>' in page
    body = client.get(reverse("connectors:phone_user_menu"), {"selected": other.pk}).content.decode()
    assert body.startswith('<option value="">Any phone user</option>')
    assert body.index("+919800000002") < body.index("+919812345678")
    assert f'<option value="{other.pk}" selected>+919800000002</option>' in body and body.count(" selected") == 1
