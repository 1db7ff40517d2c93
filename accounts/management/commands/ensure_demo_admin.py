"""Create the demo admin on first run and print its generated password once."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from accounts.roles import Role


class Command(BaseCommand):
    help = "Create the console's demo admin (username 'admin') if it does not exist, printing its password once."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(
                f"Admin user '{username}' exists (password printed when it was created; "
                f"reset it with: manage.py changepassword {username})."
            )
            return
        password = secrets.token_urlsafe(12)
        user = User.objects.create_user(username=username, password=password, is_staff=True, is_superuser=True)
        user.groups.add(Group.objects.get(name=Role.ADMIN.group_name))
        self.stdout.write(self.style.SUCCESS(f"Created admin user '{username}' with password: {password}"))
        self.stdout.write("This password is shown only once.")
