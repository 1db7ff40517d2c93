"""The resource calls, made against the `endpointUrl` of the access token in use.

The client keeps no token state: on `InvalidToken` or `EndpointMoved` the caller refreshes
or stores the new endpoint (it owns token storage) and retries; `call_with_refresh` does
that once with callbacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import requests

from .errors import EndpointMoved, InvalidToken, KaizalaError, MalformedResponse
from .limiter import RateLimiter
from .models import (
    Action,
    ActionList,
    ActionSummary,
    CreatedGroup,
    Group,
    Member,
    SendResult,
    Subscriber,
    SubscriberOutcome,
    SubscriberPage,
    Webhook,
    _bool,
    _get,
    _list,
    _object,
    _require,
    subscriber_outcomes,
)
from .transport import DEFAULT_TIMEOUTS, Recorder, Timeouts, Transport, Upload, api_url


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _epoch_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _targeting(to_all_subscribers: bool, subscribers: Sequence[str] | None) -> dict[str, Any]:
    if to_all_subscribers and subscribers:
        raise ValueError("choose either to_all_subscribers or a list of subscribers")
    if to_all_subscribers:
        return {"sendToAllSubscribers": True}
    if subscribers:
        return {"subscribers": list(subscribers)}
    return {}


class KaizalaClient:
    def __init__(
        self,
        endpoint_url: str,
        access_token: str,
        *,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        recorder: Recorder | None = None,
        limiter: RateLimiter | None = None,
        limiter_keys: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
    ):
        """`limiter_keys` names the buckets each call takes a token from, as for `AuthClient`:
        e.g. `{"connector": application_id, "tenant": tenant_id}`."""
        self.endpoint_url = endpoint_url
        self._token = access_token
        self._options = {
            "timeouts": timeouts,
            "recorder": recorder,
            "limiter": limiter,
            "limiter_keys": limiter_keys,
            "session": session,
        }
        self._transport = Transport(
            timeouts=timeouts, recorder=recorder, limiter=limiter, limiter_keys=limiter_keys, session=session
        )

    def __repr__(self) -> str:
        return f"KaizalaClient({self.endpoint_url!r})"

    def with_credentials(self, *, endpoint_url: str | None = None, access_token: str | None = None) -> KaizalaClient:
        """A client like this one on a new endpoint and/or with a new token."""
        return KaizalaClient(endpoint_url or self.endpoint_url, access_token or self._token, **self._options)

    def _call(self, method: str, *path: str, **kwargs) -> Any:
        return self._transport.request(
            method, api_url(self.endpoint_url, *path), headers={"accessToken": self._token}, **kwargs
        )

    # --- groups ---------------------------------------------------------------------------

    def create_group(
        self,
        name: str,
        welcome_message: str,
        *,
        members: Sequence[str] | None = None,
        group_type: str = "Group",
    ) -> CreatedGroup:
        """`group_type` "ConnectGroup" makes a managed public group (needs a tenant-admin token)."""
        body: dict[str, Any] = {"name": name, "welcomeMessage": welcome_message, "groupType": group_type}
        if members:
            body["members"] = list(members)
        return CreatedGroup.from_json(self._call("POST", "groups", json_body=body))

    def list_groups(self, *, show_details: bool = False, fetch_all: bool = False) -> list[Group]:
        """The caller's direct groups, or with `fetch_all` every parent and sub-group too."""
        # The docs spell it showDetail, clients sent showDetails: send both.
        params = {"showDetail": _flag(show_details), "showDetails": _flag(show_details)}
        params["fetchAllGroups"] = _flag(fetch_all)
        body = _object(self._call("GET", "groups", params=params), "groups")
        return [Group.from_json(g) for g in _list(body, "groups")]

    def get_group(self, group_id: str) -> Group:
        body = _object(self._call("GET", "groups", group_id), "group")
        # Documented as {"groups": [ {...} ]}; a bare group object is accepted too.
        groups = _get(body, "groups")
        if groups is None:
            return Group.from_json(body)
        if not isinstance(groups, list) or not groups:
            raise MalformedResponse("group details without a group", body_start=repr(body)[:200])
        return Group.from_json(groups[0])

    def list_subgroups(self, group_id: str, *, fetch_all: bool = False) -> list[Group]:
        """The sub-groups of a group (with `fetch_all`, each with its own `sub_groups`)."""
        body = _object(
            self._call("GET", "groups", group_id, "subGroups", params={"fetchAllGroups": _flag(fetch_all)}),
            "sub-groups",
        )
        # The docs and the swagger disagree: {"groups": [...]}, possibly wrapping the parent,
        # or the parent itself as a bare object with "subGroups".
        if _get(body, "groups") is None:
            return list(Group.from_json(body).sub_groups) if _get(body, "groupId") else []
        groups = [Group.from_json(g) for g in _list(body, "groups")]
        if len(groups) == 1 and groups[0].group_id == group_id:
            return list(groups[0].sub_groups)
        return groups

    def create_subgroup(
        self,
        group_id: str,
        name: str,
        welcome_message: str,
        *,
        members: Sequence[str] | None = None,
        add_caller: bool = True,
    ) -> CreatedGroup:
        body: dict[str, Any] = {"groupName": name, "welcomeMessage": welcome_message, "addUserToGroup": add_caller}
        if members:
            body["members"] = list(members)
        return CreatedGroup.from_json(self._call("POST", "groups", group_id, "subGroups", json_body=body))

    # --- members --------------------------------------------------------------------------

    def list_members(self, group_id: str) -> list[Member]:
        body = _object(self._call("GET", "groups", group_id, "members"), "members")
        return [Member.from_json(m) for m in _list(body, "members")]

    def add_members(self, group_id: str, mobile_numbers: Sequence[str]) -> bool:
        body = self._call("PUT", "groups", group_id, "members", json_body={"members": list(mobile_numbers)})
        return bool(_bool(_require(_object(body, "add members"), "result")))

    def remove_member(self, group_id: str, member_id: str) -> bool:
        body = self._call("DELETE", "groups", group_id, "members", member_id)
        return bool(_bool(_get(_object(body, "remove member"), "result", default=True)))

    def set_member_role(self, group_id: str, member_id: str, role: str) -> None:
        """`role` is "Admin" or "Member"; the response body is undocumented and ignored."""
        self._call("PUT", "groups", group_id, "members", member_id, json_body={"role": role})

    # --- subscribers (managed public groups) ----------------------------------------------

    def add_subscribers(self, group_id: str, mobile_numbers: Sequence[str]) -> dict[str, SubscriberOutcome]:
        body = self._call(
            "PUT", "groups", group_id, "subscribers", "add", json_body={"subscribers": list(mobile_numbers)}
        )
        return subscriber_outcomes(body, "isAdded")

    def remove_subscribers(self, group_id: str, mobile_numbers: Sequence[str]) -> dict[str, SubscriberOutcome]:
        body = self._call(
            "PUT", "groups", group_id, "subscribers", "remove", json_body={"subscribers": list(mobile_numbers)}
        )
        return subscriber_outcomes(body, "isRemoved")

    def list_subscribers(self, group_id: str, cursor: str | None = None, count: int = 50) -> SubscriberPage:
        """One page (at most 50); pass the returned `cursor` for the next, None means the last page."""
        body: dict[str, Any] = {"count": count}
        if cursor:
            body["cursor"] = cursor
        return SubscriberPage.from_json(self._call("POST", "groups", group_id, "subscribers", json_body=body))

    def iter_subscribers(self, group_id: str, page_size: int = 50) -> Iterator[Subscriber]:
        cursor = None
        while True:
            page = self.list_subscribers(group_id, cursor=cursor, count=page_size)
            yield from page.subscribers
            if not page.cursor or page.cursor == cursor:
                return
            cursor = page.cursor

    # --- messages and actions -------------------------------------------------------------

    def send_message(
        self,
        group_id: str,
        text: str,
        *,
        to_all_subscribers: bool = False,
        subscribers: Sequence[str] | None = None,
        reply_to_reference_id: str | None = None,
    ) -> SendResult:
        """A text message to the group, or to all / chosen subscribers of a managed public group; with
        `reply_to_reference_id`, an answer threaded under that post (§19)."""
        body = {"message": text} | _targeting(to_all_subscribers, subscribers)
        if reply_to_reference_id:
            body["replyToReferenceId"] = reply_to_reference_id
        return SendResult.from_json(self._call("POST", "groups", group_id, "messages", json_body=body))

    def create_action(
        self,
        group_id: str,
        action: Action,
        *,
        to_all_subscribers: bool = False,
        subscribers: Sequence[str] | None = None,
        reply_to_reference_id: str | None = None,
    ) -> SendResult:
        """An Action (§12.1) or a media post (§11.2); `action_id` is set for Actions, not for media."""
        body = {"actionType": action.action_type, "actionBody": action.to_body()}
        body |= _targeting(to_all_subscribers, subscribers)
        if reply_to_reference_id:
            body["replyToReferenceId"] = reply_to_reference_id
        return SendResult.from_json(self._call("POST", "groups", group_id, "actions", json_body=body))

    def list_actions(
        self, group_id: str, action_type: str, *, from_date: datetime | None = None, count: int | None = None
    ) -> ActionList:
        params: dict[str, Any] = {"actionType": action_type}
        if from_date is not None:
            params["fromDate"] = _epoch_ms(from_date)
        if count is not None:
            params["count"] = count
        return ActionList.from_json(self._call("GET", "groups", group_id, "actions", params=params))

    def get_action(self, group_id: str, action_id: str, *, details: bool = True) -> ActionSummary:
        """One action; with `details`, its responses are in `body` (their schema is undocumented)."""
        body = _object(
            self._call("GET", "groups", group_id, "actions", action_id, params={"getDetails": _flag(details)}),
            "action",
        )
        # The documented sample repeats the list shape {"actions": [ {...} ]}.
        actions = _get(body, "actions")
        if isinstance(actions, list) and actions:
            return ActionSummary.from_json(actions[0])
        return ActionSummary.from_json(body)

    def remind_action(
        self,
        group_id: str,
        action_id: str,
        *,
        to_all_subscribers: bool = False,
        subscribers: Sequence[str] | None = None,
    ) -> None:
        """A reminder of an action to those who have not answered (§19); without targeting, to the group.
        The answer's body is undocumented: any 2xx is success."""
        body = _targeting(to_all_subscribers, subscribers)
        self._call("POST", "groups", group_id, "actions", action_id, "reminder", json_body=body)

    def upload_media(self, filename: str, data: bytes, content_type: str) -> str:
        """Upload a file; returns the opaque `mediaResource` to put in an action."""
        body = self._call("POST", "media", upload=Upload(filename, data, content_type))
        return str(_require(_object(body, "media"), "mediaResource"))

    # --- webhooks -------------------------------------------------------------------------

    def create_webhook(
        self,
        object_id: str,
        object_type: str,
        event_types: Sequence[str],
        callback_url: str,
        *,
        callback_token: str | None = None,
        callback_context: str | None = None,
        valid_until: datetime | None = None,
    ) -> str:
        """Subscribe `callback_url` (which must echo Kaizala's validationToken) to events; returns the id."""
        body: dict[str, Any] = {
            "objectId": object_id,
            "objectType": object_type,
            "eventTypes": list(event_types),
            "callBackUrl": callback_url,
        }
        body |= _webhook_options(callback_token, callback_context, valid_until)
        return str(_require(_object(self._call("POST", "webhook", json_body=body), "webhook"), "webhookId", "id"))

    def list_webhooks(self, object_id: str, object_type: str) -> list[Webhook]:
        body = self._call("GET", "webhook", params={"objectId": object_id, "objectType": object_type})
        return [Webhook.from_json(w) for w in _list(_object(body, "webhooks"), "webhooks")]

    def update_webhook(
        self,
        webhook_id: str,
        *,
        event_types: Sequence[str] | None = None,
        callback_url: str | None = None,
        callback_token: str | None = None,
        callback_context: str | None = None,
        valid_until: datetime | None = None,
        active: bool | None = None,
    ) -> None:
        """Change some fields; `active=True` re-enables a webhook Kaizala disabled after failed deliveries."""
        body: dict[str, Any] = _webhook_options(callback_token, callback_context, valid_until)
        if event_types is not None:
            body["eventTypes"] = list(event_types)
        if callback_url is not None:
            body["callBackUrl"] = callback_url
        if active is not None:
            body["Active"] = active
        self._call("PUT", "webhook", webhook_id, json_body=body)

    def delete_webhook(self, webhook_id: str) -> None:
        self._call("DELETE", "webhook", webhook_id)


def _webhook_options(token: str | None, context: str | None, valid_until: datetime | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if token is not None:
        options["callBackToken"] = token
    if context is not None:
        options["callBackContext"] = context
    if valid_until is not None:
        options["validity"] = _epoch_ms(valid_until)
    return options


T = TypeVar("T")


def call_with_refresh(
    call: Callable[[KaizalaClient], T],
    client: KaizalaClient,
    refresh: Callable[[KaizalaError], KaizalaClient],
) -> T:
    """Run `call(client)`; on InvalidToken or EndpointMoved, get a new client from `refresh(error)`
    (which refreshes the token or stores `error.endpoint_url`) and run it once more.

    Both errors mean the request was not carried out, so the retry cannot duplicate it.
    """
    try:
        return call(client)
    except (InvalidToken, EndpointMoved) as error:
        return call(refresh(error))
