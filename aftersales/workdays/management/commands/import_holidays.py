"""Import one year's official holiday schedule (the State Council publishes it each November).

File format (CSV, UTF-8, header line): date,kind,name
  kind is "holiday" (休) or "workday" (调休上班). Every day not listed is a working day on
  Monday–Friday and a rest day on Saturday–Sunday.
"""

import csv
import io
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from aftersales.workdays.calendar import forget_calendar
from aftersales.workdays.models import CalendarYear, HolidayOverride


class Command(BaseCommand):
    help = "Import a year's holidays and make-up working days from a CSV file."

    def add_arguments(self, parser):
        parser.add_argument("year", type=int)
        parser.add_argument("file")
        parser.add_argument("--note", default="")

    def handle(self, *args, year: int, file: str, note: str, **options):
        rows = []
        seen: set[date] = set()
        try:
            text = Path(file).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {file} as UTF-8 text: {exc}") from exc
        for number, row in enumerate(csv.DictReader(io.StringIO(text, newline="")), start=2):
            try:
                day = date.fromisoformat(row["date"].strip())
                kind = row["kind"].strip()
            except (KeyError, ValueError, AttributeError) as exc:
                raise CommandError(f"line {number}: need date,kind,name ({exc})") from exc
            if day.year != year:
                raise CommandError(f"line {number}: {day} is not in {year}")
            if kind not in {"holiday", "workday"}:
                raise CommandError(f"line {number}: kind must be holiday or workday")
            if day in seen:
                raise CommandError(f"line {number}: {day} is listed twice")
            seen.add(day)
            rows.append((day, kind == "workday", (row.get("name") or "").strip()))
        if not rows:
            raise CommandError("the file lists no days")
        with transaction.atomic():
            HolidayOverride.objects.filter(date__year=year).delete()
            HolidayOverride.objects.bulk_create(
                [HolidayOverride(date=d, is_working_day=w, name=n) for d, w, n in rows]
            )
            CalendarYear.objects.update_or_create(year=year, defaults={"note": note or file})
        forget_calendar()
        holidays = sum(1 for _, w, _ in rows if not w)
        workdays = len(rows) - holidays
        self.stdout.write(f"{year}: {holidays} holidays, {workdays} make-up working days")
