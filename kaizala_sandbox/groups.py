"""Groups, sub-groups, members and subscribers, with the access rules of the three token kinds.

A user token reaches the groups its phone is a member of (role as in the group); a group
token reaches its group and that group's sub-groups, as an admin; a tenant token reaches
every group of its tenant, as an admin.
"""

import uuid

from . import context
from .errors import bad_request, forbidden, not_found

MAX_MEMBERS_PER_CALL = 100
MAX_SUBSCRIBER_PAGE = 50
GROUP_TYPES = {"group": "Group", "connectgroup": "ConnectGroup"}


def new_group(store, *, name, welcome, creator, members=(), group_type="Group", tenant_id, parent_id=None,
              mapped_to_tenant=False, add_creator=True) -> dict:
    group_id = f"{uuid.uuid4()}@1"  # opaque ids with the '@<n>' suffix real clients saw
    group = {
        "groupId": group_id,
        "groupName": name,
        "welcomeMessage": welcome,
        "groupType": group_type,
        "groupImageUrl": "",
        "parentGroupId": None,
        "subGroupIds": [],
        "members": {},  # mobileNumber -> role
        "subscribers": {},  # mobileNumber -> subscribedAt
        "tenantId": tenant_id,
        "isMappedToTenant": mapped_to_tenant,
        "createdBy": creator,
        "createdAt": store.now(),
    }
    if add_creator:
        group["members"][creator] = "Admin"
        store.user(creator)
    for phone in members:
        group["members"].setdefault(phone, "Member")
        store.user(phone)
    store.groups[group_id] = group
    if parent_id:
        attach(store, store.groups[parent_id], group)
    return group


def attach(store, parent, child):
    child["parentGroupId"] = parent["groupId"]
    if child["groupId"] not in parent["subGroupIds"]:
        parent["subGroupIds"].append(child["groupId"])


def ancestors(store, group) -> list[dict]:
    result = []
    while group["parentGroupId"] and group["parentGroupId"] in store.groups:
        group = store.groups[group["parentGroupId"]]
        result.append(group)
    return result


def descendants(store, group) -> list[dict]:
    result, stack = [], list(group["subGroupIds"])
    while stack:
        child = store.groups.get(stack.pop(0))
        if child is not None:
            result.append(child)
            stack.extend(child["subGroupIds"])
    return result


def caller_role(store, principal, group) -> str | None:
    """'Admin' / 'Member' if the caller reaches this group, else None."""
    kind = principal["kind"]
    if kind == "tenant" and group["tenantId"] == principal["tenantId"]:
        return "Admin"
    if kind == "group":
        root = store.groups.get(principal["groupId"])
        if root is not None and (group is root or group in descendants(store, root)):
            return "Admin"
        return None
    return group["members"].get(principal["mobileNumber"])


def access(call, group_id: str, admin: bool = False) -> dict:
    group = call.store.groups.get(group_id)
    if group is None:
        raise not_found(f"Group {group_id} not found")
    role = caller_role(call.store, call.principal, group)
    if role is None:
        raise forbidden("AccessDenied", f"The caller has no access to group {group_id}")
    if admin and role != "Admin":
        raise forbidden("AccessDenied", "Only a group admin can do this")
    return group


def direct_groups(store, principal) -> list[dict]:
    kind = principal["kind"]
    if kind == "group":
        root = store.groups.get(principal["groupId"])
        return [root] if root else []
    if kind == "tenant":
        return [g for g in store.groups.values() if g["tenantId"] == principal["tenantId"]]
    return [g for g in store.groups.values() if principal["mobileNumber"] in g["members"]]


def _member_counts(store, group) -> tuple[int, int]:
    unprovisioned = sum(1 for phone in group["members"] if not store.user(phone)["isProvisioned"])
    return len(group["members"]), unprovisioned


def describe(store, principal, group, detail: bool) -> dict:
    info = {
        "groupId": group["groupId"],
        "groupName": group["groupName"],
        "groupImageUrl": group["groupImageUrl"],
        "hasSubGroups": bool(group["subGroupIds"]),
        "hasParentGroups": bool(group["parentGroupId"]),
        "callerRole": caller_role(store, principal, group) or "Member",
        "groupType": group["groupType"],
        "isMappedToTenant": group["isMappedToTenant"],
    }
    if detail:
        hierarchy = [group, *descendants(store, group)]
        users = {phone for g in hierarchy for phone in g["members"]}
        count, unprovisioned = _member_counts(store, group)
        info.update(
            {
                "welcomeMessage": group["welcomeMessage"],
                "currentLevelSubGroupCount": len(group["subGroupIds"]),
                "currentLevelParentGroupCount": 1 if group["parentGroupId"] else 0,
                "userCount": sum(len(g["members"]) for g in hierarchy),
                "uniqueUserCount": len(users),
                "currentLevelUserCount": count,
                "currentLevelUnProvisionedUserCount": unprovisioned,
                "unProvisionedUserCount": sum(1 for phone in users if not store.user(phone)["isProvisioned"]),
                "isDuplicate": False,
                "isEditable": info["callerRole"] == "Admin",
                "isDetailsReadable": True,
            }
        )
    return info


def _group_type(body) -> str:
    raw = body.get("groupType") or "Group"
    group_type = GROUP_TYPES.get(str(raw).lower())
    if group_type is None:
        raise bad_request("'groupType' must be Group or ConnectGroup")
    return group_type


# -- /v1/groups ---------------------------------------------------------------------------
def create_group(call):
    store, body, principal = call.store, call.body(), call.principal
    name = context.req_str(body, "name", "groupName")
    welcome = context.req_str(body, "welcomeMessage")
    members = context.mobile_list(body, "members", max_items=MAX_MEMBERS_PER_CALL)
    group_type = _group_type(body)
    if group_type == "ConnectGroup" and principal["kind"] != "tenant":
        raise forbidden("TenantTokenRequired", "Creating a ConnectGroup needs a tenant-admin token")
    parent_id = principal["groupId"] if principal["kind"] == "group" else None
    group = new_group(
        store,
        name=name,
        welcome=welcome,
        creator=principal["mobileNumber"],
        members=members,
        group_type=group_type,
        tenant_id=principal["tenantId"],
        parent_id=parent_id,
        mapped_to_tenant=principal["kind"] == "tenant",
    )
    return {"groupName": group["groupName"], "groupId": group["groupId"], "membersAdded": True}


def list_groups(call):
    store, args = call.store, call.request.args
    detail = context.opt_bool(args.get("showDetail", args.get("showDetails")), "showDetail")
    everything = context.opt_bool(args.get("fetchAllGroups"), "fetchAllGroups")
    groups = direct_groups(store, call.principal)
    if everything:
        related = [g for root in groups for g in (*ancestors(store, root), root, *descendants(store, root))]
        groups = list({g["groupId"]: g for g in related}.values())
    return {"groups": [describe(store, call.principal, g, detail) for g in groups]}


def group_details(call, group_id):
    group = access(call, group_id)
    return {"groups": [describe(call.store, call.principal, group, detail=True)]}


# -- sub-groups ---------------------------------------------------------------------------
def _subgroup_tree(store, group, recurse: bool) -> dict:
    children = [store.groups[g] for g in group["subGroupIds"] if g in store.groups]
    return {
        "groupId": group["groupId"],
        "groupName": group["groupName"],
        "groupImageUrl": group["groupImageUrl"],
        "hasSubGroups": bool(children),
        "subGroups": [_subgroup_tree(store, c, recurse) for c in children] if recurse else [],
    }


def list_subgroups(call, group_id):
    group = access(call, group_id)
    everything = context.opt_bool(call.request.args.get("fetchAllGroups"), "fetchAllGroups")
    children = [call.store.groups[g] for g in group["subGroupIds"] if g in call.store.groups]
    return {"groups": [_subgroup_tree(call.store, c, everything) for c in children]}


def create_subgroup(call, group_id):
    store, body, principal = call.store, call.body(), call.principal
    parent = access(call, group_id, admin=True)
    name = context.req_str(body, "groupName", "name")
    welcome = context.req_str(body, "welcomeMessage")
    members = context.mobile_list(body, "members", max_items=MAX_MEMBERS_PER_CALL)
    add_caller = context.opt_bool(body.get("addUserToGroup"), "addUserToGroup", default=True)
    group = new_group(
        store,
        name=name,
        welcome=welcome,
        creator=principal["mobileNumber"],
        members=members,
        group_type=_group_type(body),
        tenant_id=parent["tenantId"],
        parent_id=parent["groupId"],
        mapped_to_tenant=parent["isMappedToTenant"],
        add_creator=add_caller,
    )
    if not add_caller:
        group["createdBy"] = principal["mobileNumber"]
    return {"groupId": group["groupId"], "groupName": group["groupName"]}


def attach_subgroups(call, group_id):
    store = call.store
    parent = access(call, group_id, admin=True)
    ids = call.body().get("subGroups")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise bad_request("'subGroups' must be a non-empty list of group ids")
    children = [access(call, child_id, admin=True) for child_id in ids]
    lineage = {parent["groupId"], *(g["groupId"] for g in ancestors(store, parent))}
    for child in children:
        if child["groupId"] in lineage:
            raise bad_request(f"Group {child['groupId']} cannot be a sub-group of its own descendant")
        if child["parentGroupId"] and child["parentGroupId"] != parent["groupId"]:
            raise bad_request(f"Group {child['groupId']} already has a parent group")
    for child in children:
        attach(store, parent, child)
    return {"result": True}


def detach_subgroup(call, group_id, sub_group_id):
    parent = access(call, group_id, admin=True)
    if sub_group_id not in parent["subGroupIds"]:
        raise not_found(f"Group {sub_group_id} is not a sub-group of {group_id}")
    parent["subGroupIds"].remove(sub_group_id)
    call.store.groups[sub_group_id]["parentGroupId"] = None
    return {"result": True}


# -- members ------------------------------------------------------------------------------
def member_view(store, phone, role) -> dict:
    user = store.user(phone)
    return {"id": user["id"], "role": role, "mobileNumber": phone, "isProvisioned": user["isProvisioned"]}


def _find_member(store, group, member_id) -> str:
    """Members are addressed by the `id` from the list; a phone number is accepted too."""
    for phone in group["members"]:
        if phone == member_id or store.user(phone)["id"] == member_id:
            return phone
    raise not_found(f"{member_id} is not a member of group {group['groupId']}")


def list_members(call, group_id):
    group = access(call, group_id)
    return {"members": [member_view(call.store, phone, role) for phone, role in group["members"].items()]}


def add_members(call, group_id):
    group = access(call, group_id, admin=True)
    phones = context.mobile_list(call.body(), "members", required=True, max_items=MAX_MEMBERS_PER_CALL)
    if not phones:
        raise bad_request("'members' must not be empty")
    for phone in phones:
        if phone not in group["members"]:
            group["members"][phone] = "Member"
            call.emit(group=group, event_type="MemberAdded", from_user=call.principal["mobileNumber"],
                      data=member_event(call.store, phone, "Member"))
    return {"result": True}


def member_event(store, phone, role) -> dict:
    user = store.user(phone)
    return {"member": phone, "memberId": user["id"], "memberName": user["name"], "memberProfilePic": "",
            "type": role}


def remove_member(call, group_id, member_id):
    group = access(call, group_id, admin=True)
    phone = _find_member(call.store, group, member_id)
    role = group["members"].pop(phone)
    call.emit(group=group, event_type="MemberRemoved", from_user=call.principal["mobileNumber"],
              data=member_event(call.store, phone, role))
    return {"result": True}


def change_member_role(call, group_id, member_id):
    group = access(call, group_id, admin=True)
    phone = _find_member(call.store, group, member_id)
    role = {"admin": "Admin", "member": "Member"}.get(str(call.body().get("role", "")).lower())
    if role is None:
        raise bad_request("'role' must be Admin or Member")
    group["members"][phone] = role
    return {"result": True}


# -- subscribers (ConnectGroup only) ------------------------------------------------------
def _public_group(call, group_id) -> dict:
    group = access(call, group_id, admin=True)
    if group["groupType"] != "ConnectGroup":
        raise bad_request(f"Group {group_id} is not a public (ConnectGroup) group")
    return group


def _subscriber_numbers(call) -> list:
    numbers = call.body().get("subscribers")
    if not isinstance(numbers, list) or not numbers:
        raise bad_request("'subscribers' must be a non-empty list of phone numbers")
    return numbers


def add_subscribers(call, group_id):
    group = _public_group(call, group_id)
    result = {}
    for number in _subscriber_numbers(call):
        key = str(number)
        if not isinstance(number, str) or not context.MOBILE_RE.match(number):
            result[key] = {"isAdded": False, "reason": "InvalidPhoneNumber"}
        elif number in group["subscribers"]:
            result[key] = {"isAdded": False, "reason": "AlreadySubscribed"}
        else:
            group["subscribers"][number] = call.store.now()
            call.store.user(number)
            result[key] = {"isAdded": True}
    return {"result": result}


def remove_subscribers(call, group_id):
    group = _public_group(call, group_id)
    result = {}
    for number in _subscriber_numbers(call):
        if isinstance(number, str) and group["subscribers"].pop(number, None) is not None:
            result[number] = {"isRemoved": True}
        else:
            result[str(number)] = {"isRemoved": False, "reason": "NotASubscriber"}
    return {"result": result}


def list_subscribers(call, group_id):
    group = _public_group(call, group_id)
    body = call.body()
    count = min(max(context.opt_int(body.get("count"), "count", MAX_SUBSCRIBER_PAGE), 1), MAX_SUBSCRIBER_PAGE)
    cursor = body.get("cursor") or "0"
    if not str(cursor).isdigit():
        raise bad_request("'cursor' is not a cursor returned by this call")
    start = int(cursor)
    phones = list(group["subscribers"])
    page = phones[start : start + count]
    response = {"subscribers": [_subscriber_view(call.store, phone) for phone in page]}
    if start + count < len(phones):
        response["cursor"] = str(start + count)
    return response


def _subscriber_view(store, phone) -> dict:
    user = store.user(phone)
    return {"id": user["id"], "mobileNumber": phone, "name": user["name"], "profilePic": "",
            "isProvisioned": user["isProvisioned"]}
