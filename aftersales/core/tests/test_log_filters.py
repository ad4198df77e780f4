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


# --- One line per refusal, local time with its zone (issue 14) ---------------------------------


def test_a_refused_request_is_one_warning_line_without_its_traceback(client, alice):
    """An agent opening a page of supervisors: Django logs the 403 with the exception that
    refused it; the console shows one line."""
    console = next(
        h for h in logging.getLogger("django").handlers if type(h) is logging.StreamHandler
    )
    client.force_login(alice)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.filters = list(console.filters)  # what the console lets through, and how
    handler.emit = records.append  # type: ignore[method-assign]
    request_logger = logging.getLogger("django.request")
    request_logger.addHandler(handler)
    try:
        assert client.get("/team/staff/").status_code == 403
        assert client.get("/cases/999999/").status_code == 404
    finally:
        request_logger.removeHandler(handler)
    assert [r.levelname for r in records] == ["WARNING", "WARNING"]
    assert all(r.exc_info is None for r in records)


def test_a_server_error_keeps_its_traceback():
    from aftersales.core.log_filters import NoClientErrorTracebacks

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "x", (), None)
        record.exc_info = sys.exc_info()
    record.status_code = 500
    assert NoClientErrorTracebacks().filter(record) and record.exc_info is not None
    forbidden = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "x", (), None)
    forbidden.exc_info = record.exc_info
    forbidden.status_code = 403
    assert NoClientErrorTracebacks().filter(forbidden) and forbidden.exc_info is None


def test_times_are_local_with_the_zone_whatever_the_process_zone(monkeypatch):
    import time

    from django.conf import settings

    from aftersales.core.log_filters import LocalTimeFormatter

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", (), None)
        record.created = 1772413200.25  # 2026-03-02 01:00:00.250 UTC
        line = LocalTimeFormatter("%(asctime)s %(message)s", time_zone="Asia/Shanghai").format(
            record
        )
    finally:
        monkeypatch.undo()
        time.tzset()
    assert line == "2026-03-02T09:00:00.250+08:00 hello"
    formatter = next(
        h.formatter for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)
    )
    assert isinstance(formatter, LocalTimeFormatter)
    assert str(formatter.zone) == settings.TIME_ZONE


def test_django_logs_each_line_once():
    """Under DEBUG Django adds a console handler of its own to "django": every line twice."""
    from aftersales.core.log_filters import LocalTimeFormatter

    django_logger = logging.getLogger("django")
    assert django_logger.propagate is False
    ours = [h for h in django_logger.handlers if isinstance(h.formatter, LocalTimeFormatter)]
    others = [h for h in django_logger.handlers if type(h) is logging.StreamHandler]
    assert len(ours) == 1 and others == ours  # pytest's own capture handlers aside
