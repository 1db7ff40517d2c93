"""The audit trail: records written with the change (who, when, from where, what, before → after), the
sign-in events, the Admin page with its filters, keyset paging and CSV export, each object's history,
and retention."""

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.actor import SYSTEM, Actor
from audit.models import AuditRecord, Kind
from audit.selectors import PAGE_SIZE
from audit.services import audit_record, audit_trim
from connectors.models import Connector, PhoneUser
from groups.models import Group
from messaging.models import Message
from tests.fixtures.users import PASSWORD
from tests.form_token import form_token

pytestmark = pytest.mark.django_db
ADDRESS = "198.51.100.7"


@pytest.fixture
def group(db):
    connector = Connector.objects.create(name="c", application_id="a", application_secret="s")
    phone_user = PhoneUser.objects.create(connector=connector, mobile_number="+919812345678",
                                          state=PhoneUser.State.ACTIVE)
    return Group.objects.create(phone_user=phone_user, kaizala_id="g@1", name="Ops", state=Group.State.ACTIVE)


def compose(client, group, **fields):
    url = reverse("messaging:compose")
    data = {"groups": [group.pk], "when": "once", "text": "Standup at nine",
            "send_at": timezone.localtime(timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"), **fields}
    return client.post(url, data | form_token(client, url), REMOTE_ADDR=ADDRESS)


def test_a_composed_message_is_recorded_with_who_where_and_what(client_for, group):
    client = client_for(Role.OPERATOR)
    compose(client, group)
    message = Message.objects.get()
    record = AuditRecord.objects.get(kind=Kind.MESSAGE_COMPOSED)
    assert (record.actor_name, record.user.username, record.address) == ("user-operator", "user-operator", ADDRESS)
    assert (record.object_type, record.object_id) == ("message", str(message.pk))
    assert "“Ops”" in record.summary and "composed for" in record.summary


def test_an_edit_records_before_and_after(client_for, group):
    client = client_for(Role.OPERATOR)
    compose(client, group)
    message = Message.objects.get()
    later = timezone.localtime(timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    client.post(reverse("messaging:edit", args=[message.pk]), {"text": "Standup at ten", "send_at": later})
    record = AuditRecord.objects.get(kind=Kind.MESSAGE_EDITED)
    assert record.changes["text"] == ["Standup at nine", "Standup at ten"]
    assert "send at" in record.changes


def test_a_refused_action_records_nothing(client_for, group):
    client = client_for(Role.OPERATOR)
    compose(client, group)
    message = Message.objects.get()
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENT)
    client.post(reverse("messaging:action", args=[message.pk, "cancel"]))
    assert not AuditRecord.objects.filter(kind=Kind.MESSAGE_CANCELLED).exists()


def test_login_logout_failed_login_and_lockout_are_recorded(make_user, settings):
    make_user("alice", Role.OPERATOR)
    client = Client(REMOTE_ADDR=ADDRESS)
    client.post("/login/", {"username": "alice", "password": PASSWORD})
    client.post("/logout/")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "alice", "password": "wrong-wrong-wrong"})
    kinds = list(AuditRecord.objects.order_by("id").values_list("kind", flat=True))
    assert kinds[:2] == [Kind.LOGIN, Kind.LOGOUT]
    assert kinds.count(Kind.LOGIN_FAILED) == settings.AXES_FAILURE_LIMIT
    assert Kind.LOCKOUT in kinds
    failed = AuditRecord.objects.filter(kind=Kind.LOGIN_FAILED).first()
    assert failed.summary == "Failed login as alice" and failed.address == ADDRESS
    assert "wrong-wrong-wrong" not in repr(list(AuditRecord.objects.values()))


def test_the_page_filters_by_person_kind_object_and_text(client_for, make_user, group):
    admin = client_for(Role.ADMIN)
    bob = make_user("bob", Role.OPERATOR)
    audit_record(actor=Actor(user=bob), kind=Kind.GROUP_CHANGED, obj=group, summary="bob changed Ops")
    audit_record(actor=SYSTEM, kind=Kind.MESSAGE_CANCELLED, object_type="message", object_id="9",
                 summary="system cancelled 9")
    assert "bob changed Ops" in admin.get(f"/audit/?person={bob.pk}").content.decode()
    assert "system cancelled 9" not in admin.get(f"/audit/?person={bob.pk}").content.decode()
    assert "system cancelled 9" in admin.get("/audit/?kind=message_cancelled").content.decode()
    by_object = admin.get(f"/audit/?object_type=group&object_id={group.pk}").content.decode()
    assert "bob changed Ops" in by_object and "system cancelled 9" not in by_object
    assert "bob changed Ops" in admin.get("/audit/?q=CHANGED+ops").content.decode()
    bad = admin.get("/audit/?kind=nonsense&since=yesterday")
    assert bad.status_code == 200 and "is not valid and was ignored" in bad.content.decode()


def test_keyset_paging_walks_every_record_once(client_for):
    admin = client_for(Role.ADMIN)
    for n in range(PAGE_SIZE + 7):
        audit_record(actor=SYSTEM, kind=Kind.GROUP_CHANGED, object_type="group", object_id=str(n),
                     summary=f"record number {n:03d}.")
    seen, url = [], "/audit/?kind=group_changed"
    while url:
        page = admin.get(url).content.decode()
        seen += [int(chunk[:3]) for chunk in page.split("record number ")[1:]]
        older = page.split('href="?')
        url = next(("/audit/?" + part.split('"')[0].replace("&amp;", "&") for part in older[1:]
                    if "after=" in part.split('"')[0]), None)
    assert sorted(seen) == list(range(PAGE_SIZE + 7)) and len(seen) == len(set(seen))
    assert "not valid" in admin.get("/audit/?after=garbage").content.decode()


def test_the_csv_export_is_filtered_and_formula_safe(client_for):
    admin = client_for(Role.ADMIN)
    audit_record(actor=SYSTEM, kind=Kind.GROUP_CHANGED, object_type="group", object_id="1",
                 summary='=HYPERLINK("http://evil.example","x")', changes={"name": ("+old", "@new")})
    audit_record(actor=SYSTEM, kind=Kind.LOGIN, object_type="user", object_id="1", summary="someone logged in")
    response = admin.get("/audit/export.csv?kind=group_changed")
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "when (UTC)" and len(rows) == 2
    assert rows[1][7] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert rows[1][8] == "name: +old → @new"


def test_each_message_group_and_connector_page_shows_its_history(client_for, group):
    admin = client_for(Role.ADMIN)
    compose(admin, group)
    message = Message.objects.get()
    audit_record(actor=SYSTEM, kind=Kind.CONNECTOR_EDITED, obj=group.phone_user.connector, summary="connector touched")
    audit_record(actor=SYSTEM, kind=Kind.GROUP_CHANGED, obj=group, summary="group touched")
    assert "composed for" in admin.get(reverse("messaging:detail", args=[message.pk])).content.decode()
    assert "group touched" in admin.get(reverse("groups:detail", args=[group.pk])).content.decode()
    connector_page = admin.get(reverse("connectors:detail", args=[group.phone_user.connector.pk])).content.decode()
    assert "connector touched" in connector_page and "group touched" not in connector_page


def test_retention_trims_only_old_records(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    old = audit_record(actor=SYSTEM, kind=Kind.LOGIN, summary="old")
    AuditRecord.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=31))
    audit_record(actor=SYSTEM, kind=Kind.LOGIN, summary="new")
    assert audit_trim() == 1
    assert list(AuditRecord.objects.values_list("summary", flat=True)) == ["new"]


def test_user_changes_are_recorded_with_the_role_before_and_after(client_for, make_user):
    admin = client_for(Role.ADMIN)
    someone = make_user("someone", Role.VIEWER)
    admin.post(f"/users/{someone.pk}/role/", {"role": Role.OPERATOR.value})
    record = AuditRecord.objects.get(kind=Kind.USER_CHANGED)
    assert record.changes == {"role": ["Viewer", "Operator"]} and record.actor_name == "user-admin"


def test_created_by_is_shown_and_filtered(client_for, make_user, group):
    operator = client_for(Role.OPERATOR)
    compose(operator, group)
    message = Message.objects.get()
    other = make_user("other", Role.OPERATOR)
    Group.objects.filter(pk=group.pk).update(created_by=other)
    assert "created by <bdi>user-operator</bdi>" in operator.get(
        reverse("messaging:detail", args=[message.pk])).content.decode()
    mine = operator.get(f"{reverse('messaging:list')}?created_by={message.created_by_id}").content.decode()
    assert "Standup at nine" in mine
    assert "Standup at nine" not in operator.get(f"{reverse('messaging:list')}?created_by={other.pk}").content.decode()
    assert "<bdi>other</bdi>" in operator.get(reverse("groups:detail", args=[group.pk])).content.decode()
    assert "Ops" in operator.get(f"{reverse('groups:list')}?created_by={other.pk}").content.decode()
    assert "Ops" not in operator.get(f"{reverse('groups:list')}?created_by={message.created_by_id}").content.decode()


def test_a_group_made_in_the_console_records_its_creator(make_user, group):
    from groups import services as group_services

    alice = make_user("alice", Role.OPERATOR)
    made = group_services.group_create(actor=Actor(user=alice), phone_user=group.phone_user, name="New",
                                       welcome_message="Hi")
    assert made.created_by == alice
    assert AuditRecord.objects.get(kind=Kind.GROUP_CREATED).object_id == str(made.pk)
