"""`Idempotency-Key` on API POSTs: the same key and body get the first answer, and nothing is made again.

The key is claimed by inserting its row in the same transaction as the create (as submit_once does for
forms): of two requests with one key, however close, only one can commit; the other's insert waits for
it, fails on the unique constraint and reads the stored answer. A refused create rolls its claim back,
so the client can correct the request and send it again with the same key.
"""

import hashlib
import json

from django.db import IntegrityError, transaction
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


def once(request, create) -> Response:
    """Run `create` (a service call returning a Response) once per Idempotency-Key of this API key."""
    key = request.headers.get(HEADER)
    if key is None:
        return create()
    if not key or len(key) > MAX_KEY:
        raise ValidationError({HEADER: [f"An {HEADER} is 1 to {MAX_KEY} characters."]})
    digest = _request_hash(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                claim = IdempotencyRecord.objects.create(api_key=request.auth, key=key, request_hash=digest)
        except IntegrityError:
            first = IdempotencyRecord.objects.get(api_key=request.auth, key=key)
            if first.request_hash != digest:
                raise Conflict(f"This {HEADER} was used with another request; use a new key for it.") from None
            return Response(first.response_body, status=first.status_code, headers={"Idempotent-Replayed": "true"})
        response = create()
        body = json.loads(json.dumps(response.data, cls=JSONEncoder))
        IdempotencyRecord.objects.filter(pk=claim.pk).update(status_code=response.status_code, response_body=body)
    return response
