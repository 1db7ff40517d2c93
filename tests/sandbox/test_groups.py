"""Groups, sub-groups, members, subscribers and the access rules of user, group and tenant tokens."""

import requests

from tests.sandbox.conftest import ApiUser, assert_error, gid_path

A, B, C = "+911100000001", "+911100000002", "+911100000003"


def token_user(sandbox, kind, mobile, group_id=None) -> ApiUser:
    """A caller holding a group-level or tenant-admin token issued through the control API."""
    body = {"applicationId": sandbox.demo_connector["applicationId"], "kind": kind, "mobileNumber": mobile}
    if group_id:
        body["groupId"] = group_id
    issued = sandbox.issue_token(**body)
    assert issued["kind"] == kind
    reply = requests.get(f"{sandbox.base_url}/v1/accessToken", timeout=5, headers={
        "applicationId": sandbox.demo_connector["applicationId"],
        "applicationSecret": sandbox.demo_connector["applicationSecret"], "refreshToken": issued["refreshToken"]})
    assert reply.status_code == 200, reply.text
    return ApiUser({**reply.json(), "refreshToken": issued["refreshToken"], "mobileNumber": mobile,
                    "applicationId": sandbox.demo_connector["applicationId"],
                    "applicationSecret": sandbox.demo_connector["applicationSecret"]})


def test_create_list_and_details(sandbox, user):
    reply = user.ok("POST", "v1/groups", json={"name": "Ops", "welcomeMessage": "Hi", "members": [B, C]})
    assert reply["groupName"] == "Ops" and reply["membersAdded"] is True
    group_id = reply["groupId"]
    assert group_id.endswith("@1")
    listed = user.ok("GET", "v1/groups")["groups"]
    assert [(g["groupId"], g["callerRole"], g["groupType"]) for g in listed] == [(group_id, "Admin", "Group")]
    assert "userCount" not in listed[0]
    detailed = user.ok("GET", "v1/groups", params={"showDetails": "true"})["groups"][0]
    assert detailed["currentLevelUserCount"] == 3 and detailed["currentLevelUnProvisionedUserCount"] == 2
    assert user.ok("GET", "v1/groups", params={"showDetail": "true"})["groups"][0]["userCount"] == 3
    details = user.ok("GET", f"v1/groups/{gid_path(group_id)}")
    assert details["groups"][0]["groupName"] == "Ops" and details["groups"][0]["welcomeMessage"] == "Hi"
    # '@' raw in the path works as well as %40.
    assert user.ok("GET", f"v1/groups/{group_id}")["groups"][0]["groupId"] == group_id
    assert sandbox.groups()[0]["createdBy"] == A


def test_create_group_validation(user):
    assert_error(user.call("POST", "v1/groups", json={"welcomeMessage": "x"}), 400, "InvalidParameters")
    assert_error(user.call("POST", "v1/groups", json={"name": "x"}), 400, "InvalidParameters")
    too_many = [f"+9199{i:08d}" for i in range(101)]
    body = assert_error(user.call("POST", "v1/groups", json={"name": "x", "welcomeMessage": "y",
                                                              "members": too_many}), 400, "InvalidParameters")
    assert "100" in body["message"]
    assert user.call("POST", "v1/groups", json={"name": "x", "welcomeMessage": "y",
                                                 "members": too_many[:100]}).status_code == 200
    assert_error(user.call("POST", "v1/groups", json={"name": "x", "welcomeMessage": "y", "members": ["abc"]}),
                 400, "InvalidParameters")
    assert_error(user.call("POST", "v1/groups", json={"name": "x", "welcomeMessage": "y", "groupType": "Odd"}),
                 400, "InvalidParameters")


def test_group_visibility_between_users(sandbox, user, other_user):
    group_id = user.create_group(members=[B])
    mine = user.create_group(name="Private")
    assert [g["groupId"] for g in other_user.ok("GET", "v1/groups")["groups"]] == [group_id]
    assert other_user.ok("GET", "v1/groups")["groups"][0]["callerRole"] == "Member"
    assert_error(other_user.call("GET", f"v1/groups/{gid_path(mine)}"), 403, "AccessDenied")
    assert_error(user.call("GET", "v1/groups/nope@1"), 404, "NotFound")
    # Members cannot administer.
    assert_error(other_user.call("PUT", f"v1/groups/{gid_path(group_id)}/members", json={"members": [C]}),
                 403, "AccessDenied")


def test_subgroups_create_list_attach_detach(user):
    parent = user.create_group(name="Parent")
    reply = user.ok("POST", f"v1/groups/{gid_path(parent)}/subGroups",
                    json={"groupName": "Child", "welcomeMessage": "w", "members": [B]})
    child = reply["groupId"]
    assert reply["groupName"] == "Child"
    grandchild = user.ok("POST", f"v1/groups/{gid_path(child)}/subgroups",
                         json={"name": "Grandchild", "welcomeMessage": "w"})["groupId"]
    listed = user.ok("GET", f"v1/groups/{gid_path(parent)}/subGroups")["groups"]
    assert [(g["groupId"], g["subGroups"]) for g in listed] == [(child, [])]
    deep = user.ok("GET", f"v1/groups/{gid_path(parent)}/subGroups", params={"fetchAllGroups": "true"})["groups"]
    assert deep[0]["subGroups"][0]["groupId"] == grandchild
    direct = {g["groupId"] for g in user.ok("GET", "v1/groups")["groups"]}
    assert direct == {parent, child, grandchild}  # the caller was added to each
    loose = user.create_group(name="Loose")
    assert user.ok("PUT", f"v1/groups/{gid_path(parent)}/subGroups", json={"subGroups": [loose]}) == {"result": True}
    ids = [g["groupId"] for g in user.ok("GET", f"v1/groups/{gid_path(parent)}/subGroups")["groups"]]
    assert ids == [child, loose]
    assert_error(user.call("PUT", f"v1/groups/{gid_path(grandchild)}/subGroups", json={"subGroups": [parent]}),
                 400, "InvalidParameters")
    assert user.ok("DELETE", f"v1/groups/{gid_path(parent)}/subGroups/{gid_path(loose)}") == {"result": True}
    assert_error(user.call("DELETE", f"v1/groups/{gid_path(parent)}/subGroups/{gid_path(loose)}"), 404, "NotFound")
    details = user.ok("GET", f"v1/groups/{gid_path(parent)}")["groups"][0]
    assert details["hasSubGroups"] is True and details["currentLevelSubGroupCount"] == 1


def test_fetch_all_groups_includes_hierarchy(sandbox, user, other_user):
    parent = user.create_group(name="Parent")
    child = user.ok("POST", f"v1/groups/{gid_path(parent)}/subGroups",
                    json={"groupName": "Child", "welcomeMessage": "w", "members": [B], "addUserToGroup": False})
    direct = [g["groupId"] for g in other_user.ok("GET", "v1/groups")["groups"]]
    assert direct == [child["groupId"]]
    everything = {g["groupId"] for g in other_user.ok("GET", "v1/groups", params={"fetchAllGroups": "true"})["groups"]}
    assert everything == {parent, child["groupId"]}


def test_members_add_list_role_remove(sandbox, user):
    group_id = user.create_group()
    path = f"v1/groups/{gid_path(group_id)}/members"
    assert user.ok("PUT", path, json={"members": [B, C]}) == {"result": True}
    members = {m["mobileNumber"]: m for m in user.ok("GET", path)["members"]}
    assert set(members) == {A, B, C}
    assert members[A]["role"] == "Admin" and members[B]["role"] == "Member"
    assert members[A]["isProvisioned"] is True and members[B]["isProvisioned"] is False
    assert user.ok("PUT", f"{path}/{members[B]['id']}", json={"role": "Admin"}) == {"result": True}
    assert_error(user.call("PUT", f"{path}/{members[B]['id']}", json={"role": "Boss"}), 400, "InvalidParameters")
    assert user.ok("DELETE", f"{path}/{members[C]['id']}") == {"result": True}
    roles = {m["mobileNumber"]: m["role"] for m in user.ok("GET", path)["members"]}
    assert roles == {A: "Admin", B: "Admin"}
    assert_error(user.call("DELETE", f"{path}/{members[C]['id']}"), 404, "NotFound")
    assert_error(user.call("PUT", path, json={"members": [f"+9188{i:08d}" for i in range(101)]}), 400,
                 "InvalidParameters")
    assert_error(user.call("PUT", path, json={}), 400, "InvalidParameters")


def test_group_token_sees_one_group_and_creates_subgroups(sandbox, user):
    group_id = user.create_group(name="Mine")
    other = user.create_group(name="Other")
    group_token = token_user(sandbox, "group", A, group_id)
    assert [g["groupId"] for g in group_token.ok("GET", "v1/groups")["groups"]] == [group_id]
    assert_error(group_token.call("GET", f"v1/groups/{gid_path(other)}"), 403, "AccessDenied")
    created = group_token.ok("POST", "v1/groups", json={"name": "Sub", "welcomeMessage": "w"})["groupId"]
    sub = next(g for g in sandbox.groups() if g["groupId"] == created)
    assert sub["parentGroupId"] == group_id
    assert group_token.ok("POST", f"v1/groups/{gid_path(created)}/messages", json={"message": "x"})["referenceId"]


def test_group_token_needs_a_group_admin(sandbox, user):
    group_id = user.create_group(members=[B])
    reply = requests.post(f"{sandbox.base_url}/_sandbox/tokens", timeout=5, json={
        "applicationId": sandbox.demo_connector["applicationId"], "kind": "group", "mobileNumber": B,
        "groupId": group_id})
    assert_error(reply, 400, "InvalidParameters")


def test_connect_group_needs_tenant_token(sandbox, user):
    body = {"name": "Hub", "welcomeMessage": "w", "groupType": "ConnectGroup"}
    assert_error(user.call("POST", "v1/groups", json=body), 403, "TenantTokenRequired")
    tenant = token_user(sandbox, "tenant", C)
    hub = tenant.ok("POST", "v1/groups", json=body)["groupId"]
    listed = tenant.ok("GET", "v1/groups")["groups"]
    assert {g["groupId"] for g in listed} == {hub}
    assert listed[0]["groupType"] == "ConnectGroup" and listed[0]["isMappedToTenant"] is True
    # A tenant token reaches every group of its tenant, as an admin.
    user_group = user.create_group(name="Users")
    assert tenant.ok("GET", f"v1/groups/{gid_path(user_group)}")["groups"][0]["callerRole"] == "Admin"


def test_subscribers_add_list_with_cursor_remove(sandbox, user):
    tenant = token_user(sandbox, "tenant", A)
    hub = tenant.ok("POST", "v1/groups", json={"name": "Hub", "welcomeMessage": "w", "groupType": "ConnectGroup"})
    path = f"v1/groups/{gid_path(hub['groupId'])}/subscribers"
    numbers = [f"+9177{i:08d}" for i in range(60)]
    result = tenant.ok("PUT", f"{path}/add", json={"subscribers": [*numbers, "bad", numbers[0]]})["result"]
    assert all(result[n] == {"isAdded": True} for n in numbers[1:])
    assert result["bad"]["isAdded"] is False
    first = tenant.ok("POST", path, json={})
    assert len(first["subscribers"]) == 50 and first["cursor"]
    assert set(first["subscribers"][0]) == {"id", "mobileNumber", "name", "profilePic", "isProvisioned"}
    second = tenant.ok("POST", path, json={"cursor": first["cursor"], "count": 50})
    assert len(second["subscribers"]) == 10 and "cursor" not in second
    assert [s["mobileNumber"] for s in first["subscribers"] + second["subscribers"]] == numbers
    removed = tenant.ok("PUT", f"{path}/remove", json={"subscribers": [numbers[0], "+919999999999"]})["result"]
    assert removed[numbers[0]] == {"isRemoved": True} and removed["+919999999999"]["isRemoved"] is False
    assert len(tenant.ok("POST", path, json={"count": 5})["subscribers"]) == 5
    plain = user.create_group()
    assert_error(user.call("PUT", f"v1/groups/{gid_path(plain)}/subscribers/add", json={"subscribers": [B]}),
                 400, "InvalidParameters")


def test_method_not_allowed_and_unknown_route(user):
    assert_error(user.call("PATCH", "v1/groups"), 405, "MethodNotAllowed")
    assert_error(user.call("GET", "v1/nothing-here"), 404, "NotFound")
