"""Bidirectional controls cannot disguise a name, invisible text is empty, and outside text is isolated on
the pages (kaizala_console/text.py). More refused inputs are rows of tests/security/bad_input.py."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.roles import Role
from audit.actor import SYSTEM
from connectors.models import Connector
from groups import services as group_services
from groups.models import Group, GroupMember
from kaizala_console.text import clean_name, has_visible_text
from tests.fixtures.console import create_kaizala_group
from tests.form_token import form_token
from tests.security.world import make_world

pytestmark = pytest.mark.django_db
RLO = "\u202e"
DISGUISED = f"invoice{RLO}gnp.exe"  # shows as "invoiceexe.png"


@pytest.mark.parametrize(("typed", "stored"), [
    (DISGUISED, "invoicegnp.exe"),
    ("\u2066a\u2069 \u200eb\u200f \u061cc\u202a\u202b\u202c\u202d", "a b c"),
    ("नमस्ते\u200d", "नमस्ते\u200d"),  # joiners stay: scripts and emoji need them
    ("👩\u200d👩\u200d👧", "👩\u200d👩\u200d👧"),
])
def test_names_lose_their_bidi_controls_only(typed, stored):
    assert clean_name(typed) == stored


@pytest.mark.parametrize(("text", "visible"), [
    ("\u200b\u2060\ufeff", False), (f"{RLO}\u2066\u200f", False), (" \n\t\u3000", False), ("\u3164\u2800", False),
    ("\u0301\ufe0f", False), ("a", True), ("🎉", True), ("مرحبا", True), ("\u200bx", True),
])
def test_only_visible_characters_make_a_text_non_empty(text, visible):
    assert has_visible_text(text) is visible


def test_a_group_name_typed_with_an_override_is_stored_without_it(client_for, phone_user,
                                                                  django_capture_on_commit_callbacks):
    client = client_for(Role.OPERATOR)
    data = {"phone_user": phone_user.pk, "name": DISGUISED, "welcome_message": "Hi", "group_type": "Group",
            "members": ""} | form_token(client, reverse("groups:create"))
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("groups:create"), data).status_code == 302
    assert Group.objects.get().name == "invoicegnp.exe"


def test_a_connector_name_typed_with_an_override_is_stored_without_it(client_for):
    client = client_for(Role.ADMIN)
    response = client.post(reverse("connectors:create"), {
        "name": f"Acme{RLO}", "description": "", "application_id": "app-1", "application_secret": "secret-value-1",
        "auth_base_url": "http://127.0.0.1:8700"})
    assert response.status_code == 302
    assert Connector.objects.get().name == "Acme"


def test_member_names_from_a_csv_lose_their_overrides(client_for, group):
    client = client_for(Role.OPERATOR)
    csv = f"mobile,name\n+919876500011,{DISGUISED}\n".encode()
    url = reverse("groups:members_add", args=[group.pk])
    response = client.post(url, {"members-members_csv": SimpleUploadedFile("m.csv", csv, content_type="text/csv"),
                                  **form_token(client, reverse("groups:detail", args=[group.pk]))})
    assert response.status_code == 302
    assert GroupMember.objects.get(mobile_number="+919876500011").name == "invoicegnp.exe"


def test_a_group_name_from_kaizala_loses_its_override(phone_user, django_capture_on_commit_callbacks):
    create_kaizala_group(phone_user, DISGUISED)
    with django_capture_on_commit_callbacks(execute=True):
        group_services.groups_sync_request(actor=SYSTEM, phone_user=phone_user)
    assert Group.objects.get().name == "invoicegnp.exe"


# Elements that hold their text apart: outside text shown in them cannot reorder the page around it. What
# is left of a tag once they are gone (an input's value, say) is not inline text either.
_ISOLATED = re.compile(r"<(bdi|td|title|option|textarea)\b[^>]*>.*?</\1>|<(\w+)\b[^>]*\bdir=\"auto\"[^>]*>.*?</\2>",
                       re.S)
_TAG = re.compile(r"<[^>]*>")


def test_outside_text_is_isolated_on_every_page_that_shows_it(client_for):
    # Rows from before names were cleaned, or texts that keep their controls: the pages must contain them.
    world = make_world(group_name=f"Old{RLO}name", connector_name=f"Old{RLO}connector",
                       message_text=f"Text{RLO}reversed", member_name=f"Member{RLO}")
    Group.objects.create(phone_user=world["phone_user"], kaizala_id="g@sub", name=f"Sub{RLO}group",
                         parent=world["group"], state=Group.State.ACTIVE)
    client = client_for(Role.ADMIN)
    pages = [
        reverse("dashboard"), reverse("groups:list"), reverse("groups:detail", args=[world["group"].pk]),
        reverse("messaging:list"), reverse("messaging:detail", args=[world["message"].pk]),
        reverse("messaging:edit", args=[world["message"].pk]),
        reverse("messaging:schedules"), reverse("messaging:schedule", args=[world["schedule"].pk]),
        reverse("connectors:list"), reverse("connectors:detail", args=[world["connector"].pk]),
        reverse("connectors:edit", args=[world["connector"].pk]),
        reverse("connectors:phone_users"), reverse("connectors:phone_user", args=[world["phone_user"].pk]),
        reverse("groups:subgroup_create", args=[world["group"].pk]),
    ]
    shown = 0
    for url in pages:
        page = client.get(url).content.decode()
        shown += page.count(RLO)
        outside = _TAG.sub("", _ISOLATED.sub("", page))
        assert RLO not in outside, f"{url}: {outside[max(0, outside.index(RLO) - 120):outside.index(RLO) + 40]!r}"
    assert shown >= len(pages)  # the scan found the text it looks for on the pages
