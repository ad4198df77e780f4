"""Reading the export: openpyxl in read-only mode, one row at a time (a 100k-row file never
sits in memory), the header row first."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from openpyxl import load_workbook

Source = str | IO[bytes]


@contextmanager
def open_rows(
    source: Source,
) -> Iterator[tuple[tuple[Any, ...], Iterator[tuple[int, tuple[Any, ...]]]]]:
    """The first sheet's header and an iterator of (row number as Excel shows it, values);
    blank rows are skipped. The workbook is closed on leaving."""
    book = load_workbook(source, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, ())

        def numbered() -> Iterator[tuple[int, tuple[Any, ...]]]:
            for number, values in enumerate(rows, start=2):
                if any(v not in (None, "") for v in values):
                    yield number, values

        yield tuple(header), numbered()
    finally:
        book.close()


def count_rows(source: Source) -> int:
    """The data rows the sheet says it has (its dimension), for the progress bar; 0 if the
    file does not say."""
    book = load_workbook(source, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        return max((sheet.max_row or 1) - 1, 0)
    finally:
        book.close()
