"""The console log drops the task worker's per-task lines, never its failures or ours."""

from __future__ import annotations

import logging

import pytest

from aftersales.core.log_filters import TaskLinesFilter


def passes(log_filter: TaskLinesFilter, name: str, level: int) -> bool:
    record = logging.LogRecord(name, level, __file__, 1, "Task id=%s", ("x",), None)
    return log_filter.filter(record)


def test_the_workers_info_lines_are_dropped_and_its_failures_kept():
    quiet = TaskLinesFilter()
    assert not passes(quiet, "django_tasks", logging.INFO)
    assert not passes(quiet, "django.tasks", logging.INFO)  # its name inside Django 6
    assert passes(quiet, "django_tasks", logging.ERROR)  # a failed task
    assert passes(quiet, "aftersales.platforms.douyin.client", logging.INFO)
    assert passes(quiet, "django_tasks_db", logging.INFO)  # the worker's own start and stop


def test_the_level_comes_from_the_setting_and_a_wrong_one_is_refused():
    assert passes(TaskLinesFilter("info"), "django_tasks", logging.INFO)
    with pytest.raises(ValueError, match="AFTERSALES_TASKS_LOG_LEVEL"):
        TaskLinesFilter("loud")


def test_the_settings_put_the_filter_on_the_console():
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler))
    assert any(isinstance(f, TaskLinesFilter) for f in handler.filters)
