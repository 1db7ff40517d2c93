"""A compose writes its file before its transaction commits: one that rolled back leaves a file that no row
names, and the hourly trim deletes it (and only it, and only once it is older than a compose takes)."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction

from audit.actor import SYSTEM
from messaging import services
from messaging.models import MediaFile
from messaging.tasks import trim_media

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


class RolledBack(Exception):
    pass


def stored_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file())


def test_the_file_of_a_rolled_back_compose_is_deleted_and_a_kept_one_is_not(group, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    [kept] = services.message_create(actor=SYSTEM, groups=[group], send_at=None, kind="image", card={"caption": ""},
                                     upload=services.Upload("kept.png", PNG, "image/png"))
    with pytest.raises(RolledBack), transaction.atomic():
        services.message_create(actor=SYSTEM, groups=[group], send_at=None, kind="image", card={"caption": ""},
                                upload=services.Upload("lost.png", PNG, "image/png"))
        raise RolledBack  # e.g. the API's idempotency record could not be written
    assert MediaFile.objects.count() == 1 and stored_files(tmp_path) == ["kept.png", "lost.png"]

    assert trim_media() == 0, "younger than a compose may take: left alone"
    assert services.media_orphans_delete(older_than=timedelta(0)) == 1
    assert stored_files(tmp_path) == ["kept.png"]
    assert Path(kept.media.file.path).read_bytes() == PNG
