"""Reading member lists that people type or upload: one number a line, or a CSV with a header row.

Every number is validated and normalised to E.164; a bad line is reported by its line number and the
whole list is refused, so nothing half-right is ever sent. Repeated numbers are folded into one.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from kaizala_console.phones import normalise_mobile
from kaizala_console.text import clean_name

MAX_CSV_BYTES = 1024 * 1024
MAX_ROWS = 10_000
MAX_LISTED_ERRORS = 20
MOBILE_COLUMNS = ("mobile", "mobile_number", "mobilenumber", "mobile_no", "phone", "phone_number", "number")
NAME_COLUMNS = ("name", "member_name", "full_name")


@dataclass(frozen=True)
class Entry:
    mobile_number: str
    name: str = ""


def _refuse(errors: list[str]) -> ValidationError:
    shown = errors[:MAX_LISTED_ERRORS]
    if len(errors) > MAX_LISTED_ERRORS:
        shown.append(f"… and {len(errors) - MAX_LISTED_ERRORS} more bad lines.")
    return ValidationError(shown)


def _add(entries: dict[str, Entry], line: int, raw: str, name: str, errors: list[str], where: str) -> None:
    try:
        number = normalise_mobile(raw)
    except ValidationError as exc:
        errors.append(f"{where} line {line}: {' '.join(exc.messages)}")
        return
    _fold(entries, Entry(number, name))


def _fold(entries: dict[str, Entry], entry: Entry) -> None:
    # A later line may add the name an earlier one lacked; the number stays one member.
    if entry.mobile_number not in entries or (entry.name and not entries[entry.mobile_number].name):
        entries[entry.mobile_number] = entry


def parse_lines(text: str, *, label: str = "Members") -> list[Entry]:
    """One number a line; blank lines are skipped. Every box of numbers (members, subscribers, the chosen
    subscribers of a message) reads through here, so all share the limits."""
    text = text or ""
    if len(text) > MAX_CSV_BYTES:
        raise ValidationError(f"{label}: at most 1 MB of text, please (got {len(text) / 1024:,.0f} KB).")
    lines = text.splitlines()
    if len(lines) > MAX_ROWS:
        raise ValidationError(f"{label}: at most {MAX_ROWS:,} lines, please (got {len(lines):,}).")
    entries: dict[str, Entry] = {}
    errors: list[str] = []
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            _add(entries, number, raw, "", errors, f"{label}:")
    if errors:
        raise _refuse(errors)
    return list(entries.values())


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    keys = [h.strip().lower().replace(" ", "_").replace("-", "_") for h in header]
    for name in names:
        if name in keys:
            return keys.index(name)
    return None


def parse_csv(upload) -> list[Entry]:
    """A CSV file whose first row names a mobile column (`mobile`, `mobile_number`, `phone`…) and
    optionally a `name` column."""
    if upload.size > MAX_CSV_BYTES:
        raise ValidationError(f"The CSV file is {upload.size / 1024:,.0f} KB; at most 1 MB, please.")
    data = upload.read()
    if b"\x00" in data:
        raise ValidationError("The uploaded file is not a CSV text file (it holds binary data).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            "The uploaded file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again."
        ) from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    mobile_at = _column(header or [], MOBILE_COLUMNS)
    if mobile_at is None:
        found = ", ".join(f"“{h.strip()}”" for h in header or [] if h.strip()) or "nothing"
        raise ValidationError(
            f"The CSV's first row must name the columns: a “mobile” (or “mobile_number”, “phone”) column and "
            f"optionally “name”. Found {found}."
        )
    name_at = _column(header, NAME_COLUMNS)
    entries: dict[str, Entry] = {}
    errors: list[str] = []
    rows = 0
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            rows += 1
            if rows > MAX_ROWS:
                raise ValidationError(f"The CSV has more than {MAX_ROWS:,} rows; split it, please.")
            raw = row[mobile_at] if mobile_at < len(row) else ""
            name = clean_name(row[name_at])[:200] if name_at is not None and name_at < len(row) else ""
            _add(entries, reader.line_num, raw, name, errors, "CSV")
    except csv.Error as exc:
        raise ValidationError(f"The CSV cannot be read at line {reader.line_num}: {exc}.") from None
    if errors:
        raise _refuse(errors)
    return list(entries.values())


def merge(*lists: list[Entry]) -> list[Entry]:
    """Entries from several sources, in order, each number once."""
    entries: dict[str, Entry] = {}
    for source in lists:
        for entry in source:
            _fold(entries, entry)
    return list(entries.values())
