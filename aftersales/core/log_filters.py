"""Filters for the console log (settings.LOGGING)."""

from __future__ import annotations

import logging

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
