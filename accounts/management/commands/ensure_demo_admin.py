"""Create the demo admin on first run and print its generated password once; --reset-password gives it a
new one (printed the same way) when the first was lost."""

from django.core.management.base import BaseCommand

from accounts.services import demo_admin_ensure


class Command(BaseCommand):
    help = (
        "Create the console's demo admin (username 'admin') if it does not exist, printing its password once. "
        "With --reset-password, set a new generated password for it and print that."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--reset-password", action="store_true",
                            help="give the admin a new generated password (it is printed once)")

    def handle(self, *args, username, reset_password, **options):
        created, password = demo_admin_ensure(username=username, reset_password=reset_password)
        if password is None:
            self.stdout.write(
                f"Admin user '{username}' exists (its password was printed when it was created; for a new one: "
                f"python manage.py ensure_demo_admin --reset-password)."
            )
            return
        what = "Created admin user" if created else "Reset admin user"
        self.stdout.write(self.style.SUCCESS(f"{what} '{username}' with password: {password}"))
        self.stdout.write("This password is shown only once.")
