"""The auth calls, made against the fixed auth base URL (https://api.kaiza.la in production)."""

from __future__ import annotations

from collections.abc import Mapping

import requests

from .limiter import RateLimiter
from .models import AccessToken, LoginResult
from .transport import DEFAULT_TIMEOUTS, Recorder, Timeouts, Transport, api_url


class AuthClient:
    def __init__(
        self,
        base_url: str,
        *,
        application_id: str,
        application_secret: str,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        recorder: Recorder | None = None,
        limiter: RateLimiter | None = None,
        limiter_keys: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
    ):
        self.base_url = base_url
        self.application_id = application_id
        self._secret = application_secret
        self._transport = Transport(
            timeouts=timeouts, recorder=recorder, limiter=limiter, limiter_keys=limiter_keys, session=session
        )

    def __repr__(self) -> str:
        return f"AuthClient({self.base_url!r}, application_id={self.application_id!r})"

    def generate_pin(self, mobile_number: str) -> None:
        """Ask Kaizala to send a PIN by SMS to this phone number."""
        self._transport.request(
            "POST",
            api_url(self.base_url, "generatePin"),
            json_body={"mobileNumber": mobile_number, "applicationId": self.application_id},
            secrets=[self._secret],
        )

    def login_with_pin(self, mobile_number: str, pin: str | int) -> LoginResult:
        """Exchange the SMS PIN for a user refresh token."""
        body = self._transport.request(
            "POST",
            api_url(self.base_url, "loginWithPinAndApplicationId"),
            # As a string: a PIN may start with 0. Clients in the wild sent strings and were accepted.
            json_body={"mobileNumber": mobile_number, "applicationId": self.application_id, "pin": str(pin)},
            secrets=[self._secret],
        )
        return LoginResult.from_json(body)

    def access_token(self, refresh_token: str) -> AccessToken:
        """A fresh access token and the endpoint URL to use it on (may carry a rotated refresh token)."""
        body = self._transport.request(
            "GET",
            api_url(self.base_url, "accessToken"),
            headers={
                "applicationId": self.application_id,
                "applicationSecret": self._secret,
                "refreshToken": refresh_token,
            },
        )
        return AccessToken.from_json(body)
