"""Typed results and action payloads.

Every result keeps the whole JSON object in `raw` and ignores fields it does not know, so a
server that adds fields never breaks the client. Field lookup is case-insensitive because
the real service (and its documentation) mixed `groupImageUrl`/`groupImageURL`,
`Message`/`message`. A missing *required* field is a `MalformedResponse`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from .errors import MalformedResponse

_MISSING = object()
_DOTNET_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def _get(data: Mapping[str, Any], *names: str, default: Any = None) -> Any:
    """The value of the first of `names` present in `data`, compared case-insensitively."""
    lowered = {k.lower(): v for k, v in data.items() if isinstance(k, str)}
    for name in names:
        value = lowered.get(name.lower(), _MISSING)
        if value is not _MISSING:
            return value
    return default


def _require(data: Mapping[str, Any], *names: str) -> Any:
    value = _get(data, *names)
    if value is None or value == "":
        raise MalformedResponse(f"response lacks {names[0]!r}", body_start=_preview(data))
    return value


def _preview(data: Any) -> str:
    return repr(data)[:200]


def _object(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise MalformedResponse(f"{what}: expected a JSON object", body_start=_preview(data))
    return data


def _list(data: Mapping[str, Any], *names: str) -> list[Any]:
    value = _get(data, *names, default=[])
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedResponse(f"{names[0]!r} is not a list", body_start=_preview(data))
    return value


def _bool(value: Any) -> bool | None:
    # The docs show `"result": "true"` as a string in places.
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return None if value is None else bool(value)


def parse_time(value: Any) -> datetime | None:
    """An aware UTC datetime from the formats Kaizala mixes: epoch ms, epoch s, .NET ticks, ISO-8601."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.lstrip("-").isdigit():
            value = int(stripped)
        else:
            try:
                parsed = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
            except ValueError:
                return None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if not isinstance(value, int | float):
        return None
    if value > 10**16:  # .NET ticks (100 ns since 0001-01-01)
        return _DOTNET_EPOCH + timedelta(microseconds=int(value) // 10)
    if value > 10**11:  # epoch milliseconds (seconds would be past the year 5000)
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    return datetime.fromtimestamp(value, tz=UTC)


def _scopes(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(s).strip() for s in value if str(s).strip())
    return tuple(s.strip() for s in str(value or "").split(",") if s.strip())


# --- auth ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    refresh_token: str
    granted_scope: tuple[str, ...]
    refresh_token_expiry: datetime | None
    endpoint_url: str | None = None  # some deployments returned it here too
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> LoginResult:
        data = _object(data, "login")
        return cls(
            refresh_token=str(_require(data, "refreshToken")),
            granted_scope=_scopes(_get(data, "grantedScope")),
            refresh_token_expiry=parse_time(_get(data, "refreshTokenExpiry")),
            endpoint_url=_get(data, "endpointUrl") or None,
            raw=data,
        )


@dataclass(frozen=True)
class AccessToken:
    access_token: str
    endpoint_url: str
    expires_at: datetime | None
    refresh_token: str | None  # set only when Kaizala rotated it: store it in place of the old one
    scope: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> AccessToken:
        data = _object(data, "accessToken")
        return cls(
            access_token=str(_require(data, "accessToken")),
            endpoint_url=str(_require(data, "endpointUrl")),
            expires_at=parse_time(_get(data, "accessTokenExpiry")),
            refresh_token=_get(data, "refreshToken") or None,
            scope=_get(data, "scope"),
            raw=data,
        )


# --- groups and members -------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    group_id: str
    group_name: str | None
    group_type: str | None = None
    group_image_url: str | None = None
    caller_role: str | None = None
    has_sub_groups: bool | None = None
    has_parent_groups: bool | None = None
    user_count: int | None = None
    current_level_user_count: int | None = None
    is_mapped_to_tenant: bool | None = None
    welcome_message: str | None = None
    sub_groups: tuple[Group, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> Group:
        data = _object(data, "group")
        return cls(
            group_id=str(_require(data, "groupId", "id")),
            group_name=_get(data, "groupName", "name"),
            group_type=_get(data, "groupType"),
            group_image_url=_get(data, "groupImageUrl"),
            caller_role=_get(data, "callerRole"),
            has_sub_groups=_bool(_get(data, "hasSubGroups")),
            has_parent_groups=_bool(_get(data, "hasParentGroups")),
            user_count=_get(data, "userCount"),
            current_level_user_count=_get(data, "currentLevelUserCount"),
            is_mapped_to_tenant=_bool(_get(data, "isMappedToTenant")),
            welcome_message=_get(data, "welcomeMessage"),
            sub_groups=tuple(cls.from_json(g) for g in _list(data, "subGroups")),
            raw=data,
        )


@dataclass(frozen=True)
class CreatedGroup:
    group_id: str
    group_name: str | None
    members_added: bool | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> CreatedGroup:
        data = _object(data, "created group")
        return cls(
            group_id=str(_require(data, "groupId")),
            group_name=_get(data, "groupName"),
            members_added=_bool(_get(data, "membersAdded")),
            raw=data,
        )


@dataclass(frozen=True)
class Member:
    member_id: str
    mobile_number: str | None
    role: str | None
    is_provisioned: bool | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> Member:
        data = _object(data, "member")
        return cls(
            member_id=str(_require(data, "id", "memberId")),
            mobile_number=_get(data, "mobileNumber"),
            role=_get(data, "role"),
            is_provisioned=_bool(_get(data, "isProvisioned")),
            raw=data,
        )


# --- subscribers --------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscriber:
    subscriber_id: str
    mobile_number: str | None
    name: str | None
    profile_pic: str | None
    is_provisioned: bool | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> Subscriber:
        data = _object(data, "subscriber")
        return cls(
            subscriber_id=str(_require(data, "id", "subscriberId")),
            mobile_number=_get(data, "mobileNumber"),
            name=_get(data, "name"),
            profile_pic=_get(data, "profilePic"),
            is_provisioned=_bool(_get(data, "isProvisioned")),
            raw=data,
        )


@dataclass(frozen=True)
class SubscriberPage:
    subscribers: tuple[Subscriber, ...]
    cursor: str | None  # None on the last page

    @classmethod
    def from_json(cls, data: Any) -> SubscriberPage:
        data = _object(data, "subscriber page")
        return cls(
            subscribers=tuple(Subscriber.from_json(s) for s in _list(data, "subscribers")),
            cursor=_get(data, "cursor") or None,
        )


@dataclass(frozen=True)
class SubscriberOutcome:
    """One number's result of an add/remove; `reason` is whatever failure detail the server gave."""

    mobile_number: str
    ok: bool
    reason: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


def subscriber_outcomes(data: Any, flag: str) -> dict[str, SubscriberOutcome]:
    """`{"result": {"+91…": {"isAdded": true}}}` → outcome per number (`flag` is isAdded/isRemoved)."""
    result = _get(_object(data, "subscriber result"), "result")
    if not isinstance(result, Mapping):
        raise MalformedResponse("'result' is not an object", body_start=_preview(data))
    outcomes = {}
    for number, entry in result.items():
        entry = entry if isinstance(entry, Mapping) else {flag: entry}
        ok = bool(_bool(_get(entry, flag)))
        reason = None if ok else _get(entry, "errorReason", "reason", "message", "errorCode")
        outcomes[number] = SubscriberOutcome(mobile_number=number, ok=ok, reason=reason, raw=entry)
    return outcomes


# --- messages and actions -----------------------------------------------------------------


@dataclass(frozen=True)
class FailedRecipient:
    subscriber: str | None
    subscriber_id: str | None
    error_reason: str | None
    error_code: str | None

    @classmethod
    def from_json(cls, data: Any) -> FailedRecipient:
        data = _object(data, "failed recipient")
        return cls(
            subscriber=_get(data, "subscriber"),
            subscriber_id=_get(data, "subscriberId"),
            error_reason=_get(data, "errorReason"),
            error_code=_get(data, "errorCode"),
        )


@dataclass(frozen=True)
class SendResult:
    """A message or action was accepted; `failed` lists recipients Kaizala could not deliver to."""

    reference_id: str
    action_id: str | None = None
    failed: tuple[FailedRecipient, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> SendResult:
        data = _object(data, "send result")
        return cls(
            reference_id=str(_require(data, "referenceId")),
            action_id=_get(data, "actionId"),
            failed=tuple(FailedRecipient.from_json(f) for f in _list(data, "failedResult")),
            raw=data,
        )


@dataclass(frozen=True)
class Announcement:
    action_type: ClassVar[str] = "Announcement"
    title: str
    message: str
    media_resources: Sequence[str] = ()

    def to_body(self) -> dict[str, Any]:
        # Capitalised as in the documented body and the reference client library.
        body: dict[str, Any] = {"Title": self.title, "Message": self.message}
        if self.media_resources:
            body["MediaResources"] = list(self.media_resources)
        return body


@dataclass(frozen=True)
class PollChoice:
    title: str
    image: str | None = None  # a mediaResource


@dataclass(frozen=True)
class Poll:
    action_type: ClassVar[str] = "Poll"
    question: str
    choices: Sequence[str | PollChoice]
    expiry_in_hours: int = 720

    def to_body(self) -> dict[str, Any]:
        choices = []
        for choice in self.choices:
            choice = PollChoice(choice) if isinstance(choice, str) else choice
            choices.append({"title": choice.title} | ({"image": choice.image} if choice.image else {}))
        return {"question": self.question, "choices": choices, "expiryInHours": self.expiry_in_hours}


@dataclass(frozen=True)
class SurveyQuestion:
    title: str
    type: str  # SingleOption | MultiOption | Text | Image | Numeric | Date | Location | AttachmentList
    options: Sequence[str] = ()
    is_invisible: bool = False

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"title": self.title, "type": self.type}
        if self.options:
            body["options"] = [{"title": option} for option in self.options]
        if self.is_invisible:
            body["isInvisible"] = True
        return body


@dataclass(frozen=True)
class Survey:
    action_type: ClassVar[str] = "Survey"
    title: str
    questions: Sequence[SurveyQuestion]
    due_in_hours: int = 24
    is_anonymous: bool = False
    is_sender_only: bool = False
    accept_multiple_responses: bool = False

    def to_body(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "questions": [q.to_body() for q in self.questions],
            "dueDate": self.due_in_hours,
            "isAnonymous": self.is_anonymous,
            "isSenderOnly": self.is_sender_only,
            "acceptMultipleResponses": self.accept_multiple_responses,
        }


@dataclass(frozen=True)
class Job:
    action_type: ClassVar[str] = "Job"
    title: str
    assigned_to: Sequence[str]
    due_in_hours: int = 24

    def to_body(self) -> dict[str, Any]:
        return {"title": self.title, "assignedTo": list(self.assigned_to), "dueDate": self.due_in_hours}


@dataclass(frozen=True)
class LetsMeet:
    action_type: ClassVar[str] = "LetsMeet"
    title: str
    starting_time: datetime  # aware; sent as ISO-8601 UTC
    duration_minutes: int = 30
    place: str = ""
    latitude: float | None = None
    longitude: float | None = None
    agenda: str = ""

    def to_body(self) -> dict[str, Any]:
        # `duration` as the documented sample sends it (the table's `DurationInMins` is not what clients sent).
        when = self.starting_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body: dict[str, Any] = {"title": self.title, "startingTime": when, "duration": self.duration_minutes}
        if self.place or self.latitude is not None:
            place: dict[str, Any] = {"name": self.place}
            if self.latitude is not None and self.longitude is not None:
                place = {"latitude": self.latitude, "longitude": self.longitude, "name": self.place}
            body["place"] = place
        if self.agenda:
            body["agenda"] = self.agenda
        return body


MEDIA_ACTION_TYPES = ("Image", "Album", "Audio", "Document", "Video")


@dataclass(frozen=True)
class MediaPost:
    """A media post (§11.2): the `mediaResource` an upload returned, and an optional caption."""

    action_type: str  # one of MEDIA_ACTION_TYPES
    media_resource: str
    caption: str = ""

    def __post_init__(self):
        if self.action_type not in MEDIA_ACTION_TYPES:
            raise ValueError(f"not a media action type: {self.action_type!r}")

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"mediaResource": self.media_resource}
        if self.caption:
            body["caption"] = self.caption
        return body


Action = Announcement | Poll | Survey | Job | LetsMeet | MediaPost


@dataclass(frozen=True)
class ActionSummary:
    """One row of an action list; `body` is the type-specific `actionBody` as sent by the server."""

    reference_id: str | None
    action_type: str | None
    action_id: str | None
    sender: str | None
    sent_at: datetime | None
    body: Mapping[str, Any]
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> ActionSummary:
        data = _object(data, "action")
        body = _get(data, "actionBody", "actionDetails", default={}) or {}
        body = body if isinstance(body, Mapping) else {}
        return cls(
            reference_id=_get(data, "referenceId"),
            action_type=_get(data, "actionType"),
            action_id=_get(data, "actionId") or _get(body, "actionId"),
            sender=_get(data, "sender"),
            sent_at=parse_time(_get(data, "sentAt", "creationTime")),
            body=body,
            raw=data,
        )


@dataclass(frozen=True)
class ActionList:
    actions: tuple[ActionSummary, ...]
    has_more: bool

    @classmethod
    def from_json(cls, data: Any) -> ActionList:
        data = _object(data, "action list")
        return cls(
            actions=tuple(ActionSummary.from_json(a) for a in _list(data, "actions")),
            has_more=bool(_bool(_get(data, "hasMore"))),
        )


# --- webhooks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Webhook:
    webhook_id: str
    object_id: str | None
    object_type: str | None
    event_types: tuple[str, ...]
    callback_url: str | None
    active: bool | None
    created_at: datetime | None
    valid_until: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> Webhook:
        data = _object(data, "webhook")
        return cls(
            webhook_id=str(_require(data, "id", "webhookId")),
            object_id=_get(data, "objectId"),
            object_type=_get(data, "objectType"),
            event_types=tuple(_get(data, "events", "eventTypes", default=()) or ()),
            callback_url=_get(data, "callbackUrl"),
            active=_bool(_get(data, "active")),
            created_at=parse_time(_get(data, "ts")),
            valid_until=parse_time(_get(data, "validity")),
            raw=data,
        )
