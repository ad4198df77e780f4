"""Reading the export: openpyxl in read-only mode, one row at a time (a 100k-row file never
sits in memory), the header row first."""

from __future__ import annotations

import re
import zipfile
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
    """The data rows of the first sheet, for the progress bar: what its dimension says or,
    when it states none (files written in openpyxl's and other streaming writers' write-only
    mode), its `<row>` elements counted in the sheet's XML without parsing it; 0 if neither
    can be read. Blank rows count here and are skipped by `open_rows`."""
    book = load_workbook(source, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        if sheet.max_row:
            return max(sheet.max_row - 1, 0)
        path = getattr(sheet, "_worksheet_path", None)
    finally:
        book.close()
    if path is None:
        return 0
    if not isinstance(source, str):
        source.seek(0)
    return max(_row_elements(source, path) - 1, 0)


_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")


def _row_elements(source: Source, path: str) -> int:
    """`<row …>` elements in one XML part of the workbook, read a megabyte at a time; each
    piece is cut at its last `<`, so no tag is split between two pieces."""
    count = 0
    rest = b""
    with zipfile.ZipFile(source) as archive, archive.open(path) as xml:
        while chunk := xml.read(1 << 20):
            data = rest + chunk
            cut = data.rfind(b"<")
            if cut <= 0:
                rest = data
                continue
            count += len(_ROW_TAG.findall(data, 0, cut))
            rest = data[cut:]
    return count + len(_ROW_TAG.findall(rest))
