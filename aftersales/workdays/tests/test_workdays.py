"""R2.4: the Chinese working-day calendar — statutory holidays and make-up working days (调休),
admin overrides, imported years, and a year nobody knows (weekends only, a loud warning,
never an exception)."""

from __future__ import annotations

import io
import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from aftersales.workdays import calendar as workdays
from aftersales.workdays.calendar import WorkCalendar, forget_calendar, get_calendar
from aftersales.workdays.models import CalendarYear, HolidayOverride

SH = ZoneInfo("Asia/Shanghai")
PACKAGE = WorkCalendar()  # no overrides: the chinese-calendar package's official schedules


def days(start: str, end: str) -> list[date]:
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return [first + timedelta(n) for n in range((last - first).days + 1)]


def midnight(day: str) -> datetime:
    """24:00 of the day before = 00:00 of `day`, Shanghai time."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=SH)


@pytest.fixture
def fresh_calendar(monkeypatch):
    """No cached calendar and no memory of years already warned about, before and after."""
    monkeypatch.setattr(workdays, "_warned_years", set())
    forget_calendar()
    yield
    forget_calendar()


# --- the official schedules, as the package has them ------------------------------------------

SCHEDULES = [
    pytest.param(
        days("2025-01-28", "2025-02-04"),
        ["2025-01-26", "2025-02-08"],
        id="R2.4-2025-spring-festival",
    ),
    pytest.param(
        days("2025-10-01", "2025-10-08"), ["2025-09-28", "2025-10-11"], id="R2.4-2025-national-day"
    ),
    # 国办发明电〔2025〕7号: 春节 2月15日至23日放假调休，共9天；
    # 2月14日（周六）、2月28日（周六）上班。
    pytest.param(
        days("2026-02-15", "2026-02-23"),
        ["2026-02-14", "2026-02-28"],
        id="R2.4-2026-spring-festival",
    ),
    # 国庆节 10月1日至7日放假调休，共7天；9月20日（周日）、10月10日（周六）上班。
    pytest.param(
        days("2026-10-01", "2026-10-07"), ["2026-09-20", "2026-10-10"], id="R2.4-2026-national-day"
    ),
]


@pytest.mark.parametrize(("holidays", "makeup_days"), SCHEDULES)
def test_r2_4_holidays_and_makeup_working_days(holidays, makeup_days):
    for day in holidays:
        assert not PACKAGE.is_working_day(day), day
    weekdays_off = [d for d in holidays if d.weekday() < 5]
    assert weekdays_off, "a statutory holiday takes weekdays off"
    for text in makeup_days:
        day = date.fromisoformat(text)
        assert day.weekday() >= 5, "调休 falls on a weekend"
        assert PACKAGE.is_working_day(day), day
    # The ordinary days either side are what the week says.
    before, after = holidays[0] - timedelta(days=1), holidays[-1] + timedelta(days=1)
    for day in (before, after):
        if day.isoformat() not in makeup_days:
            assert PACKAGE.is_working_day(day) == (day.weekday() < 5), day


def test_r2_4_2026_national_day_ends_on_the_7th_and_mid_autumn_is_apart():
    assert PACKAGE.is_working_day(date(2026, 10, 8))  # Thursday after the 7-day holiday
    assert PACKAGE.is_working_day(date(2026, 10, 9))
    assert not PACKAGE.is_working_day(date(2026, 9, 25))  # 中秋节, Friday
    assert PACKAGE.has_data(2025) and PACKAGE.has_data(2026)
    assert PACKAGE.warnings([2025, 2026]) == []


# --- add_working_days ----------------------------------------------------------------------

SPANS = [
    # Monday before Spring Festival: 1-28..2-04 off; 2-05, 06, 07, 08 (Sat, 调休), 10, 11, 12.
    pytest.param("2025-01-27T15:00:00+08:00", 7, "2025-02-13", id="R2.4-7-days-across-2025-spring"),
    # The same moment given in UTC on the 26th is already the 27th in Shanghai.
    pytest.param(
        "2025-01-26T17:00:00+00:00", 7, "2025-02-13", id="R2.4-utc-start-is-shanghai-27th"
    ),
    # 16:00 UTC on the 26th is 00:00 on the 27th; 15:59 UTC is still Sunday the 26th (调休 day,
    # but the start day itself is not counted): 1-27 counts first, then 2-05 .. 2-11.
    pytest.param("2025-01-26T15:59:00+00:00", 7, "2025-02-12", id="R2.4-utc-start-still-26th"),
    # Friday evening before National Day 2025: 9-28 (Sun, 调休), 29, 30, 10-09, 10, 11 (Sat), 13.
    pytest.param(
        "2025-09-26T21:00:00+08:00", 7, "2025-10-14", id="R2.4-7-days-across-2025-national"
    ),
    pytest.param("2025-09-30T10:00:00+08:00", 1, "2025-10-10", id="R2.4-1-day-after-2025-national"),
    # Friday before Spring Festival 2026: 2-14 (Sat, 调休), 24, 25, 26, 27, 28 (Sat), 3-02.
    pytest.param("2026-02-13T09:00:00+08:00", 7, "2026-03-03", id="R2.4-7-days-across-2026-spring"),
    # 10-01..07 off: 10-08, 09, 10 (Sat, 调休), 12, 13, 14, 15.
    pytest.param(
        "2026-09-30T18:00:00+08:00", 7, "2026-10-16", id="R2.4-7-days-across-2026-national"
    ),
    pytest.param("2025-03-07T23:30:00+08:00", 1, "2025-03-11", id="R2.4-friday-night-ends-monday"),
]


@pytest.mark.parametrize(("start", "n", "ends"), SPANS)
def test_r2_4_add_working_days_ends_at_midnight_shanghai(start, n, ends):
    end = PACKAGE.add_working_days(datetime.fromisoformat(start), n)
    assert end == midnight(ends)
    assert end.utcoffset() == timedelta(hours=8)


def test_r2_4_add_working_days_refuses_zero():
    with pytest.raises(ValueError):
        PACKAGE.add_working_days(datetime(2025, 1, 27, tzinfo=SH), 0)


# --- overrides ----------------------------------------------------------------------------------


def test_r2_4_override_wins_over_the_package():
    calendar = WorkCalendar(
        overrides={
            date(2025, 3, 5): False,  # a Wednesday made a holiday
            date(2025, 3, 8): True,  # a Saturday made a working day
            date(2025, 10, 3): True,  # even against the official schedule
        }
    )
    assert not calendar.is_working_day(date(2025, 3, 5))
    assert calendar.is_working_day(date(2025, 3, 8))
    assert calendar.is_working_day(date(2025, 10, 3))
    assert calendar.is_working_day(date(2025, 3, 6))  # untouched days unchanged
    start = datetime(2025, 3, 4, 12, tzinfo=SH)  # Tuesday
    # With the overrides: 3-06, 07, 08 (Sat) → the Wednesday is skipped, the Saturday counts.
    assert calendar.add_working_days(start, 3) == midnight("2025-03-09")
    # Without: 3-05, 06, 07.
    assert PACKAGE.add_working_days(start, 3) == midnight("2025-03-08")


@pytest.mark.django_db
def test_r2_4_override_rows_in_the_database_win(fresh_calendar):
    HolidayOverride.objects.create(date=date(2025, 3, 5), is_working_day=False, name="店庆")
    HolidayOverride.objects.create(date=date(2025, 3, 8), is_working_day=True, name="盘点")
    forget_calendar()
    calendar = get_calendar()
    assert not calendar.is_working_day(date(2025, 3, 5))
    assert calendar.is_working_day(date(2025, 3, 8))
    assert not calendar.is_working_day(date(2025, 1, 29))  # the package still applies elsewhere


@pytest.mark.django_db
def test_r2_4_calendar_is_cached_until_forgotten(fresh_calendar):
    assert get_calendar().is_working_day(date(2025, 3, 5))
    HolidayOverride.objects.create(date=date(2025, 3, 5), is_working_day=False)
    assert get_calendar().is_working_day(date(2025, 3, 5))  # cached
    forget_calendar()
    assert not get_calendar().is_working_day(date(2025, 3, 5))


# --- a year nobody knows ------------------------------------------------------------------------


@pytest.mark.django_db
def test_r2_4_unknown_year_counts_weekends_only_and_warns(fresh_calendar, caplog):
    calendar = get_calendar()
    with caplog.at_level(logging.WARNING, logger="aftersales.workdays.calendar"):
        assert calendar.is_working_day(date(2027, 10, 1))  # a Friday: no holiday data
        assert not calendar.is_working_day(date(2027, 10, 2))  # Saturday
        end = calendar.add_working_days(datetime(2026, 12, 30, 10, tzinfo=SH), 7)
    # 12-31 (2026, known), then 2027 weekdays: 1-01 (Fri), 04, 05, 06, 07, 08.
    assert end == midnight("2027-01-09")
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and "2027" in r.getMessage()
    ]
    assert len(warnings) == 1  # loud, but once per year, not once per day
    assert not calendar.has_data(2027)
    assert calendar.warnings([2026, 2027]) == [
        "No holiday data for 2027: counting weekends only. Import the 2027 schedule."
    ]


CSV_2027 = """date,kind,name
2027-02-05,holiday,春节
2027-02-08,holiday,春节
2027-02-09,holiday,春节
2027-02-10,holiday,春节
2027-02-11,holiday,春节
2027-02-13,workday,春节调休
"""


def write(tmp_path, text, name="holidays-2027.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return str(path)


@pytest.mark.django_db
def test_r2_4_imported_year_applies(fresh_calendar, tmp_path, caplog):
    out = io.StringIO()
    call_command(
        "import_holidays", "2027", write(tmp_path, CSV_2027), note="国办发明电", stdout=out
    )
    assert "2027: 5 holidays, 1 make-up working days" in out.getvalue()
    assert CalendarYear.objects.get(year=2027).note == "国办发明电"

    calendar = get_calendar()  # the import forgot the cached calendar itself
    with caplog.at_level(logging.WARNING, logger="aftersales.workdays.calendar"):
        assert not calendar.is_working_day(date(2027, 2, 8))  # Monday, holiday
        assert calendar.is_working_day(date(2027, 2, 13))  # Saturday, make-up day
        assert calendar.is_working_day(date(2027, 2, 12))  # Friday, not listed
        assert not calendar.is_working_day(date(2027, 2, 14))  # Sunday, not listed
        # Thu 2-04: 2-12 (Fri), 2-13 (Sat, 调休), 2-15 → ends 2-16 00:00.
        end = calendar.add_working_days(datetime(2027, 2, 4, 9, tzinfo=SH), 3)
    assert end == midnight("2027-02-16")
    assert calendar.has_data(2027)
    assert calendar.warnings([2027]) == []
    assert not [r for r in caplog.records if "2027" in r.getMessage()]


@pytest.mark.django_db
def test_r2_4_reimport_replaces_the_year(fresh_calendar, tmp_path):
    call_command("import_holidays", "2027", write(tmp_path, CSV_2027), stdout=io.StringIO())
    call_command(
        "import_holidays",
        "2027",
        write(tmp_path, "date,kind,name\n2027-05-03,holiday,劳动节\n", "v2.csv"),
    )
    assert list(HolidayOverride.objects.values_list("date", flat=True)) == [date(2027, 5, 3)]
    calendar = get_calendar()
    assert calendar.is_working_day(date(2027, 2, 8))
    assert not calendar.is_working_day(date(2027, 5, 3))


BAD_CSV = [
    pytest.param("date,kind,name\n2026-12-31,holiday,元旦\n", id="R2.4-date-in-another-year"),
    pytest.param("date,kind,name\n2027-01-01,rest,元旦\n", id="R2.4-unknown-kind"),
    pytest.param("date,kind,name\n2027-13-01,holiday,x\n", id="R2.4-impossible-date"),
    pytest.param("day,kind,name\n2027-01-01,holiday,元旦\n", id="R2.4-wrong-header"),
    pytest.param("date,kind,name\n2027-01-01\n", id="R2.4-short-row"),
    pytest.param("date,kind,name\n", id="R2.4-no-days"),
    pytest.param(
        "date,kind,name\n2027-01-01,holiday,元旦\n2027-01-01,workday,元旦\n", id="R2.4-day-twice"
    ),
    # A good row first: nothing of a file with any bad row is imported.
    pytest.param(
        "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-30,holiday,春节\n",
        id="R2.4-bad-row-after-good-row",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("text", BAD_CSV)
def test_r2_4_bad_holiday_file_is_refused_and_nothing_imported(fresh_calendar, tmp_path, text):
    with pytest.raises(CommandError):
        call_command("import_holidays", "2027", write(tmp_path, text))
    assert not HolidayOverride.objects.exists()
    assert not CalendarYear.objects.exists()
    assert not get_calendar().has_data(2027)


@pytest.mark.django_db
def test_r2_4_unreadable_holiday_file_is_a_command_error(fresh_calendar, tmp_path):
    with pytest.raises(CommandError):
        call_command("import_holidays", "2027", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError):
        call_command("import_holidays", "2027", write(tmp_path, CSV_2027, "gbk.csv", "gbk"))
    assert not HolidayOverride.objects.exists()
    assert not CalendarYear.objects.exists()


def test_r2_4_known_years_do_not_warn(caplog, monkeypatch):
    monkeypatch.setattr(workdays, "_warned_years", set())
    with caplog.at_level(logging.WARNING, logger="aftersales.workdays.calendar"):
        PACKAGE.add_working_days(datetime(2026, 6, 1, tzinfo=UTC), 20)
    assert not caplog.records
