"""The rows a bulk action was asked for: the checkboxes of a list (`ids`, repeated) or the confirmation
page's one hidden field (`ids`, comma-separated). Anything that is not a list of row ids is refused with a
sentence, and nothing is done."""

from django.core.exceptions import ValidationError


def selected_ids(request, *, noun: str, limit: int) -> list[int]:
    values = [part.strip() for value in request.POST.getlist("ids") for part in value.split(",") if part.strip()]
    if not values:
        raise ValidationError(f"Choose at least one {noun} first.")
    if len(values) > limit:
        raise ValidationError(f"Choose at most {limit} {noun}s at a time.")
    if not all(value.isascii() and value.isdigit() and len(value) <= 18 for value in values):
        raise ValidationError(f"The chosen {noun}s were not understood; choose them again.")
    return list(dict.fromkeys(int(value) for value in values))
