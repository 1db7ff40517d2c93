import io

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from connectors.models import Connector
from kaizala_console.encryption import _fernet_for

pytestmark = pytest.mark.django_db


def _stored(column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM connectors_connector WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_the_secret_is_encrypted_in_the_database_and_readable_in_python():
    connector = Connector.objects.create(name="c", application_id="app-1", application_secret="s3cr3t-value")
    stored = _stored("application_secret", connector.pk)
    assert "s3cr3t-value" not in stored
    assert stored.startswith("gAAAA")  # a Fernet token
    assert Connector.objects.get(pk=connector.pk).application_secret == "s3cr3t-value"


def test_rotation_re_encrypts_with_the_new_first_key(settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    connector = Connector.objects.create(name="c", application_id="app-2", application_secret="rotate-me")
    before = _stored("application_secret", connector.pk)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_keys", stdout=io.StringIO())
    after = _stored("application_secret", connector.pk)
    assert after != before
    Fernet(new_key.encode()).decrypt(after.encode())  # readable with the new key alone
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert Connector.objects.get(pk=connector.pk).application_secret == "rotate-me"
    _fernet_for.cache_clear()


def test_a_missing_key_is_a_clear_error(settings):
    connector = Connector.objects.create(name="c", application_id="app-3", application_secret="x")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured, match="cannot be decrypted"):
        Connector.objects.get(pk=connector.pk)
