"""Logs are for people: the periodic jobs' routine lines go to debug."""

import logging
from collections.abc import Iterable

BEAT_SENDING = "Scheduler: Sending due task"


class RoutineTasks(logging.Filter):
    """Celery's own info lines about periodic jobs ("Sending due task", "Task …
    received", "Task … succeeded") become debug lines: beat runs some every few
    seconds and they would bury everything else. The jobs log at info themselves
    when they did something; other tasks (an email sent) keep their lines.
    """

    def __init__(self, tasks: Iterable[str] = ()) -> None:
        super().__init__()
        self.tasks = frozenset(tasks)

    def is_routine(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return False
        if isinstance(record.msg, str) and record.msg.startswith(BEAT_SENDING):
            return True
        context = record.args
        return isinstance(context, dict) and context.get("name") in self.tasks

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.is_routine(record):
            return True
        record.levelno = logging.DEBUG
        record.levelname = logging.getLevelName(logging.DEBUG)
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def log_result(logger: logging.Logger, message: str, count: int) -> None:
    """A periodic job's outcome: info when it did something, debug when not."""
    logger.log(logging.INFO if count else logging.DEBUG, message, count)
