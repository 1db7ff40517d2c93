"""Re-encrypt every encrypted column with the first key of FIELD_ENCRYPTION_KEYS.

Rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), restart, run
this command, then drop the old keys.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from kaizala_console.encryption import EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt every secret stored at rest with the first key of FIELD_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        total = 0
        for model in apps.get_models():
            fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            # Loading decrypts with whichever key matches; saving encrypts with the first key.
            with transaction.atomic():
                rows = 0
                for obj in model.objects.only("pk", *fields).iterator(chunk_size=500):
                    obj.save(update_fields=fields)
                    rows += 1
            self.stdout.write(f"{model._meta.label}: {rows} rows re-encrypted ({', '.join(fields)})")
            total += rows
        self.stdout.write(self.style.SUCCESS(f"Done: {total} rows re-encrypted with the first key."))
