"""Mobile numbers: validated and normalised to E.164 with the phonenumbers library."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError

_MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalise_mobile(raw: str, region: str | None = None) -> str:
    """Return `raw` as E.164 (`+919876543210`), or raise ValidationError saying what is wrong.

    A number without `+` is read in DEFAULT_PHONE_REGION.
    """
    text = (raw or "").strip()
    if not text:
        raise ValidationError("Enter a mobile number.")
    if any(c.isalpha() for c in text):
        raise ValidationError(f"“{text}” has letters in it; a mobile number has only digits (and a leading +).")
    try:
        number = phonenumbers.parse(text, region or settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError(f"“{text}” is not a phone number.") from None
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == phonenumbers.ValidationResult.TOO_SHORT:
        raise ValidationError(f"“{text}” is too short for a mobile number of that country.")
    if reason == phonenumbers.ValidationResult.TOO_LONG:
        raise ValidationError(f"“{text}” is too long for a mobile number of that country.")
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(f"“{text}” is not a valid number (check the country code and length).")
    # Kaizala runs on mobile phones: a landline or a service number can never receive its PIN.
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        region = phonenumbers.region_code_for_number(number) or "its country"
        raise ValidationError(f"“{text}” is not a mobile number (it reads as a landline or service number in "
                              f"{region}); check the country code.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
