"""The console log's filters and formatter (settings.LOGGING): one line per event, in the
installation's local time with its zone."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

TASK_LOGGERS = ("django_tasks", "django.tasks")


class TaskLinesFilter(logging.Filter):
    """Drop the task worker's lines below `level`.

    `db_worker` logs two INFO lines for every task it runs, and sets its logger's level
    itself (from `--verbosity`), so a logger level in settings does not hold; a filter on the
    handler does. A failed task is logged as an error and passes at the default level.
    """

    def __init__(self, level: str = "WARNING") -> None:
        super().__init__()
        names = logging.getLevelNamesMapping()
        if level.upper() not in names:
            raise ValueError(f"AFTERSALES_TASKS_LOG_LEVEL: not a log level: {level!r}")
        self.level = names[level.upper()]

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        is_task_line = name in TASK_LOGGERS or name.startswith(tuple(f"{n}." for n in TASK_LOGGERS))
        return record.levelno >= self.level or not is_task_line


class NoClientErrorTracebacks(logging.Filter):
    """A request refused with a 4xx (a 403, a 404, a bad form) is logged by Django with the
    exception that refused it; it is the client's matter, not a failure of ours: one line,
    no traceback. A 5xx keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if record.exc_info and isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True


class LocalTimeFormatter(logging.Formatter):
    """Each line's time in the installation's zone, with the zone, to the millisecond:
    `2026-03-02T09:00:00.123+08:00`. Whatever zone a process runs in (Django sets the
    process's own; a worker or a container may not), every line of every process reads alike.
    """

    def __init__(self, *args: Any, time_zone: str = "Asia/Shanghai", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = ZoneInfo(time_zone)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        moment = datetime.fromtimestamp(record.created, self.zone)
        return moment.strftime(datefmt) if datefmt else moment.isoformat(timespec="milliseconds")
