"""Logging filters that keep the log for what a person needs to read: a 4xx is an answer to
the client, not a problem of the server, and the worker's heartbeat is not news."""

import logging

from loyalty_platform.core.clients import is_machine_path

HEARTBEAT_TASK = "loyalty_platform.core.tasks.heartbeat"
# Tasks whose received and succeeded lines are not news either: the webhook run queued after
# nearly every change while an endpoint listens (its failures and disabled endpoints still log).
QUIET_TASKS = (HEARTBEAT_TASK, "loyalty_platform.webhooks.tasks.send_webhooks")


class ClientErrorsQuiet(logging.Filter):
    """On django.request and django.security.*: Django logs every 4xx as a WARNING, a 403
    with the traceback of its PermissionDenied. A page's 4xx becomes one INFO line without
    traceback; a program's (POS API, profile scripts) is dropped, since its error code went
    back in the body. 5xx pass unchanged (ERROR with traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is None:
            response = getattr(record, "response", None)
            status = getattr(response, "status_code", None)
        if status is None or not 400 <= status < 500:
            return True
        request = getattr(record, "request", None)
        if request is not None and is_machine_path(request):
            return False
        record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return logging.getLogger(record.name).isEnabledFor(logging.INFO)


class HeartbeatQuiet(logging.Filter):
    """On Celery's beat, worker and trace loggers: drops the three lines (sent, received,
    succeeded) of the heartbeat task every 30 s, and those of the other QUIET_TASKS. Their
    failures still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        args = record.args
        values = args.values() if isinstance(args, dict) else (args if isinstance(args, tuple) else ())
        return not any(value in QUIET_TASKS for value in values)
