def kaizala_group(sandbox, group_id: str) -> dict:
    """The sandbox's own view of a group, with `members` as {mobile: role}."""
    group = next(g for g in sandbox.groups() if g["groupId"] == group_id)
    return {**group, "members": {m["mobileNumber"]: m["role"] for m in group["members"]}}
