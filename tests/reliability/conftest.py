import pytest
import requests

from audit.actor import SYSTEM
from connectors import services
from connectors.models import Connector, PhoneUser
from groups.models import Group
from tests.reliability.harness import Fleet, PrivateRedis

MOBILES = ["+919811100001", "+919811100002"]
GROUPS_PER_USER = 2


@pytest.fixture
def private_redis():
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def fleet(private_redis, transactional_db, tmp_path):
    """Worker and beat processes on this test's own Redis, with the short recovery timeouts of WORKER_ENV.
    They are started by the test (which may set `fleet.extra_env` first) and all stopped at the end."""
    fleet = Fleet(redis=private_redis, tmp=tmp_path)
    yield fleet
    fleet.stop_all()


@pytest.fixture
def connector(sandbox, transactional_db):
    """A console connector registered from a fresh sandbox connector (self-contained: this suite does not
    depend on the fixtures of other suites)."""
    created = sandbox.create_connector(name="Reliability connector")
    return Connector.objects.create(
        name="Reliability connector", application_id=created["applicationId"],
        application_secret=created["applicationSecret"], auth_base_url=sandbox.base_url)


def onboard(sandbox, connector, mobile: str) -> PhoneUser:
    """The whole PIN login through the services; tasks run inline in this process (eager mode), and
    transactional tests run on_commit callbacks at once."""
    phone_user = services.phone_user_start_onboarding(actor=SYSTEM, connector=connector, mobile_number=mobile)
    services.phone_user_submit_pin(actor=SYSTEM, phone_user=phone_user, pin=sandbox.latest_pin(mobile))
    phone_user.refresh_from_db()
    assert phone_user.state == PhoneUser.State.ACTIVE, phone_user.last_error
    return phone_user


@pytest.fixture
def phone_users(sandbox, connector):
    return [onboard(sandbox, connector, mobile) for mobile in MOBILES]


@pytest.fixture
def groups(phone_users) -> list[Group]:
    """Two groups per phone user, created at the sandbox over raw HTTP and recorded as active."""
    made = []
    for phone_user in phone_users:
        for n in range(GROUPS_PER_USER):
            name = f"Reliability {phone_user.mobile_number[-2:]}-{n}"
            response = requests.post(
                f"{phone_user.endpoint_url.rstrip('/')}/v1/groups", headers={"accessToken": phone_user.access_token},
                json={"name": name, "welcomeMessage": "Welcome", "groupType": "Group"}, timeout=5)
            response.raise_for_status()
            made.append(Group.objects.create(phone_user=phone_user, kaizala_id=response.json()["groupId"], name=name,
                                             state=Group.State.ACTIVE))
    return made
