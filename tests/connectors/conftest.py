import pytest

from connectors import services
from connectors.models import Connector, PhoneUser


@pytest.fixture
def connector(sandbox, db):
    """A console connector registered from a fresh sandbox connector with every permission."""
    created = sandbox.create_connector(name="Test connector")
    return Connector.objects.create(
        name="Test connector", application_id=created["applicationId"],
        application_secret=created["applicationSecret"], auth_base_url=sandbox.base_url,
    )


@pytest.fixture
def onboard(sandbox, django_capture_on_commit_callbacks):
    """Run the whole PIN login eagerly (tasks inline) and return the active phone user."""

    def run(connector, mobile="+919812345678") -> PhoneUser:
        with django_capture_on_commit_callbacks(execute=True):
            phone_user = services.phone_user_start_onboarding(connector=connector, mobile_number=mobile)
        with django_capture_on_commit_callbacks(execute=True):
            services.phone_user_submit_pin(phone_user=phone_user, pin=sandbox.latest_pin(mobile))
        phone_user.refresh_from_db()
        return phone_user

    return run
