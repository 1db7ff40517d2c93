"""12.16: when the scope Kaizala granted a phone user disagrees with the permissions recorded for its
connector, the phone user's page and the connector's page say so."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from connectors.models import Connector

pytestmark = pytest.mark.django_db


def test_a_granted_scope_wider_than_the_recorded_permissions_is_flagged(client_for, connector, onboard):
    # The sandbox connector holds every permission; the console recorded three.
    Connector.objects.filter(pk=connector.pk).update(permissions=["group_info", "group_members", "text_message"])
    connector.refresh_from_db()
    phone_user = onboard(connector)
    assert len(phone_user.granted_scope.split(",")) > 20
    client = client_for(Role.VIEWER)
    for url in (reverse("connectors:phone_user", args=[phone_user.pk]),
                reverse("connectors:detail", args=[connector.pk])):
        page = client.get(url).content.decode()
        assert "disagrees with the permissions recorded" in page, url
        assert "granted but not recorded: Action &amp; Responses, User Profile, Media" in page, url


def test_recorded_permissions_missing_from_the_scope_are_flagged(client_for, sandbox, onboard, db):
    created = sandbox.create_connector(name="Two", permissions=["Group Information"])
    connector = Connector.objects.create(name="Two", application_id=created["applicationId"],
                                         application_secret=created["applicationSecret"],
                                         auth_base_url=sandbox.base_url, permissions=["group_info", "media"])
    phone_user = onboard(connector)
    page = client_for(Role.VIEWER).get(reverse("connectors:phone_user", args=[phone_user.pk])).content.decode()
    assert "recorded but not granted: Media" in page
    assert "granted but not recorded" not in page


def test_agreeing_scope_and_permissions_say_nothing(client_for, connector, onboard):
    Connector.objects.filter(pk=connector.pk).update(permissions=[
        "group_info", "group_members", "text_message", "actions", "user_profile", "media", "webhooks",
        "tenant_data", "reactions"])
    connector.refresh_from_db()
    phone_user = onboard(connector)
    client = client_for(Role.VIEWER)
    for url in (reverse("connectors:phone_user", args=[phone_user.pk]),
                reverse("connectors:detail", args=[connector.pk])):
        assert "disagrees" not in client.get(url).content.decode()
