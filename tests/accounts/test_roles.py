import pytest
from django.contrib.auth.models import Group
from django.http import HttpResponse
from django.urls import path

from accounts.roles import Role, has_role, role_required, user_role

pytestmark = pytest.mark.django_db


@role_required(Role.ADMIN)
def admin_only(request):
    return HttpResponse("secret admin page")


@role_required(Role.OPERATOR)
def operator_only(request):
    return HttpResponse("operator page")


urlpatterns = [path("admin-only/", admin_only), path("operator-only/", operator_only)]


def test_the_three_roles_exist_as_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= {"Admin", "Operator", "Viewer"}


def test_roles_are_ordered(make_user):
    operator = make_user("op", Role.OPERATOR)
    assert user_role(operator) == Role.OPERATOR
    assert has_role(operator, Role.VIEWER)
    assert not has_role(operator, Role.ADMIN)
    assert user_role(make_user("none", None)) is None


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("role", "url", "status"),
    [
        (Role.VIEWER, "/admin-only/", 403),
        (Role.OPERATOR, "/admin-only/", 403),
        (Role.ADMIN, "/admin-only/", 200),
        (Role.VIEWER, "/operator-only/", 403),
        (Role.OPERATOR, "/operator-only/", 200),
        (None, "/operator-only/", 403),
    ],
)
def test_a_role_cannot_reach_a_higher_page_by_url(client_for, role, url, status):
    client = client_for(role)
    assert client.get(url).status_code == status
    assert client.post(url).status_code == status


def test_a_viewer_cannot_open_the_django_admin(client_for):
    client = client_for(Role.VIEWER)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
