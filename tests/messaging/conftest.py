import pytest
import requests

from groups.models import Group
from tests.connectors.conftest import connector, onboard  # noqa: F401  (fixtures used below)


@pytest.fixture
def phone_user(connector, onboard):  # noqa: F811
    return onboard(connector, "+919812340000")


def create_kaizala_group(phone_user, name: str, group_type: str = "Group") -> str:
    """Create the group at the sandbox directly (raw HTTP), as the group pages would through a task."""
    response = requests.post(
        f"{phone_user.endpoint_url.rstrip('/')}/v1/groups", headers={"accessToken": phone_user.access_token},
        json={"name": name, "welcomeMessage": "Welcome", "groupType": group_type}, timeout=5,
    )
    response.raise_for_status()
    return response.json()["groupId"]


@pytest.fixture
def make_group(phone_user):
    def make(name="Field team", phone_user=phone_user, **fields) -> Group:
        kaizala_id = create_kaizala_group(phone_user, name, fields.get("group_type", "Group"))
        return Group.objects.create(phone_user=phone_user, kaizala_id=kaizala_id, name=name,
                                    state=Group.State.ACTIVE, **fields)

    return make


@pytest.fixture
def group(make_group):
    return make_group()
