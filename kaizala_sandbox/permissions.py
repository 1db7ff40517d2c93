"""The nine connector permissions (spec §4) and the scopes each one grants."""

PERMISSION_SCOPES = {
    "groupinfo": ("groupinfo.read", "groupinfo.write", "groupinfo.remove", "groupinfo.update"),
    "groupmember": ("groupmember.read", "groupmember.write", "groupmember.remove"),
    "textmessage": ("textmessage.read", "textmessage.write"),
    "action": ("action.read", "action.write", "action.update"),
    "profile": ("profile.read", "profile.write"),
    "media": ("media.read", "media.write"),
    "webhook": ("webhook.read", "webhook.write", "webhook.remove", "webhook.update"),
    "tenantdata": ("tenantdata.read",),
    "reactions": ("reactions.read", "reactions.write"),
}

# The portal's display names, accepted as aliases.
_ALIASES = {
    "groupinformation": "groupinfo",
    "groupmemberlist": "groupmember",
    "textmessage": "textmessage",
    "actionresponses": "action",
    "actions": "action",
    "userprofile": "profile",
    "outgoingwebhooks": "webhook",
    "webhooks": "webhook",
    "reaction": "reactions",
}

ALL_PERMISSIONS = list(PERMISSION_SCOPES)


def normalize(permissions) -> list[str]:
    """Map names like "Action & Responses" or "action" to keys; raise ValueError on unknown ones."""
    result = []
    for name in permissions:
        folded = "".join(ch for ch in str(name).lower() if ch.isalnum())
        key = folded if folded in PERMISSION_SCOPES else _ALIASES.get(folded)
        if key is None:
            raise ValueError(f"unknown permission {name!r}; known: {', '.join(ALL_PERMISSIONS)}")
        if key not in result:
            result.append(key)
    return result


def scopes_for(permissions) -> list[str]:
    return [scope for key in permissions for scope in PERMISSION_SCOPES[key]]
