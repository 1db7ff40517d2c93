"""Log lines: a request id and a task id on every record, JSON lines when LOG_FORMAT=json, and the
periodic housekeeping ticks (the dispatcher twice a second) and the send tasks moved down to DEBUG.

The request id comes from the request's X-Request-ID when it is a plain token (a proxy's), else it is
made here; it is sent back in the answer and passed on to the tasks the request enqueues.
"""

import contextvars
import json
import logging
import re
import uuid
from datetime import UTC, datetime

from celery import signals
from django.core.signals import request_finished
from django.dispatch import receiver

current_request_id = contextvars.ContextVar("request_id", default="")
current_task_id = contextvars.ContextVar("task_id", default="")

_GIVEN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
HEADER = "X-Request-ID"
# Tasks that run every few seconds: their "received", "succeeded" and "sending due task" lines say nothing
# a person needs at INFO (they were three quarters of the quick start's output).
# The send tasks too: two lines per task, which is per message with SEND_TASK_CHUNK=1, while each send's
# outcome is in its message and attempt rows and each call in the call log.
QUIET_TASKS = ("messaging.tasks.dispatch", "messaging.tasks.sweep", "groups.tasks.sweep", "connectors.tasks.sweep",
              "messaging.tasks.send_messages[", "messaging.tasks.send_message[")


def request_ids(get_response):
    """Middleware: the request's id, for its log lines, its answer's X-Request-ID and its tasks."""

    def middleware(request):
        given = request.headers.get(HEADER, "")
        current_request_id.set(given if _GIVEN_ID.fullmatch(given) else uuid.uuid4().hex)
        response = get_response(request)
        response[HEADER] = current_request_id.get()
        return response

    return middleware


@receiver(request_finished)
def _request_done(**kwargs):
    # Cleared when the answer is closed, not when the middleware returns: Django logs a 4xx or 5xx after
    # every middleware has run, and that line must carry the id too.
    current_request_id.set("")


class ContextIds(logging.Filter):
    """Put the current request id and task id on every record (empty outside a request or a task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        record.task_id = current_task_id.get()
        return True


class QuietTicks(logging.Filter):
    """Celery's INFO lines about a tick task become DEBUG: shown only when the root logs DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not record.name.startswith("celery"):
            return True
        message = record.getMessage()
        if not any(name in message for name in QUIET_TASKS):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the ids when set, and the
    traceback as one string."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "task_id"):
            if getattr(record, key, ""):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


# --- Celery: the task's id while it runs, the request's id carried in the task's headers -------------


@signals.before_task_publish.connect
def _pass_request_id_on(headers=None, **kwargs):
    if headers is not None and current_request_id.get():
        headers.setdefault("request_id", current_request_id.get())


_task_tokens: dict[str, tuple] = {}


@signals.task_prerun.connect
def _task_started(task_id=None, task=None, **kwargs):
    given = getattr(task.request, "request_id", None) if task is not None else None
    _task_tokens[task_id] = (current_task_id.set(task_id or ""),
                             current_request_id.set(given) if isinstance(given, str) and given else None)


@signals.task_postrun.connect
def _task_finished(task_id=None, **kwargs):
    tokens = _task_tokens.pop(task_id, None)
    if tokens:
        current_task_id.reset(tokens[0])
        if tokens[1] is not None:
            current_request_id.reset(tokens[1])


@signals.after_setup_logger.connect
def _filters_on_celery_handlers(logger=None, **kwargs):
    """A Celery process may add handlers of its own to the root: they get the same filters."""
    for handler in (logger or logging.getLogger()).handlers:
        for wanted in (ContextIds, QuietTicks):
            if not any(isinstance(f, wanted) for f in handler.filters):
                handler.addFilter(wanted())
