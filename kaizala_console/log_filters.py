"""Logging filters for the console's LOGGING setting."""

import logging


class RefusalWithoutTraceback(logging.Filter):
    """A refusal (a 4xx answer: 403 for a role, 400 for bad input) is one warning line, not a traceback:
    Django logs the PermissionDenied it turned into the 403 with its traceback, which says nothing new."""

    def filter(self, record: logging.LogRecord) -> bool:
        if 400 <= getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
