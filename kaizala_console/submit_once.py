"""One create per form: a second submit of the same create form shows the first result and creates nothing.

Every create form carries a hidden one-time token (`{% one_time_token %}`), signed for the person it was
rendered for and valid for `FORM_TOKEN_HOURS`. `submit_once` claims the token by inserting it (a unique
row) in the same transaction as the create, so of two submits of one form, however close together, only
one can commit a create: the other waits on the row, then finds it and is sent to the first result.
A refused create rolls the claim back with it, so the person can correct the form and submit it again.
Claims are trimmed once their tokens have expired (a token older than that is refused anyway).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponseRedirect
from django.utils import timezone

from kaizala_console.models import FormSubmission

FIELD = "form_token"
ALREADY_SUBMITTED = "This form was already submitted; this is what it did. Nothing was created again."
_signer = signing.TimestampSigner(salt="kaizala_console.submit_once")


class FormTokenRefused(ValidationError):
    """The form's token is missing, not issued to this person, or expired: the form is shown again."""


def issue_token(user) -> str:
    """A fresh token for one rendering of a create form."""
    return _signer.sign(f"{user.pk}:{secrets.token_urlsafe(16)}")


def _token(request: HttpRequest) -> str:
    """The one-time part of the submitted token, once its signature, owner and age are checked."""
    try:
        owner, token = _signer.unsign(
            request.POST.get(FIELD, ""), max_age=timedelta(hours=settings.FORM_TOKEN_HOURS)
        ).split(":")
    except signing.SignatureExpired:
        raise FormTokenRefused(
            f"This form was open for more than {settings.FORM_TOKEN_HOURS} hours; nothing was saved. "
            "Check it and submit it again."
        ) from None
    except (signing.BadSignature, ValueError):
        owner, token = "", ""
    if not token or owner != str(request.user.pk):
        raise FormTokenRefused("This form was not sent from its page in the console; nothing was saved. "
                               "Check it and submit it again.")
    return token


def _claim(token: str, user) -> FormSubmission:
    return FormSubmission.objects.create(token=token, user=user)


def submit_once(request: HttpRequest, create: Callable[[], HttpResponseRedirect]) -> HttpResponseRedirect:
    """Run `create` (a service call that returns the redirect to what it made) once per form token.

    A repeated token gets the redirect to the first result, with a note; a missing, foreign or expired
    one raises `FormTokenRefused` (a ValidationError) before anything runs. The transaction opened here
    is the one the service's own `atomic()` nests into, so the claim commits or rolls back with the create.
    """
    token = _token(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                claim = _claim(token, request.user)
        except IntegrityError:
            # The other submit has committed (the insert waited for it): its result is there to show.
            first = FormSubmission.objects.get(token=token)
            messages.info(request, ALREADY_SUBMITTED)
            return HttpResponseRedirect(first.result_url)
        response = create()
        FormSubmission.objects.filter(pk=claim.pk).update(result_url=response["Location"])
    return response


def form_submissions_trim() -> int:
    """Forget claims whose tokens have expired: a replay of such a form is refused by its age."""
    cutoff = timezone.now() - timedelta(hours=settings.FORM_TOKEN_HOURS)
    deleted, _ = FormSubmission.objects.filter(created_at__lt=cutoff).delete()
    return deleted
