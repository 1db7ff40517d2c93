"""The preferences' time-zone list: canonical zones only (tzdata's zone1970.tab), searched by the browser
through a datalist; a name that is not a zone is refused with a sentence and nothing is saved."""

import pytest
from django.urls import reverse

from accounts.models import Profile
from accounts.roles import Role
from accounts.timezones import time_zone_choices

pytestmark = pytest.mark.django_db


def test_only_canonical_zones_are_offered():
    names = [name for name, _ in time_zone_choices()]
    assert {"UTC", "Asia/Kolkata", "America/New_York", "Europe/London"} <= set(names)
    # Links and legacy zones are not: each is another name of a canonical one.
    assert not {"Asia/Calcutta", "US/Eastern", "EST5EDT", "GB", "Etc/GMT+5", "Europe/Belfast"} & set(names)
    assert len(names) < 350


def test_the_page_offers_them_as_a_searchable_list_and_saves_one(client_for):
    client = client_for(Role.VIEWER)
    page = client.get(reverse("preferences")).content.decode()
    assert 'list="time-zones"' in page and '<option value="Asia/Kolkata">Asia/Kolkata</option>' in page
    assert '<option value="America/New_York">America/New York</option>' in page
    assert "Asia/Calcutta" not in page
    response = client.post(reverse("preferences"), {"time_zone": "America/New York"})  # as the label reads
    assert response.status_code == 302
    assert Profile.objects.get().time_zone == "America/New_York"


@pytest.mark.parametrize("typed", ["Asia/Calcutta", "Mars/Olympus", "../../etc/passwd", "x" * 65])
def test_a_zone_not_in_the_list_is_refused(client_for, typed):
    client = client_for(Role.VIEWER)
    response = client.post(reverse("preferences"), {"time_zone": typed})
    assert response.status_code == 200
    assert "is not a time zone in the list" in response.content.decode() or "at most 64" in response.content.decode()
    assert not Profile.objects.exclude(time_zone="").exists()


def test_a_zone_saved_before_stays_allowed_until_changed(client_for, django_user_model):
    client = client_for(Role.VIEWER)
    Profile.objects.update_or_create(user=django_user_model.objects.get(), defaults={"time_zone": "Asia/Calcutta"})
    assert client.post(reverse("preferences"), {"time_zone": "Asia/Calcutta"}).status_code == 302
