"""What a file must be to be posted: an extension Kaizala takes for its kind (§11 list), a size within
MEDIA_MAX_BYTES, and content that is what the extension says (its first bytes, "magic numbers").

Pure functions over bytes: the form calls `check_upload` before anything is saved, so a refused file leaves
nothing behind.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

# Kind → extensions Kaizala accepts (§11.1 table) and the MIME type each is uploaded with (a wrong part type
# is a 415 at Kaizala).
EXTENSIONS = {
    "image": {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"},
    "audio": {".mp3": "audio/mpeg", ".wav": "audio/wav"},
    "document": {
        ".doc": "application/msword",
        ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".xls": "application/vnd.ms-excel",
        ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".ppt": "application/vnd.ms-powerpoint",
        ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ".pdf": "application/pdf",
    },
    "video": {".mp4": "video/mp4", ".3gpp": "video/3gpp", ".3gp": "video/3gpp"},
}
# The Action type a media kind posts as (§11.2).
ACTION_TYPES = {"image": "Image", "audio": "Audio", "document": "Document", "video": "Video"}
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the legacy Office container (.doc .xls .ppt)
# The folder an Office Open XML package keeps its part in (.docx word/, .xlsx xl/, .pptx ppt/).
_OOXML_FOLDER = {".docx": "word/", ".xlsx": "xl/", ".pptx": "ppt/"}


@dataclass(frozen=True)
class CheckedFile:
    name: str
    extension: str
    content_type: str
    size: int


def _extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def _mp3(head: bytes) -> bool:
    # An ID3 tag, or straight into an MPEG audio frame (11 sync bits set).
    return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _ftyp(head: bytes) -> bytes | None:
    """The major brand of an ISO media file (MP4, 3GPP), or None when it is not one."""
    return head[8:12] if len(head) >= 12 and head[4:8] == b"ftyp" else None


def content_matches(extension: str, data: bytes) -> bool:
    """Whether the bytes are the kind of file the extension names."""
    head = data[:64]
    if extension in (".jpg", ".jpeg"):
        return head.startswith(b"\xff\xd8\xff")
    if extension == ".png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if extension == ".mp3":
        return _mp3(head)
    if extension == ".wav":
        return head[:4] == b"RIFF" and head[8:12] == b"WAVE"
    if extension == ".pdf":
        return head.startswith(b"%PDF-")
    if extension in (".doc", ".xls", ".ppt"):
        return head.startswith(_OLE2)
    if extension in _OOXML_FOLDER:
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except (zipfile.BadZipFile, ValueError):
            return False
        return any(name.startswith(_OOXML_FOLDER[extension]) for name in names)
    if extension == ".mp4":
        brand = _ftyp(head)
        return brand is not None and not brand.startswith(b"3g")
    if extension in (".3gp", ".3gpp"):
        brand = _ftyp(head)
        return brand is not None and brand.startswith(b"3g")
    return False


def check_upload(*, kind: str, name: str, data: bytes, max_bytes: int, size: int | None = None) -> CheckedFile:
    """The file's facts, or a ValidationError saying what is wrong with it (in the person's words). `size`: the
    upload's size when its bytes were not read (too large to read)."""
    size = len(data) if size is None else size
    allowed = EXTENSIONS[kind]
    extension = _extension(name)
    listed = " ".join(sorted(allowed))
    if extension not in allowed:
        shown = f"a {extension} file" if extension else "a file without an extension"
        raise ValidationError(f"Kaizala does not take {shown} as {'an' if kind[0] in 'aeiou' else 'a'} {kind}: "
                              f"choose a {listed} file.")
    if not size:
        raise ValidationError("The file is empty.")
    if size > max_bytes:
        raise ValidationError(f"The file is {filesizeformat(size)}; at most {filesizeformat(max_bytes)} can be "
                              "posted.")
    if not content_matches(extension, data):
        raise ValidationError(f"The content of the file is not {extension} (it is named {extension} but holds "
                              "something else): choose the right file.")
    return CheckedFile(name=name, extension=extension, content_type=allowed[extension], size=size)
