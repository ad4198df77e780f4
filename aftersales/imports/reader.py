"""Reading the export: openpyxl in read-only mode, one row at a time (a 100k-row file never
sits in memory), the header row first."""

from __future__ import annotations

import queue
import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any, TypeVar
from xml.etree import ElementTree as ET  # noqa: S405 - the workbook's own small parts

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


Numbered = tuple[int, tuple[Any, ...]]
T = TypeVar("T")


@contextmanager
def read_ahead(
    rows: Iterator[Numbered], size: int, parse: Callable[[int, tuple[Any, ...]], T]
) -> Iterator[Iterator[list[T]]]:
    """The rows parsed, in lists of `size`, read and parsed by a thread one list ahead of the
    caller: openpyxl reads the next batch while the caller waits on the database with the
    last one (the import's new rows spend much of their time there). At most two batches
    are held; the thread stops when the caller leaves, however it leaves."""
    handoff: queue.Queue[list[T] | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: list[T] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            batch: list[T] = []
            for number, values in rows:
                batch.append(parse(number, values))
                if len(batch) >= size:
                    if not put(batch):
                        return
                    batch = []
            if batch and not put(batch):
                return
            put(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
            put(exc)

    def batches() -> Iterator[list[T]]:
        while (item := handoff.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    reader = threading.Thread(target=read, name="import-read-ahead", daemon=True)
    reader.start()
    try:
        yield batches()
    finally:
        stop.set()
        reader.join()


def count_rows(source: Source) -> int:
    """The data rows of the first sheet, for the progress bar: what its dimension says or,
    when it states none (files written in openpyxl's and other streaming writers' write-only
    mode), its `<row>` elements counted in the sheet's XML without parsing it; 0 if neither
    can be read. Blank rows count here and are skipped by `open_rows`.

    Read from the zip directly, not through `load_workbook`: opening a sheet in openpyxl's
    read-only mode looks for its dimension by parsing the whole sheet when it has none, a
    full pass over a 100k-row file for nothing."""
    try:
        with zipfile.ZipFile(source) as archive:
            path = _first_sheet_path(archive)
            with archive.open(path) as xml:
                head = xml.read(1 << 16)
    except (KeyError, zipfile.BadZipFile, ET.ParseError, StopIteration):
        return 0
    finally:
        if not isinstance(source, str):
            source.seek(0)
    before_data = head.split(b"<sheetData", 1)[0]
    stated = _DIMENSION.search(before_data)
    if stated is not None:
        return max(int(stated.group(1)) - 1, 0)
    count = _row_elements(source, path)
    if not isinstance(source, str):
        source.seek(0)
    return max(count - 1, 0)


_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="[A-Z]+\d+:[A-Z]+(\d+)"')
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DOC_RELS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _first_sheet_path(archive: zipfile.ZipFile) -> str:
    """The zip path of the workbook's first sheet (xl/workbook.xml and its relationships)."""
    book = ET.fromstring(archive.read("xl/workbook.xml"))
    sheet = next(el for el in book.iter() if el.tag.endswith("}sheet"))
    rel_id = sheet.get(f"{_DOC_RELS}id")
    rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next(
        el.get("Target", "") for el in rels.iter(f"{_RELS}Relationship") if el.get("Id") == rel_id
    )
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


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
