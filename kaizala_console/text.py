"""Text that people type or Kaizala sends, made safe to show: names hold no bidirectional controls, and
"empty" means "nothing visible".

A right-to-left override (U+202E) in a name reorders what the admin sees (`invoice‮gnp.exe` reads as
`invoiceexe.png`), so names lose every bidi control. Message texts keep theirs (a right-to-left writer may
need a mark), and pages isolate outside text with `<bdi>` so it cannot reorder the page around it.
Joiners (U+200C, U+200D) stay everywhere: Indic scripts and emoji sequences need them.
"""

import unicodedata

from django import forms
from django.core.exceptions import ValidationError

# The embeddings and overrides (U+202A–U+202E), the isolates (U+2066–U+2069), and the marks (LRM, RLM, ALM).
BIDI_CONTROLS = dict.fromkeys(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C]
)
# Categories that draw nothing by themselves: format controls, control characters, separators, and
# combining marks with no letter to sit on.
_UNSEEN_CATEGORIES = {"Cf", "Cc", "Zs", "Zl", "Zp", "Mn", "Me"}
# Letters and symbols that are blank by design (Hangul fillers, the braille blank), a known way to
# make a name or message that looks empty.
_BLANK_CHARACTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}


def strip_bidi_controls(text: str) -> str:
    return text.translate(BIDI_CONTROLS)


def clean_name(text: str) -> str:
    """A name as stored and shown: no bidi controls, no surrounding spaces."""
    return strip_bidi_controls(text).strip()


def has_visible_text(text: str) -> bool:
    """Whether `text` shows anything: one character that is neither blank nor invisible."""
    return any(
        not ch.isspace() and unicodedata.category(ch) not in _UNSEEN_CATEGORIES and ch not in _BLANK_CHARACTERS
        for ch in text
    )


def validate_visible(value: str) -> None:
    """For a text that is required: one made only of invisible characters is refused as empty."""
    if value and not has_visible_text(value):
        raise ValidationError("This text has no visible characters; type something that can be read.",
                              code="invisible")


class NameField(forms.CharField):
    """A name a person types (a group, a connector): bidi controls removed, and only visible text counts."""

    def to_python(self, value):
        return clean_name(super().to_python(value))

    default_validators = [validate_visible]
