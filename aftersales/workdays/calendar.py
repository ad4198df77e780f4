"""The Chinese working-day calendar (R2.4).

Source of truth, in order: the admin's overrides (a published year's holidays and make-up
working days, 调休), then the `chinese-calendar` package, then — for a year neither knows —
weekends only, with a loud warning. Never an exception: a missing year must not stop
refunds. It knows nothing of cases, policies or clocks; the policy and the SLA app use it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
_warned_years: set[int] = set()


def package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@dataclass(frozen=True)
class WorkCalendar:
    """Working days with overrides. `override_years` are years an admin supplied in full."""

    overrides: dict[date, bool] = field(default_factory=dict)
    override_years: frozenset[int] = frozenset()

    def has_data(self, year: int) -> bool:
        return year in self.override_years or package_knows(year)

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year not in self.override_years:
            try:
                return bool(chinese_calendar.is_workday(day))
            except NotImplementedError:
                _warn_missing_year(day.year)
        return day.weekday() < 5

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The end (24:00, Shanghai time) of the `days`-th working day after `start`'s date.

        Day one is the first working day after the day the clock starts, so a clock started
        late on Friday evening does not lose a day.
        """
        if days < 1:
            raise ValueError("days must be at least 1")
        day = start.astimezone(SHANGHAI).date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)

    def warnings(self, years: list[int]) -> list[str]:
        return [
            f"No holiday data for {y}: counting weekends only. Import the {y} schedule."
            for y in years
            if not self.has_data(y)
        ]


def _warn_missing_year(year: int) -> None:
    if year not in _warned_years:
        _warned_years.add(year)
        logger.warning(
            "no Chinese holiday data for %s: counting weekends only until an admin imports "
            "the year's schedule (holidays and make-up working days)",
            year,
        )


_cache: tuple[float, WorkCalendar] | None = None
CACHE_SECONDS = 60


def get_calendar() -> WorkCalendar:
    """The calendar with the admin's overrides, re-read at most once a minute."""
    global _cache
    now = time.monotonic()
    if _cache is not None and now - _cache[0] < CACHE_SECONDS:
        return _cache[1]
    from .models import CalendarYear, HolidayOverride

    calendar = WorkCalendar(
        overrides=dict(HolidayOverride.objects.values_list("date", "is_working_day")),
        override_years=frozenset(CalendarYear.objects.values_list("year", flat=True)),
    )
    _cache = (now, calendar)
    return calendar


def forget_calendar() -> None:
    """Drop the cached calendar (after an admin edit or an import)."""
    global _cache
    _cache = None
