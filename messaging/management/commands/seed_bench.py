"""Seed a benchmark database fast (bulk inserts): connectors, phone users, groups, messages, call log.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kaizala_bench manage.py seed_bench [--reset]

Defaults are the page benchmark's scale (bench/bench_pages.py): 50 connectors, 500 phone users,
10,000 groups, 200,000 messages, 500,000 API call rows, 20 schedules, and an admin `bench-admin`.
Nothing here calls Kaizala: the rows only look like a console that has run for a while.
`--reset` empties those tables first, and is refused unless the database's name contains "bench".
"""

import random
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group as RoleGroup
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.roles import Role
from connectors.models import ApiCall, Connector, PhoneUser
from groups.models import Group
from messaging.models import Attempt, Message, Schedule

BATCH = 5000
STATUS_WEIGHTS = [  # roughly what a console that has run for a while holds
    (Message.Status.SENT, 930), (Message.Status.SCHEDULED, 40), (Message.Status.FAILED, 12),
    (Message.Status.UNCONFIRMED, 5), (Message.Status.CANCELLED, 8), (Message.Status.RETRYING, 5),
]


class Command(BaseCommand):
    help = "Seed a benchmark database with bulk inserts (see bench/README.md)."

    def add_arguments(self, parser):
        parser.add_argument("--connectors", type=int, default=50)
        parser.add_argument("--phone-users", type=int, default=500)
        parser.add_argument("--groups", type=int, default=10_000)
        parser.add_argument("--messages", type=int, default=200_000)
        parser.add_argument("--api-calls", type=int, default=500_000)
        parser.add_argument("--schedules", type=int, default=20)
        parser.add_argument("--reset", action="store_true", help="empty the seeded tables first (bench databases only)")
        parser.add_argument("--seed", type=int, default=8)

    def handle(self, *args, **opts):
        name = str(settings.DATABASES["default"]["NAME"])
        if opts["reset"]:
            if "bench" not in name:
                raise CommandError(f"--reset empties tables; refused on database {name!r} (its name lacks 'bench')")
            for model in (Attempt, Message, Schedule, ApiCall, Group, PhoneUser, Connector):
                model.objects.all().delete()
        rng = random.Random(opts["seed"])
        started = time.perf_counter()
        now = timezone.now()
        with transaction.atomic():
            admin = self._admin()
            connectors = Connector.objects.bulk_create([
                Connector(name=f"Seed connector {i:03d}", application_id=f"seed-app-{uuid.uuid4()}",
                          application_secret=f"seed-secret-{i}", status=Connector.Status.VERIFIED,
                          permissions=["textmessage", "groupinfo", "groupmember"])
                for i in range(opts["connectors"])
            ])
            states = [PhoneUser.State.ACTIVE] * 18 + [PhoneUser.State.REAUTH_REQUIRED, PhoneUser.State.LOGIN_FAILED]
            users = PhoneUser.objects.bulk_create([
                PhoneUser(connector=connectors[i % len(connectors)], mobile_number=f"+9180{i:08d}",
                          state=states[i % len(states)], refresh_token=f"rt-seed-{i}", access_token=f"at-seed-{i}",
                          access_token_expires_at=now + timedelta(hours=rng.randint(1, 23)),
                          refresh_token_expires_at=now + timedelta(days=rng.randint(10, 365)),
                          endpoint_url="http://127.0.0.1:8700/kms/")
                for i in range(opts["phone_users"])
            ], batch_size=BATCH)
            groups = Group.objects.bulk_create([
                Group(phone_user=users[i % len(users)], kaizala_id=f"{uuid.uuid4()}@1", name=f"Seed group {i:05d}",
                      state=Group.State.ACTIVE, member_count=rng.randint(2, 90), last_synced_at=now)
                for i in range(opts["groups"])
            ], batch_size=BATCH)
            schedules = Schedule.objects.bulk_create([
                Schedule(text=f"Seed schedule {i}", frequency=Schedule.Frequency.DAILY, local_time="09:00",
                         time_zone="Asia/Kolkata", start_date=now.date(), next_fire_at=now + timedelta(hours=i + 1),
                         created_by=admin)
                for i in range(opts["schedules"])
            ])
            for schedule in schedules:
                schedule.groups.set(rng.sample(groups, 5))
        self.stdout.write(f"connectors, phone users, groups, schedules: {time.perf_counter() - started:.1f} s")

        statuses = [s for s, w in STATUS_WEIGHTS for _ in range(w)]
        self._bulk(Message, opts["messages"], lambda i: self._message(i, groups, statuses, rng, now, admin))
        self.stdout.write(f"messages: {time.perf_counter() - started:.1f} s")
        urls = ["v1/groups/{g}/messages", "v1/groups", "v1/groups/{g}/members", "v1/accessToken"]
        codes = [200] * 95 + [401, 429, 429, 500, 503]

        def call(i):
            user = users[i % len(users)]
            return ApiCall(connector_id=user.connector_id, phone_user=user, method="POST" if i % 3 else "GET",
                           url="http://127.0.0.1:8700/kms/" + rng.choice(urls).format(g=f"{i % 9973}@1"),
                           status=rng.choice(codes), duration_ms=rng.randint(2, 400),
                           request_body='{"message": "seeded"}', response_body='{"referenceId": "r"}',
                           created_at=now - timedelta(seconds=i * 5))

        self._bulk(ApiCall, opts["api_calls"], call)
        self.stdout.write(self.style.SUCCESS(f"seeded in {time.perf_counter() - started:.1f} s"))

    def _bulk(self, model, total, make):
        for start in range(0, total, BATCH):
            with transaction.atomic():
                model.objects.bulk_create([make(i) for i in range(start, min(total, start + BATCH))])

    def _message(self, i, groups, statuses, rng, now, admin):
        status = statuses[i % len(statuses)]
        due = now + timedelta(minutes=rng.randint(1, 10_000)) if status == Message.Status.SCHEDULED \
            else now - timedelta(minutes=i % 100_000)
        return Message(group=groups[i % len(groups)], text=f"Seeded message {i}", broadcast_id=uuid.uuid4(),
                       status=status, due_at=due, scheduled_for=due, status_changed_at=due,
                       sent_at=due + timedelta(seconds=1) if status == Message.Status.SENT else None,
                       reference_id=f"ref-{i}" if status == Message.Status.SENT else "",
                       last_error="Seeded failure" if status == Message.Status.FAILED else "", created_by=admin)

    def _admin(self):
        user, created = get_user_model().objects.get_or_create(
            username="bench-admin", defaults={"is_staff": True, "is_superuser": True})
        if created:
            user.set_password(uuid.uuid4().hex)
            user.save()
        user.groups.add(RoleGroup.objects.get(name=Role.ADMIN.group_name))
        return user
