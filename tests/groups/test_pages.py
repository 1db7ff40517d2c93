"""The group pages: bad input refused with every reason and nothing sent, filters, escaping, roles.
Tasks run eagerly in the test process against the sandbox."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.roles import Role
from audit.actor import SYSTEM
from groups import services
from groups.models import Group, GroupMember
from tests.form_token import form_token
from tests.groups.conftest import kaizala_group

pytestmark = pytest.mark.django_db
XSS = '<script>alert("x")</script>'


def post_create(client, phone_user, **fields):
    data = {"phone_user": phone_user.pk, "name": "Field staff", "welcome_message": "Welcome!",
            "group_type": "Group", "members": ""} | fields
    return client.post(reverse("groups:create"), data | form_token(client, reverse("groups:create")))


def assert_nothing_sent(sandbox):
    assert Group.objects.count() == 0
    assert sandbox.calls(path="/v1/groups*") == []


@pytest.mark.parametrize(("fields", "error"), [
    ({"name": ""}, "This field is required."),
    ({"name": "x" * 101}, "Ensure this value has at most 100 characters (it has 101)."),
    ({"welcome_message": ""}, "This field is required."),
    ({"members": "+919812345678\n12ab\n+91 98\n"}, "Members: line 2: “12ab” has letters in it"),
    ({"group_type": "ConnectGroup"}, "A public group (ConnectGroup) can only be created through a tenant-admin "
                                     "token; +919812345678 holds a user token."),
])
def test_bad_input_is_refused_and_nothing_is_sent(client_for, phone_user, sandbox, fields, error):
    response = post_create(client_for(Role.OPERATOR), phone_user, **fields)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert_nothing_sent(sandbox)


def test_every_bad_line_is_listed(client_for, phone_user, sandbox):
    response = post_create(client_for(Role.OPERATOR), phone_user, members="+919812345678\n12ab\n+91 98\n")
    page = response.content.decode()
    assert "line 2:" in page and "Members: line 3: “+91 98” is too short" in page


@pytest.mark.parametrize(("content", "error"), [
    (b"email\nx@y.z\n", "first row must name the columns"),
    (b"\x00\x01\x02binary\xff", "holds binary data"),
])
def test_a_bad_csv_is_refused(client_for, phone_user, sandbox, content, error):
    upload = SimpleUploadedFile("members.csv", content, content_type="text/csv")
    response = post_create(client_for(Role.OPERATOR), phone_user, members_csv=upload)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert_nothing_sent(sandbox)


def test_a_group_is_created_from_a_csv(client_for, phone_user, sandbox, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("m.csv", b"phone,name\n+919800000002,Ravi\n+919800000003,\n", content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_create(client_for(Role.OPERATOR), phone_user, members="+919800000002", members_csv=upload)
    group = Group.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("groups:detail", args=[group.pk])
    assert group.state == Group.State.ACTIVE, group.last_error
    names = dict(group.members.values_list("mobile_number", "name"))
    assert names == {"+919812345678": "", "+919800000002": "Ravi", "+919800000003": ""}
    assert set(kaizala_group(sandbox, group.kaizala_id)["members"]) == set(names)


def test_a_viewer_cannot_create_or_sync(client_for, phone_user):
    client = client_for(Role.VIEWER)
    assert client.get(reverse("groups:create")).status_code == 403
    assert client.post(reverse("groups:sync"), {"phone_user": phone_user.pk}).status_code == 403
    assert client.get(reverse("groups:list")).status_code == 200


def test_names_from_outside_are_escaped(client_for, phone_user):
    group = Group.objects.create(phone_user=phone_user, kaizala_id="g@1", name=XSS, welcome_message=XSS,
                                 state=Group.State.ACTIVE)
    GroupMember.objects.create(group=group, mobile_number="+919800000002", name=XSS)
    client = client_for(Role.VIEWER)
    for url in (reverse("groups:list"), reverse("groups:detail", args=[group.pk])):
        page = client.get(url).content.decode()
        assert XSS not in page
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_search_filters_and_pagination(client_for, phone_user, tenant_admin):
    for i in range(30):
        Group.objects.create(phone_user=phone_user, kaizala_id=f"g{i}@1", name=f"Team {i:02}", member_count=i,
                             state=Group.State.ACTIVE)
    Group.objects.create(phone_user=tenant_admin, kaizala_id="hub@1", name="Citizens hub", state=Group.State.ACTIVE,
                         group_type=Group.Type.CONNECT_GROUP)
    client = client_for(Role.VIEWER)
    url = reverse("groups:list")
    first = client.get(url)
    assert len(first.context["page"].object_list) == 25 and first.context["page"].older_url
    second = client.get(url + first.context["page"].older_url).context["page"]
    assert len(second.object_list) == 6 and second.older_url is None and second.newer_url
    assert [g.name for g in client.get(url, {"q": "team 2"}).context["page"]] == [f"Team 2{i}" for i in range(10)]
    assert [g.name for g in client.get(url, {"type": "ConnectGroup"}).context["page"]] == ["Citizens hub"]
    assert len(client.get(url, {"phone_user": tenant_admin.pk}).context["page"].object_list) == 1
    assert "Next →" in first.content.decode()


def test_the_status_partial_reloads_the_page_when_the_work_is_done(client_for, phone_user):
    group = Group.objects.create(phone_user=phone_user, name="Busy", state=Group.State.CREATING)
    client = client_for(Role.VIEWER)
    url = reverse("groups:status", args=[group.pk])
    busy = client.get(url, HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in busy and 'hx-trigger="every 1s"' in busy.content.decode()
    Group.objects.filter(pk=group.pk).update(state=Group.State.ACTIVE, kaizala_id="g@1")
    assert client.get(url, HTTP_HX_REQUEST="true")["HX-Refresh"] == "true"


def test_a_connect_group_through_a_user_token_is_refused_by_the_service_too(phone_user):
    with pytest.raises(services.ValidationError, match="tenant-admin token"):
        services.group_create(actor=SYSTEM, phone_user=phone_user, name="Hub", welcome_message="Hi",
                              group_type=Group.Type.CONNECT_GROUP)


def test_a_member_without_the_app_is_said_to_have_not_installed_it(client_for, phone_user):
    """Issue 12.12: "On Kaizala: not yet" read as "not in the group"; it means the app is not installed."""
    group = Group.objects.create(phone_user=phone_user, kaizala_id="g@1", name="Team", state=Group.State.ACTIVE)
    GroupMember.objects.create(group=group, mobile_number="+919800000002", is_provisioned=False)
    GroupMember.objects.create(group=group, mobile_number="+919800000003", is_provisioned=True)
    page = client_for(Role.VIEWER).get(reverse("groups:detail", args=[group.pk])).content.decode()
    assert "On Kaizala" not in page and "not yet</span>" not in page
    assert "has not installed the app yet" in page and "installed</td>" in page


@pytest.mark.parametrize("kind", ["member", "subscriber"])
def test_a_removal_asks_first_and_says_what_it_affects(client_for, tenant_admin, kind,
                                                       django_capture_on_commit_callbacks):
    """Issue 12.14: Remove was one click."""
    group = Group.objects.create(phone_user=tenant_admin, kaizala_id="g@1", name="Hub", state=Group.State.ACTIVE,
                                 group_type=Group.Type.CONNECT_GROUP)
    rows = group.members if kind == "member" else group.subscribers
    row = rows.create(mobile_number="+919800000002", state="added")
    url = reverse(f"groups:{kind}_remove", args=[group.pk, row.pk])
    client = client_for(Role.OPERATOR)
    for response in (client.get(url), client.post(url)):  # a GET, and a POST without the confirmation
        page = response.content.decode()
        assert response.status_code == 200 and 'name="confirmed" value="1"' in page
        assert "+919800000002" in page and "Hub" in page and "Kaizala removes +919800000002" in page
        assert rows.get(pk=row.pk).state == "added"
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        response = client.post(url, {"confirmed": "1"})
    assert response.status_code == 302 and rows.get(pk=row.pk).state == "removing" and len(enqueued) == 1


@pytest.mark.parametrize("value", ["abc", "", "99999999", "1.5"])
def test_a_sync_of_a_bad_phone_user_is_a_message_not_a_500(client_for, phone_user, value):
    """Issue 13.3."""
    from groups.models import GroupSync

    response = client_for(Role.OPERATOR).post(reverse("groups:sync"), {"phone_user": value}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Choose the phone user" in page or "That phone user does not exist" in page
    assert not GroupSync.objects.exists()


def test_bad_list_filters_are_dropped_with_a_note(client_for, phone_user):
    """Issue 13.3: the list's filters go through one validated layer."""
    Group.objects.create(phone_user=phone_user, kaizala_id="g@1", name="Team", state=Group.State.ACTIVE)
    response = client_for(Role.VIEWER).get(reverse("groups:list"), {"phone_user": "abc", "type": "Nope", "q": "tea"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "The phone user filter “abc” is not valid and was ignored." in page
    assert "The type filter “Nope” is not valid and was ignored." in page
    assert [g.name for g in response.context["page"]] == ["Team"]
