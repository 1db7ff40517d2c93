"""The card of a message or schedule: the composed content of its kind, stored in `card` (JSON), and the
Kaizala call body made from it.

Shapes (keys are the console's, not Kaizala's; `kaizala.models` turns them into §12.1 bodies):

- text: `{}` (the text is `Message.text`).
- announcement: `{"title": str, "message": str}`; its optional image is `Message.media` (an image), posted
  as `MediaResources`.
- poll: `{"question": str, "choices": [str, ...] (2–10, distinct), "expiry_hours": int,
  "expires_at": ISO UTC | absent}`.
- survey: `{"title": str, "questions": [{"title": str, "type": "SingleOption|MultiOption|Text|Numeric|Date|
  Location|Image", "options": [str, ...] (choice questions only), "required": bool}], "due_hours": int,
  "due_at": ISO | absent, "anonymous": bool, "multiple_responses": bool}`. `required` is the console's:
  §12.1 has no such field, so it is not sent.
- job: `{"title": str, "assignees": [phone, ...], "due_hours": int, "due_at": ISO | absent}`.
- letsmeet: `{"title": str, "starting_time": ISO UTC, "duration_minutes": int, "place": str, "latitude":
  float | None, "longitude": float | None, "agenda": str}`.
- image, document, audio, video: `{"caption": str, "file": {"name": str, "size": int, "content_type": str}}`;
  the bytes are `Message.media`.

`*_hours` are counted from the moment the message is posted (Kaizala takes hours from now); `*_at` is the
time the admin chose, kept to show it.
"""

from __future__ import annotations

from datetime import datetime

import kaizala
from messaging.media import ACTION_TYPES
from messaging.models import MessageKind

Kind = MessageKind
ACTION_KINDS = (Kind.ANNOUNCEMENT, Kind.POLL, Kind.SURVEY, Kind.JOB, Kind.LETS_MEET)
MEDIA_KINDS = (Kind.IMAGE, Kind.DOCUMENT, Kind.AUDIO, Kind.VIDEO)
QUESTION_TYPES = [
    ("SingleOption", "One choice"), ("MultiOption", "Several choices"), ("Text", "Text"), ("Numeric", "Number"),
    ("Date", "Date"), ("Location", "Location"), ("Image", "Photo"),
]
CHOICE_TYPES = ("SingleOption", "MultiOption")
MIN_CHOICES, MAX_CHOICES = 2, 10


def needs_file(kind: str) -> bool:
    return kind in MEDIA_KINDS


def summary(kind: str, card: dict, text: str = "") -> str:
    """One line saying what the message posts: the `text` column of an action (searched and listed)."""
    if kind == Kind.TEXT:
        return text
    label = Kind(kind).label
    if kind == Kind.POLL:
        return f"{label}: {card.get('question', '')}"
    if kind == Kind.ANNOUNCEMENT:
        return f"{label}: {card.get('title') or card.get('message', '')}"
    if kind in MEDIA_KINDS:
        return f"{label}: {card.get('caption') or card.get('file', {}).get('name', '')}"
    return f"{label}: {card.get('title', '')}"


def build_action(kind: str, card: dict, media_resource: str = ""):
    """The kaizala Action to post for a card (media kinds and an announcement's image need the upload's
    `media_resource`)."""
    if kind == Kind.ANNOUNCEMENT:
        return kaizala.Announcement(title=card.get("title", ""), message=card["message"],
                                    media_resources=(media_resource,) if media_resource else ())
    if kind == Kind.POLL:
        return kaizala.Poll(question=card["question"], choices=list(card["choices"]),
                            expiry_in_hours=int(card["expiry_hours"]))
    if kind == Kind.SURVEY:
        return kaizala.Survey(
            title=card["title"], due_in_hours=int(card["due_hours"]), is_anonymous=bool(card.get("anonymous")),
            accept_multiple_responses=bool(card.get("multiple_responses")),
            questions=[kaizala.SurveyQuestion(title=q["title"], type=q["type"],
                                              options=tuple(q.get("options") or ()) if q["type"] in CHOICE_TYPES
                                              else ()) for q in card["questions"]],
        )
    if kind == Kind.JOB:
        return kaizala.Job(title=card["title"], assigned_to=list(card["assignees"]),
                           due_in_hours=int(card["due_hours"]))
    if kind == Kind.LETS_MEET:
        return kaizala.LetsMeet(
            title=card["title"], starting_time=datetime.fromisoformat(card["starting_time"]),
            duration_minutes=int(card.get("duration_minutes") or 30), place=card.get("place", ""),
            latitude=card.get("latitude"), longitude=card.get("longitude"), agenda=card.get("agenda", ""),
        )
    if kind in MEDIA_KINDS:
        return kaizala.MediaPost(action_type=ACTION_TYPES[kind], media_resource=media_resource,
                                 caption=card.get("caption", ""))
    raise ValueError(f"no action for kind {kind!r}")


def hours_until(due: datetime, posted: datetime) -> int:
    """Whole hours from posting to `due`, rounded up (Kaizala counts in hours), at least one."""
    seconds = (due - posted).total_seconds()
    return max(1, int(-(-seconds // 3600)))
