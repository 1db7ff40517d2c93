"""Who made a change: a console user, an API key (its label, never the key), or the system (a periodic task),
and from which address. Every write service takes one (`actor=`, keyword-only)."""

from __future__ import annotations

from dataclasses import dataclass

from axes.helpers import get_client_ip_address


@dataclass(frozen=True)
class Actor:
    user: object | None = None
    api_key: str = ""  # the key's label
    address: str | None = None

    @property
    def name(self) -> str:
        if self.user is not None:
            return self.user.get_username()
        if self.api_key:
            return f"API key {self.api_key}"
        # No user and no key: someone not logged in (a failed login) from an address, or the system itself.
        return "not logged in" if self.address else "system"


SYSTEM = Actor()


def actor_from_request(request) -> Actor:
    """The signed-in person and their address (the same address django-axes counts failures by)."""
    user = request.user if request.user.is_authenticated else None
    return Actor(user=user, address=get_client_ip_address(request) or None)
