"""The Celery app: settings come from Django settings (CELERY_*), tasks are autodiscovered."""

import logging
import os
import threading
import time

from celery import Celery, signals

from kaizala_console import logs  # noqa: F401 - connects the log ids' Celery signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaizala_console.settings")

app = Celery("kaizala_console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The beat's tick, recorded by the beat process itself as it publishes (so a stopped worker does not hide
# a running beat): at most once per interval, as the dispatcher is published twice a second.
_BEAT_TICK_INTERVAL = 5.0
_last_beat_tick = None


@signals.beat_init.connect
def _record_beat_ticks(**kwargs):
    signals.before_task_publish.connect(_beat_published, weak=False)
    # The workers' liveness, pinged from here (one beat, so one pinger): a ping is answered beside the
    # queue, so a backlog of sends does not look like a dead worker, as a heartbeat task would.
    from kaizala_console import health

    threading.Thread(target=health.workers_watch, name="workers-watch", daemon=True).start()


def _beat_published(**kwargs):
    global _last_beat_tick
    now = time.monotonic()
    if _last_beat_tick is not None and now - _last_beat_tick < _BEAT_TICK_INTERVAL:
        return
    _last_beat_tick = now
    from kaizala_console import health

    try:
        health.heartbeat_record(name=health.BEAT)
    except Exception:  # the beat keeps publishing; readiness reports the stale tick
        _last_beat_tick = None
        logging.getLogger(__name__).warning("could not record the beat's tick", exc_info=True)
