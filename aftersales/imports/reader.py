"""Reading the export: openpyxl in read-only mode, one row at a time (a 100k-row file never
sits in memory), the header row first."""

from __future__ import annotations

import multiprocessing
import re
import signal
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
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


Header = tuple[Any, ...]
# How long a reading process asked to stop may take before it is killed.
STOP_SECONDS = 5


@contextmanager
def read_ahead(
    source: Source, size: int, parser_for: Callable[[Header], Callable[[int, tuple[Any, ...]], T]]
) -> Iterator[tuple[Header, Iterator[list[T]]]]:
    """`open_rows(source)` read and parsed by a child process: the header, then the rows
    parsed by `parser_for(header)` in lists of `size`, one list ahead of the caller. Reading
    the xlsx costs as much CPU as writing the rows it holds (bench/import.py); in another
    process it runs on another core, where a thread of this process would wait for the
    interpreter lock the writes hold. The child is forked, so it starts from `source` as it
    is here (the caller must not read `source` until it leaves) and touches nothing else: not
    the database, and it ends with `os._exit`, as multiprocessing's forked children do. At
    most one list waits in the pipe; the child is stopped when the caller leaves, however
    it leaves. Where processes cannot be forked, the rows are read here, list by list."""
    if "fork" not in multiprocessing.get_all_start_methods():
        with open_rows(source) as (header, rows):
            yield header, _batched(rows, size, parser_for(header))
        return
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_read_into,
        args=(sender, receiver, source, size, parser_for),
        name="import-read-ahead",
    )
    child.start()
    sender.close()

    def receive() -> Any:
        try:
            item = receiver.recv()
        except EOFError:
            raise RuntimeError(f"the reading process ended early ({child.exitcode})") from None
        if isinstance(item, BaseException):
            raise item
        return item

    def batches() -> Iterator[list[T]]:
        while (item := receive()) is not None:
            yield item

    try:
        yield receive(), batches()
    finally:
        receiver.close()  # a child still sending gets a broken pipe and ends
        if child.is_alive():
            child.terminate()
            child.join(timeout=STOP_SECONDS)
            if child.is_alive():
                child.kill()
        child.join()


def _batched(
    rows: Iterator[Numbered], size: int, parse: Callable[[int, tuple[Any, ...]], T]
) -> Iterator[list[T]]:
    batch: list[T] = []
    for number, values in rows:
        batch.append(parse(number, values))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _read_into(
    sender: Connection,
    receiver: Connection,
    source: Source,
    size: int,
    parser_for: Callable[[Header], Callable[[int, tuple[Any, ...]], T]],
) -> None:
    """The child's work: the header, every list, then None; or the error that stopped it
    (as text when it cannot be pickled). First it lets go of what the fork gave it that
    would keep it alive: its copy of the pipe's reading end (else a caller that closed
    its own would leave the child blocked on a pipe it reads itself), and the caller's
    SIGTERM and SIGINT handlers (a task worker's graceful shutdown only sets a flag)."""
    receiver.close()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        with open_rows(source) as (header, rows):
            sender.send(header)
            for batch in _batched(rows, size, parser_for(header)):
                sender.send(batch)
        sender.send(None)
    except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
        try:
            sender.send(exc)
        except Exception:  # noqa: BLE001 - an error that cannot cross the pipe
            sender.send(RuntimeError(f"{type(exc).__name__}: {exc}"))
    finally:
        sender.close()


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
