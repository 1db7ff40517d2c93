from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.models import PhoneUser
from tests.connectors.conftest import connector  # noqa: F401  (the sandbox connector fixture)

MOBILE = "+919812345678"


@pytest.fixture
def make_phone_user(sandbox, connector):  # noqa: F811
    """An ACTIVE phone user holding a token of `kind`, issued by the sandbox as its portal would and
    exchanged for an access token over raw HTTP: no task runs, so it suits eager and real-worker tests."""

    def make(kind: str = "user", mobile: str = MOBILE, group_id: str = "") -> PhoneUser:
        issued = sandbox.issue_token(applicationId=connector.application_id, kind=kind, mobileNumber=mobile,
                                     **({"groupId": group_id} if group_id else {}))
        reply = sandbox.http.get(f"{sandbox.base_url}/v1/accessToken", timeout=10, headers={
            "applicationId": connector.application_id, "applicationSecret": connector.application_secret,
            "refreshToken": issued["refreshToken"],
        })
        assert reply.status_code == 200, reply.text
        token = reply.json()
        return PhoneUser.objects.create(
            connector=connector, mobile_number=mobile, token_kind=kind, token_group_id=group_id,
            state=PhoneUser.State.ACTIVE, refresh_token=issued["refreshToken"], access_token=token["accessToken"],
            access_token_expires_at=timezone.now() + timedelta(hours=24), endpoint_url=token["endpointUrl"],
        )

    return make


@pytest.fixture
def phone_user(make_phone_user):
    return make_phone_user()


@pytest.fixture
def tenant_admin(make_phone_user):
    return make_phone_user("tenant", "+919800000001")


def kaizala_group(sandbox, group_id: str) -> dict:
    """The sandbox's own view of a group, with `members` as {mobile: role}."""
    group = next(g for g in sandbox.groups() if g["groupId"] == group_id)
    return {**group, "members": {m["mobileNumber"]: m["role"] for m in group["members"]}}
