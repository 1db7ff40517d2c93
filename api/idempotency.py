"""`Idempotency-Key` on API POSTs: the same key and body get the first answer, and nothing is made again.

The key is claimed by inserting its row in the same transaction as the create (as submit_once does for
forms): of two requests with one key, however close, only one can commit; the other's insert waits for
it, finds the key taken (INSERT … ON CONFLICT DO NOTHING inserts nothing) and reads the stored answer. A
refused create rolls its claim back, so the client can correct the request and send it again with the
same key.
"""

import hashlib
import json

from django.db import connection, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from api.errors import Conflict
from api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY = 255


def _request_hash(request) -> str:
    body = json.dumps(request.data, sort_keys=True, cls=JSONEncoder)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _claim(api_key_id: int, key: str, digest: str) -> int | None:
    """Insert the key's row; its id, or None when the key is taken (by a committed request: a concurrent
    one is waited for). One statement, so no savepoint is needed to survive the conflict."""
    created_at = IdempotencyRecord._meta.get_field("created_at").get_db_prep_save(timezone.now(), connection)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO api_idempotencyrecord (api_key_id, \"key\", request_hash, created_at) "
                       "VALUES (%s, %s, %s, %s) ON CONFLICT (api_key_id, \"key\") DO NOTHING RETURNING id",
                       [api_key_id, key, digest, created_at])
        row = cursor.fetchone()
    return row[0] if row else None


def once(request, create) -> Response:
    """Run `create` (a service call returning a Response) once per Idempotency-Key of this API key."""
    key = request.headers.get(HEADER)
    if key is None:
        return create()
    if not key or len(key) > MAX_KEY:
        raise ValidationError({HEADER: [f"An {HEADER} is 1 to {MAX_KEY} characters."]})
    digest = _request_hash(request)
    with transaction.atomic():
        claim = _claim(request.auth.pk, key, digest)
        if claim is None:
            first = IdempotencyRecord.objects.get(api_key=request.auth, key=key)
            if first.request_hash != digest:
                raise Conflict(f"This {HEADER} was used with another request; use a new key for it.")
            return Response(first.response_body, status=first.status_code, headers={"Idempotent-Replayed": "true"})
        response = create()
        IdempotencyRecord.objects.filter(pk=claim).update(status_code=response.status_code,
                                                          response_body=response.data)
    return response
