"""`manage.py dispatcher`: the long-running dispatcher (messaging/dispatcher.py). Run one or more; one is
active, the others stand by. SIGTERM or SIGINT stops it cleanly and hands the lease to a standby at once."""

import signal

from django.core.management.base import BaseCommand

from messaging.dispatcher import Dispatcher


class Command(BaseCommand):
    help = "Run the dispatcher: claim due messages and fire due schedules as they fall due."

    def add_arguments(self, parser):
        parser.add_argument("--name", help="how this dispatcher names itself in the lease and the logs "
                                           "(default: host-pid)")

    def handle(self, *args, name=None, **options):
        dispatcher = Dispatcher(name=name)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: dispatcher.stopping.set())
        dispatcher.run()
