"""Logins, logouts, failed logins and lockouts, from Django's and django-axes's signals (they happen in the
auth machinery, not in a service of ours)."""

from axes.helpers import get_client_ip_address
from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.actor import Actor
from audit.models import AuditRecord
from audit.services import audit_record


def _address(request) -> str | None:
    return (get_client_ip_address(request) or None) if request is not None else None


@receiver(user_logged_in, dispatch_uid="audit.login")
def logged_in(sender, request, user, **kwargs):
    audit_record(actor=Actor(user=user, address=_address(request)), kind=AuditRecord.Kind.LOGIN,
                 obj=user, summary=f"{user.get_username()} logged in")


@receiver(user_logged_out, dispatch_uid="audit.logout")
def logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(actor=Actor(user=user, address=_address(request)), kind=AuditRecord.Kind.LOGOUT,
                     obj=user, summary=f"{user.get_username()} logged out")


@receiver(user_login_failed, dispatch_uid="audit.login_failed")
def login_failed(sender, credentials, request=None, **kwargs):
    # Only the username: the credentials also hold the password (Django masks it, but it is never needed).
    username = str(credentials.get("username", ""))[:150]
    audit_record(actor=Actor(address=_address(request)), kind=AuditRecord.Kind.LOGIN_FAILED,
                 object_type="user", summary=f"Failed login as {username}")


@receiver(user_locked_out, dispatch_uid="audit.lockout")
def locked_out(sender, request, username=None, ip_address=None, **kwargs):
    audit_record(actor=Actor(address=ip_address or _address(request)), kind=AuditRecord.Kind.LOCKOUT,
                 object_type="user", summary=f"{username or 'A username'} locked out after too many failed logins")
