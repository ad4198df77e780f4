"""Report periods: whole Shanghai days, and the period just before for comparison (R8.1).

A day is a day in Asia/Shanghai (UTC+8 all year, no daylight saving), whatever the server's
or the browser's clock: an order paid at 23:30 on 1 May in Shanghai (15:30 UTC) is a 1 May
order. A period is the half-open interval [start, end) of aware datetimes at Shanghai
midnights; "today" and "the last 7 days" include today, up to the coming midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.core.errors import InvalidInput
from aftersales.workdays.calendar import SHANGHAI

# The periods a report offers, by key: the number of days ending today.
PRESETS: dict[str, int] = {"today": 1, "7d": 7, "30d": 30, "90d": 90}
PRESET_CHOICES = [
    ("today", _("Today")),
    ("7d", _("Last 7 days")),
    ("30d", _("Last 30 days")),
    ("90d", _("Last 90 days")),
    ("custom", _("Custom range")),
]
# A custom range is at most this long: a report over years is an export, not a screen.
MAX_DAYS = 400


def shanghai_today(now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(SHANGHAI).date()


def shanghai_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


@dataclass(frozen=True)
class Period:
    """The Shanghai days `first` to `last`, both included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("a period ends on or after its first day")

    @property
    def start(self) -> datetime:
        return shanghai_midnight(self.first)

    @property
    def end(self) -> datetime:
        """The midnight after the last day (exclusive)."""
        return shanghai_midnight(self.last + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        last = self.first - timedelta(days=1)
        return Period(last - timedelta(days=self.days - 1), last)

    def each_day(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(self.days)]


def preset_period(key: str, *, today: date | None = None) -> Period:
    """The `PRESETS` period ending today (Shanghai)."""
    today = today or shanghai_today()
    return Period(today - timedelta(days=PRESETS[key] - 1), today)


def custom_period(first: date | None, last: date | None) -> Period:
    """A range a person chose, or InvalidInput saying what is wrong with it."""
    if first is None or last is None:
        raise InvalidInput(_("A custom range needs its first and last day."))
    if last < first:
        raise InvalidInput(_("The range ends before it starts."))
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(_("A range is at most %(days)d days."), days=MAX_DAYS)
    return Period(first, last)
